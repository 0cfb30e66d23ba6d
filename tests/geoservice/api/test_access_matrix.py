"""Who may call what: every route of the app against every role, in one table.

Each row is one request a real client would send (valid ids of the sample town, a valid
body), so the status is about access, not validation. The columns are the callers:

- ``anon``: no token; ``viewer``;
- ``vill``: the village VILLAGE; ``o_vill``: the village OTHER_VILLAGE;
- ``dept``: police (leads TID, cooperates on COOP_TID, copied on the problems of VILLAGE);
- ``o_dept``: education (leads no target, copied on no problem);
- ``office``: the forest-chief office.

``audit`` says whether a successful request must leave an audit row naming the caller's
user id and address (``from``): every request that reads shared data, exports, imports or
changes state. Library files, the documentation, the sign-in form and the OGC landing
page and conformance carry no data.

An object outside the caller's scope is 404, never 403 (its existence is not revealed);
a role that never may is 403; no token is 401 (303 to the sign-in page for field pages).
A new route without a row makes ``test_every_route_has_a_row`` fail.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from PIL import Image

from geoservice.api.app import create_app
from geoservice.base.access import authenticate
from geoservice.base.settings import Settings
from geoservice.workflow.escalation_docs import issue_documents

from .conftest import AS_OF, OTHER_VILLAGE, SAMPLE, VILLAGE, Town, make_town

PID = "DC202606-002"  # VILLAGE, rejected, copied to police (not to education)
OTHER_PID = "DC202603-002"  # OTHER_VILLAGE, assigned, not copied to police
TID = "T-6aae7a6f06"  # police leads
COOP_TID = "T-0ee200cdd1"  # agriculture leads; police, natural_resources cooperate
OTHER_TID = "T-5229b9fcfb"  # agriculture leads; environment, natural_resources cooperate
OWN_PATCH = "44188220260027"  # VILLAGE, established illegal (verified, its problem opened)
CID = "JB202400001"  # a complaint (the layer is restricted)
ESCALATION = "镇林长办提〔2026〕3号"  # to VILLAGE, copied to police (not to education)
PATCH = "44188220250001"  # a change patch of the sample town
OTHER_ESCALATION = "镇林长办挂〔2026〕2号"  # to OTHER_VILLAGE, copied to neither

ROLES = ("anon", "viewer", "vill", "o_vill", "dept", "o_dept", "office")
WHO = {
    "anon": "anonymous",
    "viewer": "viewer",
    "vill": "village",
    "o_vill": "other_village",
    "dept": "department",
    "o_dept": "other_department",
    "office": "office",
}

MATRIX = """
method path                                                request          anon viewer vill o_vill dept o_dept office audit
GET    /docs                                               docs              200    200  200    200  200    200    200    no
GET    /health                                             health            200    200  200    200  200    200    200    no
GET    /layers                                             layers            401    200  200    200  200    200    200   yes
POST   /layers/{kind}/import                               import_csv        401    403  403    403  201    201    201   yes
POST   /layers/{kind}/import                               import_problems   401    403  403    403  403    403    201   yes
POST   /layers/{kind}/import                               import_replace    401    403  403    403  403    403    201   yes
GET    /static/maps/{name}                                 leaflet           200    200  200    200  200    200    200    no
GET    /maps/targets                                       map_targets       401    403  403    403  200    200    200   yes
GET    /maps/villages                                      map_villages      401    200  200    200  200    200    200   yes
GET    /maps/department/{code}                             map_police        401    403  403    403  200    404    200   yes
GET    /maps/status.json                                   status_villages   401    200  200    200  200    200    200   yes
GET    /maps/status.json                                   status_targets    401    403  403    403  200    200    200   yes
GET    /maps/status.json                                   status_police     401    403  403    403  200    404    200   yes
GET    /ogc                                                ogc               200    200  200    200  200    200    200    no
GET    /ogc/                                               ogc_slash         200    200  200    200  200    200    200    no
GET    /ogc/conformance                                    conformance       200    200  200    200  200    200    200    no
GET    /ogc/collections                                    collections       401    200  200    200  200    200    200   yes
GET    /ogc/collections/{collection_id}                    coll_villages     401    200  200    200  200    200    200   yes
GET    /ogc/collections/{collection_id}                    coll_complaints   401    404  404    404  404    404    200   yes
GET    /ogc/collections/{collection_id}/items              items_villages    401    200  200    200  200    200    200   yes
GET    /ogc/collections/{collection_id}/items              items_parcels     401    404  404    404  200    200    200   yes
GET    /ogc/collections/{collection_id}/items              items_complaints  401    404  404    404  404    404    200   yes
GET    /ogc/collections/{collection_id}/items              items_problems    401    404  200    200  200    200    200   yes
GET    /ogc/collections/{collection_id}/items/{feature_id} feature_problem   401    404  200    404  200    404    200   yes
GET    /ogc/collections/{collection_id}/items/{feature_id} feature_target    401    404  404    404  200    404    200   yes
GET    /tiles/{layer}/{z}/{x}/{y}.mvt                      tile_villages     401    200  200    200  200    200    200   yes
GET    /tiles/{layer}/{z}/{x}/{y}.mvt                      tile_parcels      401    404  404    404  200    200    200   yes
GET    /tiles/{layer}/{z}/{x}/{y}.mvt                      tile_complaints   401    404  404    404  404    404    200   yes
GET    /tiles/{layer}/{z}/{x}/{y}.mvt                      tile_problems     401    404  200    200  200    200    200   yes
GET    /tiles/{layer}/{z}/{x}/{y}.mvt                      tile_targets      401    404  404    404  200    200    200   yes
GET    /                                                   home              303    303  303    303  303    303    303    no
GET    /signin                                             signin_form       200    200  200    200  200    200    200    no
POST   /signin                                             signin            401    303  303    303  303    303    303   yes
POST   /signout                                            signout           303    303  303    303  303    303    303   yes
GET    /app                                                tasks             303    200  200    200  200    200    200   yes
GET    /app/problems/{problem_id}                          page_problem      303    404  200    404  200    404    200   yes
POST   /app/problems/{problem_id}                          page_report       303    404  303    404  403    404    303   yes
GET    /app/targets/{target_id}                            page_target       303    404  404    404  200    404    200   yes
POST   /app/targets/{target_id}                            page_action       303    404  404    404  303    404    303   yes
POST   /app/targets/{target_id}                            page_coop_action  303    404  404    404  303    404    303   yes
GET    /static/pages/{name}                                field_css         200    200  200    200  200    200    200    no
GET    /app/sw.js                                          sw                200    200  200    200  200    200    200    no
GET    /app/lib/{name}                                     workbox           200    200  200    200  200    200    200    no
GET    /app/icon-{size}.png                                icon              200    200  200    200  200    200    200    no
GET    /app/manifest.webmanifest                           manifest          200    200  200    200  200    200    200    no
GET    /app/offline.json                                   offline_list      401    200  200    200  200    200    200   yes
GET    /app/csrf.json                                      csrf_json         401    200  200    200  200    200    200    no
GET    /problems                                           problems          401    403  200    200  200    200    200   yes
POST   /problems                                           new_problem       401    403  403    403  403    403    201   yes
GET    /problems/{problem_id}                              problem           401    403  200    404  200    404    200   yes
GET    /problems/{problem_id}                              other_problem     401    403  404    200  404    404    200   yes
PATCH  /problems/{problem_id}                              move_problem      401    403  200    404  403    403    200   yes
POST   /problems/{problem_id}/evidence                     upload_photo      401    403  201    404  403    403    201   yes
GET    /problems/{problem_id}/evidence/{name}              photo             401    403  200    404  200    404    200   yes
GET    /patches                                            patches_list      401    403  200    200  200    200    200   yes
GET    /patches/{patch_id}                                 patch_read        401    403  200    404  200    200    200   yes
PATCH  /patches/{patch_id}                                 patch_move        401    403  403    404  403    403    200   yes
GET    /patches/{patch_id}/history                         patch_history     401    403  200    404  200    200    200   yes
POST   /patches/{patch_id}/photos                          patch_photos      401    403  403    404  403    403    201   yes
GET    /patches/{patch_id}/photos/{name}                   patch_photo       401    403  200    404  200    200    200   yes
GET    /app/patches/{patch_id}                             page_patch        303    404  200    404  200    200    200   yes
POST   /app/patches/{patch_id}                             page_patch_act    303    404  403    404  403    403    303   yes
GET    /app/patches/{patch_id}/photos/{name}               page_patch_photo  303    404  200    404  200    200    200   yes
GET    /villages/status                                    village_status    401    200  200    200  200    200    200   yes
GET    /reports/departments                                report            401    403  403    403  200    200    200   yes
GET    /targets                                            targets           401    403  403    403  200    200    200   yes
GET    /targets/export                                     export            401    403  403    403  200    200    200   yes
GET    /targets/export                                     export_other      401    403  403    403  404    404    200   yes
GET    /targets/{target_id}                                target            401    403  403    403  200    404    200   yes
GET    /targets/{target_id}                                other_target      401    403  403    403  404    404    200   yes
GET    /targets/{target_id}/dossier                        dossier           401    403  403    403  200    404    200   yes
GET    /targets/{target_id}/dossier                        other_dossier     401    403  403    403  404    404    200   yes
PATCH  /targets/{target_id}                                change_target     401    403  403    403  200    404    200   yes
PATCH  /targets/{target_id}                                change_coop       401    403  403    403  403    404    200   yes
PATCH  /targets/{target_id}                                change_other      401    403  403    403  404    404    200   yes
POST   /targets/{target_id}/actions                        target_action     401    403  403    403  201    404    201   yes
POST   /targets/{target_id}/actions                        coop_action       401    403  403    403  201    404    201   yes
POST   /targets/{target_id}/actions                        other_action      401    403  403    403  404    404    201   yes
POST   /targets/{target_id}/photos                         target_photos     401    403  403    403  201    404    201   yes
POST   /targets/{target_id}/photos                         coop_photos       401    403  403    403  201    404    201   yes
GET    /targets/{target_id}/history                        history           401    403  403    403  200    404    200   yes
GET    /targets/{target_id}/history                        coop_history      401    403  403    403  200    404    200   yes
GET    /targets/{target_id}/history                        other_history     401    403  403    403  404    404    200   yes
POST   /analysis/runs                                      run_analysis      401    403  403    403  403    403    201   yes
GET    /analysis/runs/latest                               latest_run        401    403  403    403  200    200    200   yes
GET    /audit                                              audit_log         401    403  403    403  403    403    200   yes
POST   /complaints                                         complaint         401    403  201    201  201    201    201   yes
GET    /complaints/{complaint_id}                          complaint_read    401    403  403    403  403    403    200   yes
GET    /escalations                                        escalations       401    403  200    200  200    200    200   yes
GET    /escalations/{number}                               escalation        401    403  200    404  200    404    200   yes
GET    /escalations/{number}                               escalation_other  401    403  404    200  404    404    200   yes
POST   /escalations/issue                                  issue_escalations 401    403  403    403  403    403    200   yes
GET    /departments                                        departments       401    403  403    403  200    200    200   yes
GET    /departments/{code}/entries                         ledger            401    403  403    403  200    403    200   yes
POST   /departments/{code}/entries                         ledger_entry      401    403  403    403  201    403    201   yes
POST   /departments/{code}/entries                         ledger_entry_edu  401    403  403    403  403    404    201   yes
POST   /departments/{code}/photos                          ledger_photos     401    403  403    403  201    403    201   yes
GET    /departments/{code}/statements/{period}             statement         401    403  403    403  200    403    200   yes
PUT    /departments/{code}/statements/{period}             write_statement   401    403  403    403  200    403    200   yes
GET    /app/capture                                        page_capture      303    403  200    200  403    403    200   yes
POST   /app/capture                                        page_capture_new  303    403  303    303  403    403    303   yes
GET    /app/targets/{target_id}/observe                    page_observe      303    404  404    404  200    404    200   yes
POST   /app/targets/{target_id}/observe                    page_observe_new  303    404  404    404  303    404    303   yes
GET    /app/patches/{patch_id}/observe                     page_observe_p    303    403  403    403  200    200    200   yes
POST   /app/patches/{patch_id}/observe                     page_observe_pnew 303    403  403    403  303    303    303   yes
GET    /app/patrol                                         page_patrol       303    403  200    200  200    200    200   yes
POST   /app/patrol                                         page_patrol_new   303    403  303    303  303    303    303   yes
GET    /app/field/crs.json                                 field_crs         303    200  200    200  200    200    200    no
GET    /patrols                                            patrols           401    403  200    200  200    200    200   yes
POST   /patrols                                            new_patrol        401    403  201    201  201    201    201   yes
"""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    request: str
    status: dict[str, int]
    audited: bool


def rows() -> list[Row]:
    """The table above, one :class:`Row` per line."""
    out = []
    for line in MATRIX.strip().splitlines()[1:]:
        method, path, request, *codes, audit = line.split()
        assert len(codes) == len(ROLES), line
        status = dict(zip(ROLES, map(int, codes), strict=True))
        out.append(Row(method, path, request, status, audit == "yes"))
    return out


# --- the requests ---------------------------------------------------------------------

Sent = dict[str, Any]  # keyword arguments of TestClient.request, plus "bearer": False


def complaints_csv() -> bytes:
    """The sample complaints file (GBK) cut to its header and one row under a new id."""
    header, first = (SAMPLE / "complaints.csv").read_bytes().splitlines()[:2]
    return header + b"\r\n" + first.replace(b"JB202400001", b"JB209900001", 1) + b"\r\n"


def zipped_villages() -> bytes:
    """The sample villages shapefile (owned by natural_resources) as a zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in sorted(SAMPLE.glob("villages.*")):
            zf.write(part, part.name)
    return buf.getvalue()


