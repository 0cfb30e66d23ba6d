"""``geoservice map targets|villages|department``: offline web maps of a workspace."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.cli_common import (
    JsonOpt,
    LangOpt,
    WorkspaceOpt,
    _as_of,
    _fail,
    _guard,
    _print_json,
    _settings,
    _t,
    out,
)
from layers.messages import Lang

map_app = typer.Typer(help="网页地图（离线可用）/ Offline web maps.", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option("--out", help="HTML file to write")]
VillageOpt = Annotated[
    str | None, typer.Option("--village", help="zoom to this village (code or name)")
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="date YYYY-MM-DD (default today)")]
TilesOpt = Annotated[
    str | None,
    typer.Option("--tiles", help="XYZ tile URL template of an intranet basemap (default none)"),
]


def _optional(ws: Any, layer: str, like: Any) -> Any:
    """The layer, or an empty frame in the CRS of ``like`` when the workspace lacks it."""
    import geopandas as gpd

    if layer in ws.layer_names():
        return ws.read(layer)
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=like.crs), crs=like.crs)


def _problems(ws: Any, day: date) -> Any:
    """The problems layer with the current escalation level of each problem."""
    from geoservice.workflow.escalation import escalate
    from geoservice.workflow.store import read_problems

    geo = ws.read("problems")
    rows = read_problems(ws)
    levels = dict(zip(rows["problem_id"], escalate(rows, day)["escalation"], strict=True))
    return geo.assign(escalation=geo["problem_id"].map(levels).fillna("none"))


def _targets(ws: Any) -> Any:
    """The targets layer with ``reasons_en`` when the workspace has the reasons table."""
    import pyogrio

    from geoservice.errors import NotFoundError, message

    if "targets" not in ws.layer_names():
        raise NotFoundError(
            message(
                "maps.no_targets",
                f"工作空间 {ws.path} 中还没有联合执法目标；请先运行 geoservice analyze。",
                f"Workspace {ws.path} has no enforcement targets yet; run geoservice analyze "
                "first.",
            )
        )
    targets = ws.read("targets")
    if "target_reasons" in ws.layer_names():
        reasons = pyogrio.read_dataframe(ws.path, layer="target_reasons", read_geometry=False)
        targets["reasons_en"] = targets["target_id"].map(
            dict(zip(reasons["target_id"], reasons["reasons_en"], strict=True))
        )
    return targets


BasemapOpt = Annotated[
    str | None,
    typer.Option(
        "--basemap", help="none (default), osm, tianditu-vec or tianditu-img (online basemaps)"
    ),
]
OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--allow-online-basemap",
        help="allow an internet basemap (and the Tianditu key) in the standalone file",
    ),
]


def _basemap(settings: Any, name: str | None, tiles: str | None, online: bool, lang: Lang) -> Any:
    """The basemap asked for; an internet one only when explicitly allowed."""
    from maps.basemaps import basemap

    chosen = _guard(lang, lambda: basemap(name, url=tiles, key=settings.tianditu_key))
    if chosen is not None and chosen.online and not online:
        key_zh = "，且会把天地图密钥写进文件" if chosen.name.startswith("tianditu") else ""
        key_en = " and would write the Tianditu key into the file" if key_zh else ""
        _fail(
            _t(
                lang,
                f"错误：底图 {chosen.name} 需要连接互联网，内网打不开{key_zh}；"
                "确需使用请加 --allow-online-basemap，否则改用默认无底图或内网瓦片（--tiles）。",
                f"Error: basemap {chosen.name} needs the internet, which an intranet lacks"
                f"{key_en}; add --allow-online-basemap if that is intended, or keep the default "
                "(none) or an intranet tile server (--tiles).",
            )
        )
    return chosen


def _write(m: Any, path: Path, tiles: Any) -> Path:
    from maps.render import save_standalone

    return save_standalone(m, path, tiles.url_prefixes() if tiles is not None else ())


def _done(
    kind: str, path: Path, lg: Lang, as_json: bool, extra: dict[str, Any], base: Any = None
) -> None:
    size = path.stat().st_size
    offline = base is None or not base.online
    if as_json:
        _print_json({"map": kind, "path": str(path), "bytes": size, "offline": offline, **extra})
        return
    where_zh = "离线可用" if offline else "底图需联网"
    where_en = "works offline" if offline else "its basemap needs the internet"
    out.print(
        _t(
            lg,
            f"地图已写入：{path}（{size / 1e6:.1f} MB，{where_zh}）",
            f"Map written: {path} ({size / 1e6:.1f} MB, {where_en})",
        ),
        markup=False,
    )


def targets_map_of(ws: Any, lang: Lang, village: str | None = None, tiles: Any = None) -> Any:
    """The enforcement target map of a workspace (a folium Map)."""
    from maps.products import targets_map

    villages = ws.read("villages")
    risk = _optional(ws, "parcel_risk", villages)
    flagged = risk[risk["flagged"].astype(bool)] if "flagged" in risk else risk
    return targets_map(
        _targets(ws),
        villages,
        _optional(ws, "complaints", villages),
        _optional(ws, "patches", villages),
        flagged,
        lang,
        village=village,
        tiles=tiles,
    )


def villages_map_of(
    ws: Any, day: date, lang: Lang, village: str | None = None, tiles: Any = None
) -> Any:
    """The rectification-status map by village at ``day``."""
    from geoservice.workflow.villages import village_status
    from maps.products import villages_map

    status = village_status(ws, day)
    return villages_map(
        ws.read("villages"), status, _problems(ws, day), lang, village=village, tiles=tiles
    )


def department_map_of(
    ws: Any,
    dept: str,
    day: date,
    lang: Lang,
    village: str | None = None,
    tiles: Any = None,
) -> Any:
    """One department's targets and the problems copied to it (``dept`` is a code)."""
    from maps.products import department_map

    return department_map(
        dept,
        _targets(ws),
        _problems(ws, day),
        ws.read("villages"),
        lang,
        village=village,
        tiles=tiles,
    )


