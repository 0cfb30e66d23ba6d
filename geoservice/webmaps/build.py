"""The web maps of a workspace, for the CLI and the service, optionally scoped to a caller.

Three maps (see :mod:`maps.products`): the enforcement targets, the rectification status by
village, and one department's view. Each ``*_map_of`` function returns a
:class:`folium.Map` holding its data, which the CLI writes as a standalone file. The
service serves light pages instead (``*_page``, :mod:`geoservice.webmaps.pages`): shells
loading Leaflet from ``/static/maps``, the features from the caller's vector tiles and
their colours from the status object (:mod:`geoservice.webmaps.status`). Layers are in
the workspace CRS (metres) and shown in EPSG:4326.

Scope: without a ``principal`` (the CLI, run by whoever holds the workspace file) every row
is drawn. With one, the rows come through :class:`geoservice.base.access.Principal`:

- targets map (office, department): targets by ``target_mask``; the evidence drawn with them
  (flagged parcels, change patches, complaints) is, for a department, only the rows linked
  to its own targets through their parcels, and only of layers its clearance reads
  (complaints are ``restricted`` by default, so a department sees none);
- villages map (every role): the status colours and counts of every village (a public
  summary), the problem points by ``problem_mask`` (office all, department those copied to
  it, village its own, viewer none); a village user's map is zoomed to its village;
- department map (office any department, department its own): targets and problems by the
  masks, then by the department as in :func:`maps.products.department_map`.

A role a map is not for gets PermissionDeniedError; another department's map NotFoundError.

The ``*_page`` functions check the principal's right to the map first, then serve the page
from :mod:`geoservice.webmaps.cache` while the workspace's layers (not its problems), the
principal's scope and the arguments are unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from geoservice.base import dates
from geoservice.base.errors import NotFoundError, OptionError, message
from geoservice.webmaps.cache import cached_page
from geoservice.webmaps.evidence import Evidence, target_evidence
from geoservice.webmaps.patch_layer import with_patch_states
from geoservice.webmaps.patch_status import patch_popup_fields, patch_status_columns
from layers.messages import Lang

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace

__all__ = [
    "DERIVED_LAYERS",
    "Evidence",
    "MapAsset",
    "analysis_as_of",
    "department_code_of",
    "department_map_of",
    "department_page",
    "map_asset",
    "own_department",
    "parse_as_of",
    "readable_layers",
    "target_evidence",
    "targets_map_of",
    "targets_page",
    "villages_map_of",
    "villages_page",
]

# Analysis layers not in the sharing register, read with the clearance of their source.
DERIVED_LAYERS: dict[str, str] = {"parcel_risk": "parcels"}
_MAP_ROLES = ("office", "department")


def _optional(ws: Workspace, layer: str, like: Any) -> Any:
    """The layer, or an empty frame in the CRS of ``like`` when the workspace lacks it."""
    import geopandas as gpd

    if layer in ws.layer_names():
        return ws.read(layer)
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=like.crs), crs=like.crs)


def _problems(ws: Workspace, day: date) -> Any:
    """The problems layer with the current escalation level of each problem."""
    from geoservice.workflow.escalation import escalate
    from geoservice.workflow.store import read_problems

    geo = ws.read("problems")
    rows = read_problems(ws)
    levels = dict(zip(rows["problem_id"], escalate(rows, day)["escalation"], strict=True))
    return geo.assign(escalation=geo["problem_id"].map(levels).fillna("none"))


def _require_targets(ws: Workspace) -> None:
    """NotFoundError naming the fix when the workspace has no targets (no analysis yet)."""
    if "targets" not in ws.layer_names():
        raise NotFoundError(
            message(
                "maps.no_targets",
                f"工作空间 {ws.path} 中还没有联合执法目标；请先运行 geoservice analyze。",
                f"Workspace {ws.path} has no enforcement targets yet; run geoservice analyze "
                "first.",
            )
        )


def _targets(ws: Workspace) -> Any:
    """The targets layer with ``reasons_en`` when the workspace has the reasons table."""
    _require_targets(ws)
    targets = ws.read("targets")
    if "target_reasons" in ws.layer_names():
        reasons = ws.read("target_reasons", use_arrow=False, read_geometry=False)
        targets["reasons_en"] = targets["target_id"].map(
            dict(zip(reasons["target_id"], reasons["reasons_en"], strict=True))
        )
    return targets


def readable_layers(ws: Workspace, principal: Principal | None) -> frozenset[str] | None:
    """The layers ``principal`` may read by the sharing register (``None``: every layer).

    A layer imported in several parts is readable when every part is; a derived layer of
    :data:`DERIVED_LAYERS` as its source; a layer missing from the register is not.
    """
    if principal is None or principal.role == "office":
        return None
    levels: dict[str, list[str]] = {}
    for entry in ws.catalog():
        levels.setdefault(entry.layer, []).append(entry.classification)
    seen = {layer for layer, cls in levels.items() if all(map(principal.can_read, cls))}
    return frozenset(seen | {d for d, source in DERIVED_LAYERS.items() if source in seen})


def _masked(frame: Any, principal: Principal | None, kind: str) -> Any:
    if principal is None:
        return frame
    mask = principal.target_mask(frame) if kind == "targets" else principal.problem_mask(frame)
    return frame[mask]


def analysis_as_of(ws: Workspace) -> str | None:
    """The as-of date (``YYYY-MM-DD``) of the latest analysis run; None before any run."""
    runs = ws.runs()
    return str(runs["as_of"].iloc[-1]) if len(runs) else None


def targets_map_of(
    ws: Workspace,
    lang: Lang,
    village: str | None = None,
    tiles: Any = None,
    *,
    principal: Principal | None = None,
) -> Any:
    """The enforcement target map of a workspace (a folium Map).

    Parameters
    ----------
    ws : Workspace
        Needs ``targets`` and ``villages``; ``parcel_risk``, ``complaints``, ``patches``
        are drawn when present.
    lang : {"zh", "en"}
    village : str, optional
        Village code or name to zoom to.
    tiles : maps.basemaps.Basemap or str, optional
        Basemap (default none).
    principal : geoservice.base.access.Principal, optional
        Scope (see the module notes); office and department only.

    Raises
    ------
    PermissionDeniedError
        For a village or viewer principal.
    NotFoundError
        When the workspace has no targets (no analysis yet).
    """
    from maps.products import targets_map

    if principal is not None:
        principal.require(*_MAP_ROLES)
    targets = _masked(_targets(ws), principal, "targets")
    villages = ws.read("villages")
    evidence = target_evidence(
        targets,
        _optional(ws, "parcel_risk", villages),
        _optional(ws, "complaints", villages),
        with_patch_states(ws, _optional(ws, "patches", villages), lang),
        readable_layers(ws, principal),
    )
    return targets_map(
        targets,
        villages,
        evidence.complaints,
        evidence.patches,
        evidence.flagged,
        lang,
        village=village,
        tiles=tiles,
        as_of=analysis_as_of(ws),
    )


def villages_map_of(
    ws: Workspace,
    day: date,
    lang: Lang,
    village: str | None = None,
    tiles: Any = None,
    *,
    principal: Principal | None = None,
) -> Any:
    """The rectification-status map by village at ``day`` (a folium Map).

    Every village's status colour and counts are drawn; the problem points by the scope of
    ``principal`` (none for a viewer). A village principal's map is zoomed to its village
    unless ``village`` says otherwise.
    """
    from geoservice.workflow.villages import village_status
    from maps.products import villages_map

    problems = _masked(_problems(ws, day), principal, "problems")
    if principal is not None and principal.role == "village" and village is None:
        village = principal.village_code
    status = village_status(ws, day)
    extra: dict[str, str] = {}
    if principal is None or principal.role != "viewer":  # change patches: not for viewers
        status = status.assign(**patch_status_columns(status, lang))
        extra = patch_popup_fields(lang)
    return villages_map(
        ws.read("villages"),
        status,
        problems,
        lang,
        village=village,
        tiles=tiles,
        as_of=day,
        extra_fields=extra,
    )


def _own_department(principal: Principal | None, dept: str) -> None:
    """NotFoundError when a department principal asks for another department's map."""
    if principal is None:
        return
    principal.require(*_MAP_ROLES)
    if principal.role == "department" and principal.department != dept:
        own = principal.department
        raise NotFoundError(
            message(
                "maps.no_department_map",
                f"没有可供您查看的部门“{dept}”地图；您可以查看本部门的地图 "
                f"/maps/department/{own}。",
                f"There is no map of department {dept!r} for you; your own department's map "
                f"is /maps/department/{own}.",
            )
        )