def problems_xlsx() -> bytes:
    return (SAMPLE / "problems.xlsx").read_bytes()


def own_point(who: str) -> tuple[float, float]:
    """A lon/lat inside the caller's village (VILLAGE for callers without one)."""
    return (112.4317, 24.8395) if who == "other_village" else (112.3735, 24.7962)


def _version(town: Town, pid: str) -> str:
    res = town.get(f"/problems/{pid}", "office")
    assert res.status_code == 200, res.text
    return str(res.json()["version"])


def _photo(town: Town) -> str:
    """Store a photo of PID (as the office) and return its name."""
    res = town.client.post(
        f"/problems/{PID}/evidence", files=[("files", jpeg())], headers=town.headers("office")
    )
    assert res.status_code == 201, res.text
    return str(res.json()["stored"][0])


def _patch_version(town: Town) -> str:
    """The version of OWN_PATCH (its ETag as the office sees it), for the page's form."""
    res = town.get(f"/patches/{OWN_PATCH}", "office")
    assert res.status_code == 200, res.text
    return str(res.headers["ETag"]).strip('"')


def _patch_photo(town: Town) -> str:
    """Store a verification photo of OWN_PATCH (as the office) and return its name."""
    res = town.client.post(
        f"/patches/{OWN_PATCH}/photos", files=[("files", jpeg())], headers=town.headers("office")
    )
    assert res.status_code == 201, res.text
    return str(res.json()["stored"][0])


