"""Light map pages: the three web maps as shells over vector tiles and a status object.

A page (:func:`maps.tiled.tiled_map`) holds no feature: the layers come from the vector
tiles (``/tiles/{layer}/{z}/{x}/{y}.mvt``, scoped to the caller exactly as the tiles are,
or a tile folder beside a standalone file) and what the workflow changes from the status
object (:mod:`geoservice.webmaps.status`, fetched from ``/maps/status.json`` or written
into a standalone page). A page therefore depends only on the caller's scope, the
arguments, the layers the caller may see and the area shown, never on problem states.

Layers by map (those the caller may see as tiles):

- ``targets``: village boundaries; change patches from zoom 12, coloured by legality and
  verification (the tiles' ``legality`` class, :func:`maps.styles.patch_class`) and edged
  by workflow stage (the tiles' ``state``, :data:`maps.styles.PATCH_STAGE_STYLES`), flagged
  parcels and complaints from zoom 13 (the first view of a county stays light), closed and
  unfounded complaints in a second layer switched off until asked for; the targets by
  priority above everything (:data:`maps.cartography.TARGETS_PANE`), their popup linking
  to the target's page;
- ``villages``: villages coloured by their status (a village caller: its own village
  only), the problems coloured by state in a white ring that reads on any village fill;
- ``department``: village boundaries, the problems copied to the department and its
  targets above them (the features listed in the status object).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geoservice.base.errors import message
from geoservice.workflow.patch_states import PATCH_STATE_LABELS
from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Lang, pick

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace
    from maps.tiled import TiledLayer

__all__ = [
    "DRAWN_LAYERS",
    "RENDERERS",
    "SERVED_TILES",
    "TARGET_PAGE",
    "drawn_layers",
    "load_renderers",
    "map_bounds",
    "page_layers",
    "status_url",
    "tiled_shell",
]

SERVED_TILES = "/tiles/{layer}/{z}/{x}/{y}.mvt"
TARGET_PAGE = "/app/targets/"
_COLOURS = {"villages": "#555555", "flagged": "#1565c0"}


# the map rendering modules a served page uses (folium, its plugins and their templates)
RENDERERS = ("maps.styles", "maps.cartography", "maps.overlays", "maps.tiled", "maps.render")


def load_renderers() -> None:
    """Import :data:`RENDERERS` now: the service does it before a worker takes requests, so
    that its first map page does not also pay for them (about 0.2 s of interpreter time,
    during which the worker's other requests wait)."""
    for name in RENDERERS:
        importlib.import_module(name)


def _names(lang: Lang) -> dict[str, dict[str, str]]:
    """Code → name tables of the popup attributes."""
    from maps import styles

    idx = 1 if lang == "en" else 0
    depts = {code: names[idx] for code, names in DEPARTMENTS.items()}
    cats = {code: names[idx] for code, names in CATEGORIES.items()}
    yes_no = {k: pick(lang, "是", "yes") for k in ("1", "true", "True")}
    yes_no |= {k: pick(lang, "否", "no") for k in ("0", "false", "False")}
    return {
        "lead_department": depts,
        "cooperating_departments": depts,
        "categories": cats,
        "category": cats,
        "dominant_category": cats,
        "criminal_threshold_met": yes_no,
        "illegal": yes_no,
        "legality": {k: styles.label(styles.PATCH_LABELS, k, lang) for k in styles.PATCH_CLASSES},
        "state": {k: pick(lang, *v) for k, v in PATCH_STATE_LABELS.items()},
        "status": {
            k: styles.label(styles.COMPLAINT_STATE_LABELS, k, lang)
            for k in styles.COMPLAINT_STATE_LABELS
        },
    }


def _target_layer(lang: Lang, listed: bool, link: bool) -> TiledLayer:
    from maps import cartography, styles
    from maps.tiled import TiledLayer

    return TiledLayer(
        "targets",
        pick(lang, "联合执法目标", "Enforcement targets"),
        "target_id",
        colour_field="priority",
        colours=dict(styles.PRIORITY_COLOURS),
        colour_from="targets",
        listed="targets" if listed else None,
        pane=cartography.TARGETS_PANE,
        fields={
            "target_id": pick(lang, "目标编号", "Target"),
            "priority": pick(lang, "优先级", "Priority"),
            "village_names": pick(lang, "所在村", "Villages"),
            "area_ha": pick(lang, "面积(公顷)", "Area (ha)"),
            "categories": pick(lang, "问题类别", "Categories"),
            "lead_department": pick(lang, "牵头部门", "Lead"),
            "cooperating_departments": pick(lang, "配合部门", "Cooperating"),
            "criminal_threshold_met": pick(lang, "达到刑事立案标准", "Criminal threshold met"),
            "complaint_count": pick(lang, "举报数", "Complaints"),
            "patch_area_ha": pick(lang, "变化图斑(公顷)", "Change patches (ha)"),
            "open_problem_count": pick(lang, "未整改问题", "Open problems"),
            "reasons": pick(lang, "理由", "Reasons"),
        },
        status_fields={"state": pick(lang, "处置状态", "State")},
        link=(TARGET_PAGE, pick(lang, "打开目标页", "Open the target page")) if link else None,
    )


def _problem_layer(lang: Lang, listed: bool) -> TiledLayer:
    from maps import styles
    from maps.tiled import TiledLayer

    return TiledLayer(
        "problems",
        pick(lang, "督查问题", "Inspection problems"),
        "problem_id",
        kind="point",
        colour_from="problems",
        listed="problems" if listed else None,
        # the standalone maps' ring: white, a colour no village status fill uses
        style={"color": styles.PROBLEM_OUTLINE, "weight": 2.5, "radius": 7, "fillOpacity": 0.95},
        fields={
            "problem_id": pick(lang, "问题编号", "Problem"),
            "village_name": pick(lang, "村", "Village"),
            "category": pick(lang, "类别", "Category"),
            "found_on": pick(lang, "发现日期", "Found on"),
            "deadline": pick(lang, "整改期限", "Deadline"),
        },
        status_fields={
            "state": pick(lang, "整改状态", "State"),
            "esc": pick(lang, "督办级别", "Escalation"),
        },
    )


def _outline(lang: Lang) -> TiledLayer:
    from maps.tiled import TiledLayer

    return TiledLayer(
        "villages", pick(lang, "村界", "Village boundaries"), "village_code", kind="outline",
        colour=_COLOURS["villages"],
    )  # fmt: skip


def _evidence(lang: Lang) -> list[TiledLayer]:
    from maps import styles
    from maps.tiled import TiledLayer

    return [
        TiledLayer(
            "patches",
            pick(lang, "森林督查变化图斑", "Change patches"),
            "patch_id",
            colour=styles.UNKNOWN_COLOUR,
            colour_field="legality",
            colours=dict(styles.PATCH_COLOURS),
            class_styles={k: styles.patch_style(k) for k in styles.PATCH_CLASSES},
            overlay_field="state",
            overlay_styles={
                state: styles.PATCH_STAGE_STYLES[stage]
                for stage, states in styles.PATCH_STAGE_STATES.items()
                for state in states
            },
            fields={
                "patch_id": pick(lang, "图斑编号", "Patch"),
                "state": pick(lang, "办理环节", "Workflow state"),
                "year": pick(lang, "年度", "Year"),
                "category": pick(lang, "类别", "Category"),
                "area_ha": pick(lang, "面积(公顷)", "Area (ha)"),
                "legality": pick(lang, "合法性", "Legality"),
                "change_cause": pick(lang, "变化原因", "Cause"),
                "illegal_area_ha": pick(lang, "违法面积(公顷)", "Illegal area (ha)"),
                "permit_no": pick(lang, "审批文号", "Permit"),
                "village_name": pick(lang, "村", "Village"),
            },
            min_zoom=12,
        ),
        TiledLayer(
            "parcel_risk",
            pick(lang, "高风险小班", "Flagged parcels"),
            "parcel_id",
            colour=_COLOURS["flagged"],
            only=("flagged", (1, True, "1", "true")),
            fields={
                "parcel_id": pick(lang, "小班号", "Parcel"),
                "village_name": pick(lang, "村", "Village"),
                "score": pick(lang, "风险分", "Score"),
                "area_ha": pick(lang, "面积(公顷)", "Area (ha)"),
                "complaint_count": pick(lang, "举报数", "Complaints"),
                "patch_count": pick(lang, "变化图斑数", "Change patches"),
            },
            min_zoom=13,
        ),
    ]


def _complaints(lang: Lang) -> list[TiledLayer]:
    """New and verified complaints, and the closed and unfounded ones in a second layer
    of the switch, off until asked for (as the standalone maps)."""
    from maps import styles
    from maps.tiled import TiledLayer

    rule = ("status", styles.HIDDEN_COMPLAINT_STATES)
    fields = {
        "complaint_id": pick(lang, "举报编号", "Complaint"),
        "received_at": pick(lang, "受理时间", "Received"),
        "category": pick(lang, "类别", "Category"),
        "status": pick(lang, "办理状态", "Status"),
        "village_name": pick(lang, "村", "Village"),
        "description": pick(lang, "内容", "Description"),
    }
    return [
        TiledLayer(
            "complaints", pick(lang, "举报投诉", "Complaints"), "complaint_id", kind="point",
            colour=styles.COMPLAINT_COLOURS["open"], exclude=rule, fields=fields, min_zoom=13,
        ),
        TiledLayer(
            "complaints", pick(lang, "已办结、不属实举报", "Closed or unfounded complaints"),
            "complaint_id",
            kind="point", colour=styles.COMPLAINT_COLOURS["hidden"], only=rule, fields=fields,
            min_zoom=13, show=False,
        ),
    ]  # fmt: skip


def _village_status_layer(lang: Lang) -> TiledLayer:
    from geoservice.webmaps.patch_status import patch_popup_fields
    from maps.tiled import TiledLayer

    return TiledLayer(
        "villages",
        pick(lang, "村整改情况", "Village status"),
        "village_code",
        colour_from="villages",
        listed="villages",
        fields={
            "village_name": pick(lang, "村", "Village"),
            "village_code": pick(lang, "村代码", "Code"),
        },
        status_fields={
            "cls": pick(lang, "整改情况", "Status"),
            "problems": pick(lang, "问题数", "Problems"),
            "open": pick(lang, "未整改", "Open"),
            "overdue": pick(lang, "逾期", "Overdue"),
            "awaiting_verification": pick(lang, "待验收", "Awaiting verification"),
            "verified": pick(lang, "已销号", "Verified"),
            "rate": pick(lang, "按期整改率", "On-time rate"),
            "esc": pick(lang, "最高督办级别", "Highest escalation"),
            **patch_popup_fields(lang),
        },
    )


# The tile layers the pages draw (:mod:`geoservice.tiles.specs` serves them).
DRAWN_LAYERS = ("villages", "patches", "parcel_risk", "targets", "complaints", "problems")


def drawn_layers(ws: Workspace, principal: Principal) -> list[str]:
    """The layers of :data:`DRAWN_LAYERS` ``principal`` may see as tiles (scoped as the
    tiles are: :func:`geoservice.base.scope.visible_layers`)."""
    from geoservice.base.scope import visible_layers

    return visible_layers(ws, principal, DRAWN_LAYERS)


def page_layers(kind: str, visible: list[str], lang: Lang, link: bool = True) -> list[TiledLayer]:
    """The tiled layers of a map of ``kind`` among the tile layers ``visible`` to the
    caller, bottom to top; ``link``: target popups link to the target's page."""
    if kind == "villages":
        chosen = [_village_status_layer(lang), _problem_layer(lang, listed=False)]
    elif kind == "department":
        chosen = [_outline(lang), _problem_layer(lang, True), _target_layer(lang, True, link)]
    else:
        chosen = [_outline(lang), *_evidence(lang), *_complaints(lang)]
        chosen.append(_target_layer(lang, False, link))  # above everything
    return [layer for layer in chosen if layer.name in visible]


Bounds = tuple[tuple[float, float, float, float] | None, str | None]


def map_bounds(ws: Workspace, village: str | None) -> Bounds:
    """``(bounds in degrees, village code)`` of the villages layer, or of one village given
    by code or name (MapInputError naming it, with examples, when it is not there)."""
    from geoservice.base.villages import villages_in_degrees
    from maps.render import MapInputError

    villages = villages_in_degrees(ws)
    if village is None:
        shown = villages
    else:
        codes, names = villages["village_code"].astype(str), villages["village_name"].astype(str)
        shown = villages[((codes == village) | (names == village)).to_numpy()]
        if not len(shown):
            known = "、".join(names.head(8))
            raise MapInputError(
                message(
                    "maps.unknown_village",
                    f"--village 为“{village}”，不在村界图层中；请使用村界图层中的村代码或村名，"
                    f"例如：{known}。",
                    f"`village` was {village!r}, which is not in the villages layer; use a "
                    f"village code or name of that layer, e.g. {known.replace('、', ', ')}.",
                )
            )
    if not len(shown):
        return None, None
    x0, y0, x1, y1 = (float(v) for v in shown.total_bounds)
    code = str(shown["village_code"].iloc[0]) if village is not None else None
    return (x0, y0, x1, y1), code


def _caption(
    ws: Workspace, kind: str, lang: Lang, day: str | None, dept: str | None
) -> tuple[str, list[tuple[str, str | None]]]:
    """The title of a map of ``kind`` and its data dates: the latest analysis's as-of date
    (targets, department) and ``day``, the day problem states are evaluated at (villages,
    department)."""
    from geoservice.webmaps.build import analysis_as_of

    analysed = (pick(lang, "研判数据截至", "Analysis as of"), analysis_as_of(ws))
    if kind == "villages":
        status = (pick(lang, "整改状态截至", "Status as of"), day)
        return pick(lang, "村整改情况图", "Rectification status by village"), [status]
    if kind == "department":
        zh, en = DEPARTMENTS.get(dept or "", (dept or "部门", dept or "department"))
        title = pick(
            lang, f"{zh} 执法目标与督查问题", f"{en[:1].upper()}{en[1:]}: targets and problems"
        )
        return title, [analysed, (pick(lang, "问题状态截至", "Problems as of"), day)]
    return pick(lang, "联合执法目标图", "Joint enforcement targets"), [analysed]


def tiled_shell(
    ws: Workspace,
    kind: str,
    visible: list[str],
    lang: Lang,
    village: str | None,
    *,
    tiles: str = SERVED_TILES,
    status_url: str | None = None,
    status: dict[str, Any] | None = None,
    link: bool = True,
    basemap: Any = None,
    day: str | None = None,
    dept: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> Any:
    """The light page (a folium Map) of a map of ``kind`` (see the module notes) over ``visible`` tile
    layers, opened on ``village`` (code or name) or on every village, or on ``bounds``
    (west, south, east, north in degrees) when given; titled with its data dates (``day``:
    the day problem states are evaluated at; ``dept``: the department code of a department
    map)."""
    from maps import styles
    from maps.overlays import complaint_legend, patch_legend, state_legend
    from maps.tiled import tiled_map

    if bounds is None:
        bounds, _code = map_bounds(ws, village)
    priority = styles.legend_html(
        pick(lang, "执法目标优先级", "Target priority"),
        [(c, styles.label(styles.PRIORITY_LABELS, p, lang)) for p, c in styles.PRIORITY_COLOURS.items()],
    )  # fmt: skip
    if kind == "villages":
        entries = [
            (styles.STATUS_COLOURS[k], styles.label(styles.STATUS_LABELS, k, lang))
            for k in styles.STATUS_CLASSES
        ]
        blocks = [styles.legend_html(pick(lang, "村整改情况", "Village status"), entries)]
        blocks.append(state_legend(lang))
    elif kind == "department":
        blocks = [priority, state_legend(lang)]
    else:
        evidence = [(_COLOURS["flagged"], pick(lang, "高风险小班", "flagged parcels"))]
        blocks = [
            priority,
            patch_legend(lang),
            styles.legend_html(pick(lang, "证据", "Evidence"), evidence),
            styles.legend_html(
                pick(lang, "举报投诉", "Complaints"), complaint_legend(lang), kind="dot"
            ),
        ]
    return tiled_map(
        page_layers(kind, visible, lang, link),
        bounds,
        tiles,
        lang,
        status_url=None if status is not None else status_url,
        status=status,
        names=_names(lang),
        legend_blocks=blocks,
        basemap=basemap,
        caption=_caption(ws, kind, lang, day, dept),
    )


def status_url(kind: str, day: str | None, lang: Lang, dept: str | None = None) -> str:
    """The site path of the status object of a served map."""
    from urllib.parse import urlencode

    query = {"kind": kind, "lang": lang, "as_of": day, "code": dept}
    return "/maps/status.json?" + urlencode({k: v for k, v in query.items() if v is not None})