@map_app.command("targets")
def targets_cmd(
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """联合执法目标图 / Enforcement target map."""
    from geoservice.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    base = _basemap(settings, basemap_name, tiles, online, lg)
    ws = Workspace(settings.workspace)
    path = out_path or Path("targets_map.html")

    def build() -> tuple[Path, int]:
        m = targets_map_of(ws, lg, village, base)
        return _write(m, path, base), ws.count("targets")

    written, n = _guard(lg, build)
    _done("targets", written, lg, as_json, {"targets": n}, base)


@map_app.command("villages")
def villages_cmd(
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """各村整改情况图 / Rectification status by village."""
    from geoservice.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    base = _basemap(settings, basemap_name, tiles, online, lg)
    day = _as_of(as_of, lg)
    ws = Workspace(settings.workspace)
    path = out_path or Path("villages_map.html")

    def build() -> tuple[Path, int]:
        m = villages_map_of(ws, day, lg, village, base)
        return _write(m, path, base), ws.count("villages")

    written, n = _guard(lg, build)
    _done("villages", written, lg, as_json, {"as_of": day.isoformat(), "villages": n}, base)


@map_app.command("department")
def department_cmd(
    code: Annotated[str, typer.Argument(help="department code or name, e.g. police / 镇郊派出所")],
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """部门视图 / One department's targets and the problems copied to it."""
    from geoservice.analysis.present import department_code
    from geoservice.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    base = _basemap(settings, basemap_name, tiles, online, lg)
    day = _as_of(as_of, lg)
    ws = Workspace(settings.workspace)

    def build() -> tuple[Path, str]:
        dept = department_code(code)
        path = out_path or Path(f"department_{dept}_map.html")
        return _write(department_map_of(ws, dept, day, lg, village, base), path, base), dept

    written, dept = _guard(lg, build)
    _done("department", written, lg, as_json, {"department": dept}, base)