def jpeg() -> tuple[str, bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "olive").save(buf, format="JPEG")
    return ("site.jpg", buf.getvalue(), "image/jpeg")


def _get(url: str) -> Callable[[Town, str], Sent]:
    return lambda town, who: {"method": "GET", "url": url}


def _target_version(town: Town, tid: str) -> str:
    """The ETag of ``GET /targets/{tid}`` (as the office): what ``If-Match`` carries."""
    res = town.get(f"/targets/{tid}", "office")
    assert res.status_code == 200, res.text
    return str(res.headers["ETag"])


def _change(tid: str) -> Callable[[Town, str], Sent]:
    """Dispatch ``tid`` (new -> dispatched), with the current version as If-Match."""
    return lambda town, who: {
        "method": "PATCH",
        "url": f"/targets/{tid}",
        "json": {"state": "dispatched", "note": "已派发牵头部门"},
        "headers": {"If-Match": _target_version(town, tid)},
    }


def _action(tid: str) -> Callable[[Town, str], Sent]:
    """An action record on ``tid`` (for the caller's own department)."""
    return lambda town, who: {
        "method": "POST",
        "url": f"/targets/{tid}/actions",
        "json": {"action": "现场制止并查扣油锯 2 台", "acted_on": AS_OF, "people": 4},
    }


