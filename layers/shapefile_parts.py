"""The files of one shapefile: finding its parts and refusing an incomplete set.

A shapefile is several files with one stem (``.shp``, ``.shx``, ``.dbf``, ``.prj``,
``.cpg``, ...); a planner often copies only some of them. :func:`shapefile_parts` finds
the parts next to any one of them (stem matched case-insensitively, as Windows does) and
:func:`complete_shapefile` refuses a set without its geometry, index or attribute table,
naming the missing files and how to bring them back.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from layers.errors import SourceError
from layers.integrity import check_shapefile
from layers.messages import Message

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_SIDECARS = (*SHAPEFILE_PARTS, ".sbn", ".sbx", ".qix", ".fbn", ".fbx", ".shp.xml")
"""Files that belong to one shapefile: same stem, one of these endings."""

_PART_ROLES = {".shp": ("几何", "geometry"), ".dbf": ("属性表", "attribute table")}


def complete_shapefile(path: Path, prefix: str) -> Path:
    """The ``.shp`` of the shapefile ``path`` belongs to, once its parts are checked.

    Parameters
    ----------
    path : Path
        The ``.shp``, ``.dbf`` or ``.shx`` given.
    prefix : str
        Display name of the folder or archive it is in (``"parcels.zip!"``), for messages.

    Raises
    ------
    SourceError
        The ``.shp``, ``.dbf`` or ``.shx`` is missing.
    ShapefileIntegrityError
        The parts disagree on the record count or one is cut short
        (see :func:`layers.integrity.check_shapefile`).
    """
    parts = shapefile_parts(path)
    shp = path if path.suffix.lower() == ".shp" else parts.get(".shp")
    stem = path.stem
    if shp is None:
        raise _shapefile_incomplete(prefix + path.name, [f"{stem}.shp"])
    missing = [f"{stem}{s}" for s in (".dbf", ".shx") if s not in parts]
    if missing:
        raise _shapefile_incomplete(prefix + shp.name, missing)
    check_shapefile(shp, parts[".shx"], parts[".dbf"], prefix)
    return shp


def shapefile_parts(path: Path) -> dict[str, Path]:
    """The shapefile's files next to ``path`` by lower-case ending (stem matched
    case-insensitively, as Windows does)."""
    stem = path.stem.casefold()
    parts: dict[str, Path] = {}
    for sibling in sorted(path.parent.iterdir()):
        name = sibling.name.casefold()
        ending = name[len(stem) :]
        if sibling.is_file() and name.startswith(stem) and ending in SHAPEFILE_SIDECARS:
            parts.setdefault(ending, sibling)
    return parts


def _shapefile_incomplete(display: str, missing: list[str]) -> SourceError:
    roles = [_PART_ROLES.get(PurePosixPath(m).suffix, ("索引", "shape index")) for m in missing]
    zh = "、".join(f"{m}（{r[0]}）" for m, r in zip(missing, roles, strict=True))
    en = ", ".join(f"{m} ({r[1]})" for m, r in zip(missing, roles, strict=True))
    shx_zh, shx_en = "", ""
    if len(missing) == 1 and missing[0].lower().endswith(".shx"):
        shp_name = PurePosixPath(display.rsplit("!", 1)[-1]).name
        shx_zh = (
            f"只缺 .shx 时也可由 .shp 重建：ogr2ogr --config SHAPE_RESTORE_SHX YES 修复后.shp"
            f" {shp_name}，或在 QGIS 处理工具箱中运行“修复 Shapefile”（Repair Shapefile）。"
        )
        shx_en = (
            " When only the .shx is missing it can also be rebuilt from the .shp: ogr2ogr"
            f" --config SHAPE_RESTORE_SHX YES repaired.shp {shp_name}, or 'Repair Shapefile'"
            " in the QGIS Processing Toolbox."
        )
    return SourceError(
        Message(
            "source.shapefile_incomplete",
            f"Shapefile“{display}”不完整：同一文件夹中缺少 {zh}。Shapefile 由多个文件组成，"
            "必须放在一起：请把所有组成文件（.shp .shx .dbf .prj .cpg）一起复制，"
            f"或打包成 .zip 发送。{shx_zh}",
            f"Shapefile '{display}' is incomplete: {en} is missing from the same folder. A"
            " shapefile is several files that must stay together: copy all parts of the"
            f" shapefile (.shp .shx .dbf .prj .cpg) together, or send it zipped.{shx_en}",
        )
    )


__all__ = ["SHAPEFILE_PARTS", "SHAPEFILE_SIDECARS", "complete_shapefile", "shapefile_parts"]