def department_map_of(
    ws: Workspace,
    dept: str,
    day: date,
    lang: Lang,
    village: str | None = None,
    tiles: Any = None,
    *,
    principal: Principal | None = None,
) -> Any:
    """One department's targets and the problems copied to it (``dept`` is a code).

    Raises
    ------
    PermissionDeniedError
        For a village or viewer principal.
    NotFoundError
        For a department principal asking for another department.
    """
    from maps.products import department_map

    _own_department(principal, dept)
    return department_map(
        dept,
        _masked(_targets(ws), principal, "targets"),
        _masked(_problems(ws, day), principal, "problems"),
        ws.read("villages"),
        lang,
        village=village,
        tiles=tiles,
        as_of=day,
        analysis_as_of=analysis_as_of(ws),
    )


def _page(
    ws: Workspace,
    principal: Principal,
    args: tuple[Any, ...],
    status: str,
    village: str | None,
) -> str:
    """The light page (:mod:`geoservice.webmaps.pages`) of the map ``args[0]`` for
    ``principal``, fetching its status object from ``status``; kept in
    :mod:`geoservice.webmaps.cache` by the principal's scope, ``args`` and the data version
    without problems (a problem update changes the status object, never the page).

    A page opened on a ``village`` is the page of the principal's role opened elsewhere
    (rendered once for every village: 20 ms at county scale) with the village's bounds
    written in; rendered for the village alone when that page's opening is not found."""
    from geoservice.webmaps.pages import drawn_layers, map_bounds, tiled_shell
    from maps.assets import TILED_BUNDLES
    from maps.render import served_html

    kind, lang = args[0], args[-2]
    day = None if kind == "targets" else str(args[-3])
    dept = str(args[1]) if kind == "department" else None

    def build(bounds: tuple[float, float, float, float] | None = None) -> str:
        visible = drawn_layers(ws, principal)
        m = tiled_shell(ws, kind, visible, lang, village, status_url=status, day=day,
                        dept=dept, bounds=bounds)  # fmt: skip
        return served_html(m, bundles=TILED_BUNDLES)

    if village is None:
        return cached_page(ws, principal, args, build)

    def opened_on_village() -> str:
        # one page per role for every village, rendered once: only where it opens differs
        bounds, _code = map_bounds(ws, village)  # an unknown village: MapInputError
        if bounds is None:
            return build()
        shell = cached_page(ws, principal, (*args[:-1], _SHELL_BOUNDS), lambda: build(_SHELL_BOUNDS),
                            scope=("shell", principal.role, principal.department))  # fmt: skip
        placeholder = _fit_bounds_text(_SHELL_BOUNDS)
        if shell.count(placeholder) != 1:
            return build()
        return shell.replace(placeholder, _fit_bounds_text(bounds))

    return cached_page(ws, principal, args, opened_on_village)