def _photos(tid: str) -> Callable[[Town, str], Sent]:
    return lambda town, who: {
        "method": "POST",
        "url": f"/targets/{tid}/photos",
        "files": [("files", jpeg())],
    }


def _ledger_entry(code: str) -> Callable[[Town, str], Sent]:
    """A ledger entry of ``code`` on PID (copied to police, not to education)."""
    body = {"kind": "co_verification", "acted_on": AS_OF, "object_kind": "problem"}
    return lambda town, who: {
        "method": "POST",
        "url": f"/departments/{code}/entries",
        "json": {**body, "object_id": PID, "people": 2},
    }


def _page_action(tid: str) -> Callable[[Town, str], Sent]:
    """The phone page's action form of ``tid`` (a bearer caller needs no form token)."""
    return lambda town, who: {
        "method": "POST",
        "url": f"/app/targets/{tid}",
        "data": {"action": "现场巡查，未发现新砍伐", "acted_on": AS_OF, "people": "2"},
    }


def _track(who: str) -> list[list[float]]:
    """Two positions 100 m apart in the caller's village, a minute apart (ms)."""
    lon, lat = own_point(who)
    return [[lon, lat, 1_796_090_400_000], [lon + 0.001, lat, 1_796_090_460_000]]


def _observe(kind: str, object_id: str) -> Callable[[Town, str], Sent]:
    """An observation on the spot at a target or patch (``kind``: targets or patches)."""

    def sent(town: Town, who: str) -> Sent:
        layer, key = ("targets", "target_id") if kind == "targets" else ("patches", "patch_id")
        frame = town.ws.read(layer, columns=[key])
        here = frame[frame[key] == object_id].to_crs(4490).representative_point().iloc[0]
        return {
            "method": "POST",
            "url": f"/app/{kind}/{object_id}/observe",
            "data": {"note": "现场核查", "lon": str(here.x), "lat": str(here.y)},
        }

    return sent


def _escalation(number: str) -> Callable[[Town, str], Sent]:
    """An escalation document as HTML, after the office has issued those due at AS_OF."""

    def sent(town: Town, who: str) -> Sent:
        issue_documents(town.ws, date.fromisoformat(AS_OF), "office:test")
        return {"method": "GET", "url": f"/escalations/{quote(number, safe='')}?format=html"}

    return sent


REQUESTS: dict[str, Callable[[Town, str], Sent]] = {
    "docs": _get("/docs"),
    "health": _get("/health"),
    "layers": _get("/layers"),
    "import_csv": lambda town, who: {
        "method": "POST",
        "url": "/layers/complaints/import",
        "files": {"file": ("举报.csv", complaints_csv(), "text/csv")},
        "data": {"mode": "append"},
    },
    "import_problems": lambda town, who: {
        "method": "POST",
        "url": "/layers/problems/import",
        "files": {"file": ("督查问题.xlsx", problems_xlsx(), "application/octet-stream")},
    },
    "import_replace": lambda town, who: {
        "method": "POST",
        "url": "/layers/villages/import",
        "files": {"file": ("村界.zip", zipped_villages(), "application/zip")},
        "data": {"mode": "replace"},
    },
    "leaflet": _get("/static/maps/leaflet.js"),
    "map_targets": _get("/maps/targets"),
    "map_villages": _get(f"/maps/villages?as_of={AS_OF}"),
    "map_police": _get(f"/maps/department/police?as_of={AS_OF}"),
    "status_villages": _get(f"/maps/status.json?kind=villages&as_of={AS_OF}"),
    "status_targets": _get(f"/maps/status.json?kind=targets&as_of={AS_OF}"),
    "status_police": _get(f"/maps/status.json?kind=department&code=police&as_of={AS_OF}"),
    "ogc": _get("/ogc"),
    "ogc_slash": _get("/ogc/"),
    "conformance": _get("/ogc/conformance"),
    "collections": _get("/ogc/collections"),
    "coll_villages": _get("/ogc/collections/villages"),
    "coll_complaints": _get("/ogc/collections/complaints"),
    "items_villages": _get("/ogc/collections/villages/items?limit=2"),
    "items_parcels": _get("/ogc/collections/parcels/items?limit=2"),
    "items_complaints": _get("/ogc/collections/complaints/items?limit=2"),
    "items_problems": _get("/ogc/collections/problems/items?limit=1000"),
    "feature_problem": _get(f"/ogc/collections/problems/items/{PID}"),
    "feature_target": _get(f"/ogc/collections/targets/items/{TID}"),
    "tile_villages": _get("/tiles/villages/10/831/439.mvt"),
    "tile_parcels": _get("/tiles/parcels/10/831/439.mvt"),
    "tile_complaints": _get("/tiles/complaints/10/831/439.mvt"),
    "tile_problems": _get("/tiles/problems/10/831/439.mvt"),
    "tile_targets": _get("/tiles/targets/10/831/439.mvt"),
    "home": _get("/"),
    "signin_form": _get("/signin"),
    "signin": lambda town, who: {
        "method": "POST",
        "url": "/signin",
        "data": {"token": town.tokens.get(who, "")},
        "bearer": False,  # the sign-in form carries the token in its body
    },
    "signout": lambda town, who: {"method": "POST", "url": "/signout"},
    "tasks": _get("/app"),
    "page_problem": _get(f"/app/problems/{PID}"),
    "page_report": lambda town, who: {
        "method": "POST",
        "url": f"/app/problems/{PID}",
        "data": {"to": "in_progress", "note": "已开始整改", "version": _version(town, PID)},
    },
    "page_target": _get(f"/app/targets/{TID}"),
    "page_action": _page_action(TID),
    "page_coop_action": _page_action(COOP_TID),
    "field_css": _get("/static/pages/field.css"),
    "sw": _get("/app/sw.js"),
    "workbox": _get("/app/lib/workbox-core.prod.js"),
    "icon": _get("/app/icon-192.png"),
    "manifest": _get("/app/manifest.webmanifest"),
    "offline_list": _get("/app/offline.json"),
    "csrf_json": _get("/app/csrf.json"),
    "problems": _get(f"/problems?as_of={AS_OF}"),
    "new_problem": lambda town, who: {
        "method": "POST",
        "url": "/problems",
        "json": {
            "village": VILLAGE,
            "category": "illegal_logging",
            "description": "山上有新砍伐的树桩",
            "deadline": "2027-01-31",
        },
    },
    "problem": _get(f"/problems/{PID}"),
    "other_problem": _get(f"/problems/{OTHER_PID}"),
    "move_problem": lambda town, who: {
        "method": "PATCH",
        "url": f"/problems/{PID}",
        "json": {"status": "in_progress", "note": "已开始整改"},
        "headers": {"If-Match": f'"{_version(town, PID)}"'},
    },
    "upload_photo": lambda town, who: {
        "method": "POST",
        "url": f"/problems/{PID}/evidence",
        "files": [("files", jpeg())],
    },
    "photo": lambda town, who: {"method": "GET", "url": f"/problems/{PID}/evidence/{_photo(town)}"},
    "patches_list": _get(f"/patches?as_of={AS_OF}"),
    "patch_read": _get(f"/patches/{OWN_PATCH}"),
    "patch_move": lambda town, who: {
        "method": "PATCH",
        "url": f"/patches/{OWN_PATCH}",
        "json": {"state": "investigating", "note": "已立案查处"},
        "headers": {"If-Match": town.get(f"/patches/{OWN_PATCH}", "office").headers["ETag"]},
    },
    "patch_history": _get(f"/patches/{OWN_PATCH}/history"),
    "patch_photos": lambda town, who: {
        "method": "POST",
        "url": f"/patches/{OWN_PATCH}/photos",
        "files": [("files", jpeg())],
    },
    "patch_photo": lambda town, who: {
        "method": "GET",
        "url": f"/patches/{OWN_PATCH}/photos/{_patch_photo(town)}",
    },
    "page_patch": _get(f"/app/patches/{OWN_PATCH}"),
    "page_patch_act": lambda town, who: {
        "method": "POST",
        "url": f"/app/patches/{OWN_PATCH}",
        "data": {"to": "investigating", "note": "已立案查处", "version": _patch_version(town)},
    },
    "page_patch_photo": lambda town, who: {
        "method": "GET",
        "url": f"/app/patches/{OWN_PATCH}/photos/{_patch_photo(town)}",
    },
    "village_status": _get(f"/villages/status?as_of={AS_OF}"),
    "report": _get(f"/reports/departments?from=2026-01-01&to={AS_OF}"),
    "targets": _get("/targets"),
    "export": _get("/targets/export?format=csv"),
    "export_other": _get(f"/targets/export?format=csv&target={OTHER_TID}"),
    "target": _get(f"/targets/{TID}"),
    "other_target": _get(f"/targets/{OTHER_TID}"),
    "dossier": _get(f"/targets/{TID}/dossier?format=html"),
    "other_dossier": _get(f"/targets/{OTHER_TID}/dossier?format=html"),
    "change_target": _change(TID),
    "change_coop": _change(COOP_TID),
    "change_other": _change(OTHER_TID),
    "target_action": _action(TID),
    "coop_action": _action(COOP_TID),
    "other_action": _action(OTHER_TID),
    "target_photos": _photos(TID),
    "coop_photos": _photos(COOP_TID),
    "history": _get(f"/targets/{TID}/history"),
    "coop_history": _get(f"/targets/{COOP_TID}/history"),
    "other_history": _get(f"/targets/{OTHER_TID}/history"),
    "run_analysis": lambda town, who: {
        "method": "POST",
        "url": "/analysis/runs",
        "json": {"as_of": AS_OF},
    },
    "latest_run": _get("/analysis/runs/latest"),
    "audit_log": _get("/audit"),
    "complaint": lambda town, who: {
        "method": "POST",
        "url": "/complaints",
        "json": {
            "text": "有人在山上砍树，拉走了木头",
            "lon": own_point(who)[0],
            "lat": own_point(who)[1],
        },
    },
    "complaint_read": _get(f"/complaints/{CID}"),
    "escalations": _get("/escalations"),
    "escalation": _escalation(ESCALATION),
    "escalation_other": _escalation(OTHER_ESCALATION),
    "issue_escalations": lambda town, who: {
        "method": "POST",
        "url": "/escalations/issue",
        "json": {"as_of": AS_OF},
    },
    "departments": _get("/departments"),
    "ledger": _get("/departments/police/entries"),
    "ledger_entry": _ledger_entry("police"),
    "ledger_entry_edu": _ledger_entry("education"),
    "ledger_photos": lambda town, who: {
        "method": "POST",
        "url": "/departments/police/photos",
        "files": [("files", jpeg())],
    },
    "statement": _get("/departments/police/statements/2026-Q4"),
    "write_statement": lambda town, who: {
        "method": "PUT",
        "url": "/departments/police/statements/2026-Q4",
        "json": {"text": "本季度开展联合核查1次"},
    },
    "page_capture": _get("/app/capture"),
    "page_capture_new": lambda town, who: {
        "method": "POST",
        "url": "/app/capture",
        "data": {
            "category": "illegal_logging",
            "description": "山脚新伐树桩",
            "lon": str(own_point(who)[0]),
            "lat": str(own_point(who)[1]),
            "accuracy": "8",
        },
    },
    "page_observe": _get(f"/app/targets/{TID}/observe"),
    "page_observe_new": _observe("targets", TID),
    "page_observe_p": _get(f"/app/patches/{PATCH}/observe"),
    "page_observe_pnew": _observe("patches", PATCH),
    "page_patrol": _get("/app/patrol"),
    "page_patrol_new": lambda town, who: {
        "method": "POST",
        "url": "/app/patrol",
        "data": {"track": json.dumps(_track(who))},
    },
    "field_crs": _get("/app/field/crs.json"),
    "patrols": _get("/patrols"),
    "new_patrol": lambda town, who: {
        "method": "POST",
        "url": "/patrols",
        "json": {"points": [dict(zip(("lon", "lat", "t"), p, strict=True)) for p in _track(who)]},
    },
}