# Where the page shared by every village of a role opens before its bounds are written in:
# no village can be there (west, south, east, north in degrees)
_SHELL_BOUNDS = (-179.0123456789, -89.0123456789, -178.0987654321, -88.0987654321)


def _fit_bounds_text(bounds: tuple[float, float, float, float]) -> str:
    """The bounds as a page's ``fitBounds`` call writes them (``[[south, west], [north,
    east]]`` in JSON, as :func:`maps.tiled.tiled_map` gives them to folium)."""
    west, south, east, north = bounds
    return json.dumps([[south, west], [north, east]])


def targets_page(
    ws: Workspace, principal: Principal, lang: Lang, village: str | None = None
) -> str:
    """The targets map for ``principal`` as a light page (see :func:`_page`)."""
    from geoservice.webmaps.pages import status_url

    principal.require(*_MAP_ROLES)
    _require_targets(ws)
    status = status_url("targets", None, lang)
    return _page(ws, principal, ("targets", lang, village), status, village)


def villages_page(
    ws: Workspace, principal: Principal, day: date, lang: Lang, village: str | None = None
) -> str:
    """The villages map for ``principal`` as a light page (see :func:`_page`); a village
    principal's page opens on its village."""
    from geoservice.webmaps.pages import status_url

    if principal.role == "village" and village is None:
        village = principal.village_code
    status = status_url("villages", day.isoformat(), lang)
    return _page(ws, principal, ("villages", day, lang, village), status, village)