def send(town: Town, who: str, sent: Sent) -> Any:
    """Send ``sent`` as ``who``: with its token as a bearer header unless ``bearer`` is
    False (none for anonymous); redirects are answers, not followed."""
    req = dict(sent)
    town.client.cookies.clear()  # a sign-in cookie of an earlier row would speak for ``who``
    bearer = town.headers(who) if req.pop("bearer", True) else {}
    headers = {**bearer, **req.pop("headers", {})}
    return town.client.request(
        req.pop("method"), req.pop("url"), headers=headers, follow_redirects=False, **req
    )


# --- the tests ------------------------------------------------------------------------


def route_keys() -> set[tuple[str, str]]:
    """(method, path) of every APIRoute of the app, however deeply it is included."""
    app = create_app(Settings(workspace=Path("unused.gpkg")))
    keys = set()
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            keys |= {(m, str(ctx.path)) for m in ctx.methods or ()}
    return keys


def test_every_route_has_a_row() -> None:
    listed = {(r.method, r.path) for r in rows()}
    routes = route_keys()
    assert routes - listed == set(), "routes without a row in MATRIX"
    assert listed - routes == set(), "rows in MATRIX for routes the app does not have"


def test_every_row_names_a_request() -> None:
    assert {r.request for r in rows()} <= set(REQUESTS)


def _user_id(town: Town, who: str) -> str | None:
    if who not in town.tokens:
        return None
    return authenticate(town.ws, town.tokens[who]).user_id


def _new_audit_rows(town: Town, before: int) -> list[dict[str, Any]]:
    log = town.ws.audit().iloc[before:]
    return [{**row, "detail": json.loads(row["detail"])} for row in log.to_dict("records")]


CELLS = [pytest.param(row, role, id=f"{row.request}-{role}") for row in rows() for role in ROLES]


# Requests that change state (or would, if allowed) run on a fresh copy of the town each;
# the others share one copy, where they change nothing but the audit log.
MUTATING = frozenset(
    {
        "import_csv",
        "import_problems",
        "import_replace",
        "page_report",
        "page_patch_act",
        "new_problem",
        "move_problem",
        "upload_photo",
        "run_analysis",
        "complaint",
        "page_action",
        "page_coop_action",
        "change_target",
        "change_coop",
        "change_other",
        "target_action",
        "coop_action",
        "other_action",
        "target_photos",
        "coop_photos",
        "escalation",
        "escalation_other",
        "issue_escalations",
        "ledger_entry",
        "ledger_entry_edu",
        "ledger_photos",
        "write_statement",
        "page_capture_new",
        "page_observe_new",
        "page_observe_pnew",
        "page_patrol_new",
        "new_patrol",
    }
)


# Requests whose answer, when allowed, is built from the files npm installs (Leaflet and
# its plugins, the offline pages' workbox scripts).
MAP_ASSETS = frozenset({"leaflet", "map_targets", "map_villages", "map_police", "workbox"})
# Requests whose answer, when allowed, draws Chinese text in a figure (the work order's map).
CJK_FIGURES = frozenset({"dossier", "other_dossier"})