def department_code_of(code: str) -> str:
    """The department code ``code`` names (a code or a name, 镇郊派出所 → police);
    NotFoundError when it names no department."""
    from geoservice.analysis.present import department_code
    from layers.codes import DEPARTMENTS

    try:
        return department_code(code)
    except OptionError as exc:
        known = ", ".join(f"{c} {zh}" for c, (zh, _en) in DEPARTMENTS.items())
        raise NotFoundError(
            message(
                "maps.unknown_department",
                f"部门“{code}”不是已登记的部门，没有它的地图；可用的部门代码：{known}。",
                f"Department {code!r} is not a registered department and has no map; "
                f"department codes: {known}.",
            )
        ) from exc


def own_department(principal: Principal, code: str) -> str:
    """The department code of ``code`` when ``principal`` may see its map (NotFoundError
    for an unknown department or another department's map)."""
    dept = department_code_of(code)
    _own_department(principal, dept)
    return dept


def department_page(
    ws: Workspace,
    principal: Principal,
    code: str,
    day: date,
    lang: Lang,
    village: str | None = None,
) -> str:
    """The department map for ``principal`` as a light page (see :func:`_page`).

    ``code`` is a department code or name (镇郊派出所 → police); NotFoundError when it names
    no department.
    """
    from geoservice.webmaps.pages import status_url

    dept = own_department(principal, code)
    status = status_url("department", day.isoformat(), lang, dept)
    return _page(ws, principal, ("department", dept, day, lang, village), status, village)


def parse_as_of(value: str | None) -> date:
    """The evaluation date ``YYYY-MM-DD``; today when not given; OptionError otherwise."""
    return dates.parse_day(value, "as_of", "maps.bad_as_of")


@dataclass(frozen=True)
class MapAsset:
    """One served Leaflet file: ``content`` (UTF-8), ``media_type`` and a strong ``etag``."""

    name: str
    content: bytes
    media_type: str
    etag: str


@functools.lru_cache(maxsize=16)
def map_asset(name: str) -> MapAsset:
    """The file ``name`` of :func:`maps.assets.served_names` (e.g. ``leaflet.js``).

    Read once per process. NotFoundError naming ``name`` for any other name.
    """
    from maps.assets import served_names, served_text

    if name not in served_names():
        known = ", ".join(served_names())
        raise NotFoundError(
            message(
                "maps.no_asset",
                f"没有名为“{name}”的地图资源文件；可用：{known}。",
                f"There is no map asset {name!r}; the assets are: {known}.",
            )
        )
    content = served_text(name).encode("utf-8")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    digest = hashlib.sha256(content).hexdigest()[:32]
    return MapAsset(name, content, f"{kind}; charset=utf-8", f'"{digest}"')