@pytest.fixture(scope="module")
def shared_town(town_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Town:
    """One copy of the sample town, with the users of ``town``, for the reading requests."""
    return make_town(town_template, tmp_path_factory.mktemp("matrix"))


@pytest.mark.slow
@pytest.mark.parametrize(("row", "role"), CELLS)
def test_access(request: pytest.FixtureRequest, row: Row, role: str) -> None:
    who = WHO[role]
    if row.request in MAP_ASSETS and row.status[role] < 400:
        request.getfixturevalue("map_assets")
    if row.request in CJK_FIGURES and row.status[role] < 400:
        request.getfixturevalue("cjk_fonts")
    town: Town = request.getfixturevalue("town" if row.request in MUTATING else "shared_town")
    sent = REQUESTS[row.request](town, who)
    before = len(town.ws.audit())
    res = send(town, who, sent)
    assert res.status_code == row.status[role], res.text[:500]
    if row.audited and who in town.tokens and res.status_code < 400:
        mine = [
            r
            for r in _new_audit_rows(town, before)
            if r["detail"].get("user_id") == _user_id(town, who) and r["detail"].get("from")
        ]
        assert mine, f"no audit row with user_id and from for {row.method} {row.path} as {who}"


# --- what the lists hold ----------------------------------------------------------------

POLICE_TARGETS = {TID, COOP_TID, "T-5b802846b6", "T-66f084fce4", "T-f4da51b2c5"}  # lead or on
ALL_TARGETS = {*POLICE_TARGETS, OTHER_TID}
CLEARANCE = {
    "viewer": {"public"},
    "village": {"public"},
    "other_village": {"public"},
    "department": {"public", "internal"},
    "other_department": {"public", "internal"},
    "office": {"public", "internal", "restricted"},
}
COLLECTIONS = {
    "viewer": {"villages"},
    "village": {"villages", "problems"},
    "department": {"villages", "parcels", "patches", "problems", "targets", "parcel_risk"},
    "office": {
        "villages",
        "parcels",
        "complaints",
        "patches",
        "problems",
        "targets",
        "parcel_risk",
    },
}
COLLECTIONS |= {
    "other_village": COLLECTIONS["village"],
    "other_department": COLLECTIONS["department"],
}


def _own_problems(who: str, problems: list[dict[str, Any]]) -> None:
    """Problems a caller gets: its village's, those copied to its department, or all."""
    if who in ("village", "other_village"):
        own = VILLAGE if who == "village" else OTHER_VILLAGE
        assert problems and {p["village_code"] for p in problems} == {own}
    elif who == "department":
        assert problems and all("police" in p["cc_departments"] for p in problems)
    elif who == "other_department":
        assert problems == []
    else:
        # the 40 of the problem list and 6 opened for patches established illegal
        assert len(problems) == 46


def _cc_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")


def check_layers(who: str, res: Any) -> None:
    seen = {row["classification"] for row in res.json()["layers"]}
    assert seen == CLEARANCE[who]


def check_problems(who: str, res: Any) -> None:
    _own_problems(who, res.json())


def check_ogc_problems(who: str, res: Any) -> None:
    rows = [f["properties"] for f in res.json()["features"]]
    _own_problems(who, [{**r, "cc_departments": _cc_list(r["cc_departments"])} for r in rows])


def check_collections(who: str, res: Any) -> None:
    assert {c["id"] for c in res.json()["collections"]} == COLLECTIONS[who]


def check_targets(who: str, res: Any) -> None:
    ids = {f["properties"]["target_id"] for f in res.json()["features"]}
    expected = {"office": ALL_TARGETS, "department": POLICE_TARGETS}.get(who, set())
    assert ids == expected


def check_export(who: str, res: Any) -> None:
    text = res.content.decode("utf-8-sig")
    shown = {t for t in ALL_TARGETS if t in text}
    assert shown == {"office": ALL_TARGETS, "department": POLICE_TARGETS}.get(who, set())


def check_village_status(who: str, res: Any) -> None:
    rows = res.json()
    if who in ("village", "other_village"):
        own = VILLAGE if who == "village" else OTHER_VILLAGE
        assert [r["village_code"] for r in rows] == [own]
    staff = who in ("office", "department", "other_department")
    assert all((r["targets"] is not None) == staff for r in rows)


def _shows(ids: set[str], res: Any) -> set[str]:
    return {i for i in ids if i in res.text}


def check_map_page(who: str, res: Any) -> None:
    """A map page is a light shell: its features come from the caller's tiles and its
    colours from the status object, so it names no problem and no target."""
    assert _shows({PID, OTHER_PID, TID, COOP_TID, OTHER_TID}, res) == set()


def check_status_villages(who: str, res: Any) -> None:
    body = res.json()
    problems = {
        "office": {PID, OTHER_PID},
        "village": {PID},
        "other_village": {OTHER_PID},
        "department": {PID},
    }.get(who, set())
    assert set(body["problems"]) & {PID, OTHER_PID} == problems
    if who in ("village", "other_village"):
        assert list(body["villages"]) == [VILLAGE if who == "village" else OTHER_VILLAGE]


def check_status_targets(who: str, res: Any) -> None:
    expected = {"office": ALL_TARGETS, "department": POLICE_TARGETS}.get(who, set())
    assert set(res.json()["targets"]) == expected


def check_status_police(who: str, res: Any) -> None:
    assert set(res.json()["targets"]) == POLICE_TARGETS


def check_tasks(who: str, res: Any) -> None:
    problems = {
        "village": {PID},
        "other_village": {OTHER_PID},
        "department": {PID},
        "office": {PID, OTHER_PID},
    }.get(who, set())
    targets = {"department": {TID}, "office": {TID, OTHER_TID}}.get(who, set())
    if who == "office":  # the office's list is filtered and paged: nothing to leak there
        assert _shows({TID, OTHER_TID}, res) <= targets
        return
    assert _shows({PID, OTHER_PID}, res) == problems
    assert _shows({TID, OTHER_TID}, res) == targets


SCOPE_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "layers": check_layers,
    "problems": check_problems,
    "items_problems": check_ogc_problems,
    "collections": check_collections,
    "targets": check_targets,
    "export": check_export,
    "village_status": check_village_status,
    "map_villages": check_map_page,
    "map_targets": check_map_page,
    "status_villages": check_status_villages,
    "status_targets": check_status_targets,
    "status_police": check_status_police,
    "tasks": check_tasks,
}
SCOPE_CELLS = [
    pytest.param(row, role, id=f"{row.request}-{role}")
    for row in rows()
    if row.request in SCOPE_CHECKS
    for role in ROLES
    if row.status[role] == 200
]


@pytest.mark.parametrize(("row", "role"), SCOPE_CELLS)
def test_lists_hold_only_the_callers_scope(shared_town: Town, row: Row, role: str) -> None:
    who = WHO[role]
    res = send(shared_town, who, REQUESTS[row.request](shared_town, who))
    assert res.status_code == 200, res.text[:500]
    SCOPE_CHECKS[row.request](who, res)
