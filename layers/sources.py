"""Resolve what the user gave (a file, a folder, a zip) into one readable dataset.

A planner may hand over a shapefile's ``.shp`` or ``.dbf``, the folder it sits in, a zip
sent by e-mail, a KMZ from a GPS app, a GeoPackage with several layers or an Excel workbook
with several sheets. :func:`resolve_source` turns any of these into one :class:`Source`:
the concrete file to open, its format and, for containers, the layer or sheet.

Data marked as classified (涉密, 秘密, 机密, 绝密) is refused as soon as a name shows the
mark, before anything is extracted or opened further (Article 6 of the collaboration
rules: such data is handled under the secrecy law, outside this system).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import openpyxl
import pyogrio
from openpyxl.utils.exceptions import InvalidFileException

from layers.archive import NESTED_ARCHIVE_SUFFIXES, is_junk_name, member_names, safe_extract
from layers.errors import ClassifiedDataError, LayerChoiceError, SourceError
from layers.integrity import check_shapefile
from layers.messages import Message

Format = Literal["shapefile", "gpkg", "geojson", "kml", "csv", "xlsx"]

CLASSIFIED_WORDS = ("涉密", "秘密", "机密", "绝密")

FORMATS_BY_SUFFIX: dict[str, Format] = {
    ".shp": "shapefile",
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
"""Suffix (lower case) of a directly given file → its format. ``.zip`` and ``.kmz`` are
archives, resolved through their contents."""

FOLDER_SUFFIXES = frozenset(FORMATS_BY_SUFFIX) - {".txt"} | {".kmz"}
"""Suffixes counted as datasets when searching a folder or an extracted zip. ``.txt`` is
left out there (folders usually carry read-me notes); give a ``.txt`` table directly."""

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_SIDECARS = (*SHAPEFILE_PARTS, ".sbn", ".sbx", ".qix", ".fbn", ".fbx", ".shp.xml")
"""Files that belong to one shapefile: same stem, one of these endings."""

_SUPPORTED_ZH = (
    "Shapefile（.shp 及同名 .shx .dbf，或打包成 .zip）、GeoPackage（.gpkg）、"
    "GeoJSON（.geojson/.json）、KML/KMZ、CSV（.csv/.txt）、Excel（.xlsx/.xlsm）"
)
_SUPPORTED_EN = (
    "Shapefile (.shp with its .shx and .dbf, or zipped), GeoPackage (.gpkg),"
    " GeoJSON (.geojson/.json), KML/KMZ, CSV (.csv/.txt), Excel (.xlsx/.xlsm)"
)
_CONTAINERS = frozenset({".gpkg", ".xlsx", ".xlsm", ".kml", ".kmz"})
"""Suffixes of files that hold layers or sheets of their own."""
_LAYER_WORDS = ("图层", "layer", "layers")
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Source:
    """One concrete dataset to read.

    Attributes
    ----------
    path : Path
        The file to open: the ``.shp``, ``.gpkg``, ``.geojson``, ``.kml``, ``.csv`` or
        ``.xlsx`` (inside the work folder when it came from an archive).
    format : {"shapefile", "gpkg", "geojson", "kml", "csv", "xlsx"}
    layer : str or None
        Layer inside a GeoPackage, or sheet of an Excel workbook; for a KML, the folder
        (layer) asked for with ``layer``, if any; None otherwise.
    original : Path
        What the user gave.
    name : str
        Display name for reports: ``"parcels.zip!林班/小班.shp"`` for a zip member,
        ``"survey/小班.shp"`` for a file found in a folder, the file name otherwise.
    """

    path: Path
    format: Format
    layer: str | None
    original: Path
    name: str


# --- classified data ----------------------------------------------------------------------


# "非涉密", "不涉密", "无涉密内容", "非秘密": negations that say the data is NOT classified.
_NEGATED_MARK = re.compile(r"(非|不|未|无|没有|不属于|不含)(涉密|秘密|机密|绝密)")


def classification_marks(value: str) -> list[str]:
    """The classification marks in ``value``, ignoring negations such as 非涉密."""
    text = _NEGATED_MARK.sub("", value)
    return [word for word in CLASSIFIED_WORDS if word in text]


def is_classified_text(value: str) -> bool:
    """True when ``value`` carries a classification mark (涉密, 秘密, 机密 or 绝密).

    Negated marks (非涉密, 不涉密, 无涉密, ...) are not marks.
    """
    return bool(classification_marks(value))


def check_not_classified(name: str) -> None:
    """Refuse a file (or member, layer, sheet) whose name carries a classification mark.

    Parameters
    ----------
    name : str
        The name as shown to the user, e.g. ``"parcels.zip!涉密/小班.shp"``.

    Raises
    ------
    ClassifiedDataError
        The name contains 涉密, 秘密, 机密 or 绝密.
    """
    marks = classification_marks(name)
    if not marks:
        return
    zh_marks = "、".join(f"“{m}”" for m in marks)
    en_marks = ", ".join(f"'{m}'" for m in marks)
    raise ClassifiedDataError(
        Message(
            "source.classified",
            f"文件“{name}”带有涉密标识{zh_marks}，不属于本系统，不予导入。按林长制协作制度第六条，"
            "涉及国家秘密的数据依照保密法律法规在本系统之外处理。未解压、未读取任何内容；"
            "请移除该文件，按保密规定的渠道处理。",
            f"File '{name}' is marked classified ({en_marks}); it does not belong on this"
            " system and is not imported. Under Article 6 of the forest-chief collaboration"
            " rules, classified data is handled under the secrecy law outside this system."
            " Nothing was extracted or read; remove the file and hand it over through the"
            " secrecy channel.",
        )
    )


# --- resolution ---------------------------------------------------------------------------


def resolve_source(path: Path, workdir: Path, layer: str | None = None) -> Source:
    """Turn a file, folder or archive into the one dataset to read.

    Parameters
    ----------
    path : Path
        What the user gave: a dataset file, a shapefile part (``.shp``, ``.dbf``,
        ``.shx``), a folder, a ``.zip`` or a ``.kmz``.
    workdir : Path
        Folder for extracting archives; each archive goes to a fresh subfolder of it. The
        caller owns it and removes it when done with the returned source.
    layer : str, optional
        Which dataset when there are several: for a folder or zip, the file's stem or
        relative path (case-insensitive); for a GeoPackage or KML, the layer; for a
        workbook, the sheet. When a folder holds exactly one GeoPackage, workbook, KML or
        KMZ, ``layer`` is passed on to it. Ignored for single-layer formats given directly.

    Returns
    -------
    Source

    Raises
    ------
    SourceError
        Missing path, missing shapefile part, unsupported format, nothing readable found.
    ShapefileIntegrityError
        The ``.shp``, ``.shx`` and ``.dbf`` of a shapefile disagree on the record count or
        one is cut short (see :func:`layers.integrity.check_shapefile`).
    ArchiveError
        An unsafe or unusable archive (see :func:`layers.archive.safe_extract`).
    LayerChoiceError
        Several datasets, layers or sheets and ``layer`` does not pick exactly one.
    ClassifiedDataError
        A name carries a classification mark.
    """
    path = Path(path)
    if not path.exists():
        raise _missing_path(path)
    label = path.name or path.resolve().name  # "." has no name of its own
    check_not_classified(label)
    if path.is_dir():
        return _resolve_folder(path, path, f"{label}/", layer, workdir)
    return _resolve_file(path, path, "", layer, workdir)


def _resolve_file(
    path: Path, original: Path, prefix: str, layer: str | None, workdir: Path
) -> Source:
    """Resolve one file; ``prefix`` is the display name of the folder it is in."""
    suffix = path.suffix.lower()
    display = prefix + path.name
    if suffix == ".zip":
        return _resolve_zip(path, original, display, layer, workdir)
    if suffix == ".kmz":
        return _resolve_kmz(path, original, display, layer, workdir)
    if suffix == ".kml":
        return _kml_source(path, original, display, layer)
    if suffix in (".shp", ".dbf", ".shx"):
        return _resolve_shapefile(path, original, prefix)
    if suffix == ".gpkg":
        return _resolve_gpkg(path, original, display, layer)
    if suffix in (".xlsx", ".xlsm"):
        return _resolve_xlsx(path, original, display, layer)
    if suffix == ".xls":
        raise _old_excel(display)
    if suffix in NESTED_ARCHIVE_SUFFIXES:
        raise _other_archive(display, suffix)
    fmt = FORMATS_BY_SUFFIX.get(suffix)
    if fmt is None:
        raise _unsupported(display, suffix)
    return Source(path, fmt, None, original, display)


def _resolve_zip(
    path: Path, original: Path, display: str, layer: str | None, workdir: Path
) -> Source:
    _check_members(path, display)
    dest = _fresh_dir(workdir, "zip")
    safe_extract(path, dest)
    return _resolve_folder(dest, original, f"{display}!", layer, workdir)


def _check_members(archive: Path, display: str) -> None:
    """Refuse the archive if any member's name is marked classified; nothing is extracted."""
    for member in member_names(archive):
        check_not_classified(f"{display}!{member}")


def _resolve_kmz(
    path: Path, original: Path, display: str, layer: str | None, workdir: Path
) -> Source:
    _check_members(path, display)
    dest = _fresh_dir(workdir, "kmz").resolve()
    kmls = [f for f in safe_extract(path, dest) if f.suffix.lower() == ".kml"]
    if not kmls:
        raise _source_error(
            "source.kmz_without_kml",
            f"KMZ 文件“{display}”中没有 .kml 文件；KMZ 应包含 doc.kml。"
            "请在 Google 地球或奥维等软件中重新导出 KMZ，或直接导出 KML。",
            f"KMZ '{display}' holds no .kml file; a KMZ is expected to contain doc.kml."
            " Export the KMZ again from Google Earth or the GPS app, or export KML.",
        )
    main = min(kmls, key=lambda f: (f.name.lower() != "doc.kml", len(f.parts), str(f)))
    return _kml_source(main, original, f"{display}!{main.relative_to(dest).as_posix()}", layer)


def _kml_source(path: Path, original: Path, display: str, layer: str | None) -> Source:
    """A KML; its folders are layers. With ``layer`` given it is checked against them,
    otherwise the layer is left to the reader (None)."""
    if layer is None:
        return Source(path, "kml", None, original, display)
    chosen = _choose(display, _ogr_layers(path, display, "KML"), layer, _LAYER_WORDS)
    return Source(path, "kml", chosen, original, display)


def _ogr_layers(path: Path, display: str, kind: str) -> list[str]:
    """Layer names of a GeoPackage or KML, each checked for a classification mark."""
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise _unreadable(display, kind, exc) from exc
    for name in names:
        check_not_classified(f"{display}!{name}")
    return names


def _resolve_folder(
    folder: Path, original: Path, prefix: str, layer: str | None, workdir: Path
) -> Source:
    """Find the datasets under ``folder`` and pick one; ``prefix`` ends in ``/`` or ``!``."""
    files = _walk(folder)
    for rel in files:
        check_not_classified(prefix + rel)
    datasets = [rel for rel in files if _suffix(rel) in FOLDER_SUFFIXES]
    where = prefix.rstrip("/!")
    if not datasets:
        raise _nothing_found(where, len(files))
    choices = _choice_names(datasets)
    chosen_layer: str | None = None
    if layer is not None:
        matches = _match_datasets(layer, datasets)
        if len(matches) == 1:
            chosen = matches[0]
        elif not matches and len(datasets) == 1 and _suffix(datasets[0]) in _CONTAINERS:
            chosen, chosen_layer = datasets[0], layer
        else:
            shown = [choices[rel] for rel in (matches or datasets)]
            raise _layer_choice(where, shown, layer)
    elif len(datasets) == 1:
        chosen = datasets[0]
    else:
        raise _layer_choice(where, [choices[rel] for rel in datasets], None)
    chosen_rel = PurePosixPath(chosen)
    parent = chosen_rel.parent.as_posix()
    parent = "" if parent == "." else f"{parent}/"
    return _resolve_file(folder / chosen_rel, original, prefix + parent, chosen_layer, workdir)


def _walk(folder: Path) -> list[str]:
    """Relative ``/``-separated paths of the files under ``folder``, junk left out, sorted."""
    found: list[str] = []
    for top, dirs, names in os.walk(folder):
        rel_top = Path(top).relative_to(folder).as_posix()
        base = "" if rel_top == "." else f"{rel_top}/"
        dirs[:] = sorted(d for d in dirs if not is_junk_name(f"{base}{d}/x"))
        found.extend(base + n for n in names if not is_junk_name(base + n))
    return sorted(found)


def _suffix(rel: str) -> str:
    return PurePosixPath(rel).suffix.lower()


def _without_suffix(rel: str) -> str:
    return PurePosixPath(rel).with_suffix("").as_posix()


def _choice_names(datasets: list[str]) -> dict[str, str]:
    """Display name per dataset: relative path without extension, unless two collide."""
    bare = [_without_suffix(rel) for rel in datasets]
    return {
        rel: (name if bare.count(name) == 1 else rel)
        for rel, name in zip(datasets, bare, strict=True)
    }


def _match_datasets(layer: str, datasets: list[str]) -> list[str]:
    wanted = layer.replace("\\", "/").strip("/").casefold()
    keys = {rel: (PurePosixPath(rel).stem, _without_suffix(rel), rel) for rel in datasets}
    return [rel for rel, names in keys.items() if wanted in {n.casefold() for n in names}]


def _resolve_shapefile(path: Path, original: Path, prefix: str) -> Source:
    parts = shapefile_parts(path)
    shp = path if path.suffix.lower() == ".shp" else parts.get(".shp")
    stem = path.stem
    if shp is None:
        raise _shapefile_incomplete(prefix + path.name, [f"{stem}.shp"])
    missing = [f"{stem}{s}" for s in (".dbf", ".shx") if s not in parts]
    if missing:
        raise _shapefile_incomplete(prefix + shp.name, missing)
    check_shapefile(shp, parts[".shx"], parts[".dbf"], prefix)
    return Source(shp, "shapefile", None, original, prefix + shp.name)


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


def _resolve_gpkg(path: Path, original: Path, display: str, layer: str | None) -> Source:
    names = _ogr_layers(path, display, "GeoPackage")
    chosen = _choose(display, names, layer, _LAYER_WORDS)
    return Source(path, "gpkg", chosen, original, display)


def _resolve_xlsx(path: Path, original: Path, display: str, layer: str | None) -> Source:
    filled = _filled_sheets(path, display)
    chosen = _choose(display, filled, layer, ("有数据的工作表", "sheet with data rows", "sheets"))
    return Source(path, "xlsx", chosen, original, display)


def _filled_sheets(path: Path, display: str) -> list[str]:
    """Names of the worksheets with a header and at least one data row."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _unreadable(display, "Excel (.xlsx)", exc) from exc
    try:
        for title in book.sheetnames:
            check_not_classified(f"{display}!{title}")
        return [ws.title for ws in book.worksheets if _has_data_row(ws.iter_rows(values_only=True))]
    finally:
        book.close()


def _has_data_row(rows: Iterable[tuple[object, ...]]) -> bool:
    """True when at least two rows are non-empty (a header and one data row)."""
    seen = 0
    for row in rows:
        if any(v is not None and str(v).strip() for v in row):
            seen += 1
            if seen == 2:
                return True
    return False


def _choose(display: str, names: list[str], layer: str | None, what: tuple[str, str, str]) -> str:
    """Pick one of ``names`` (layers or sheets) for ``layer`` (case-insensitive).

    ``what`` names the kind of item: Chinese, English singular, English plural.
    """
    what_zh, what_en, what_plural = what
    if not names:
        raise _source_error(
            "source.no_layers",
            f"“{display}”中没有可读取的{what_zh}；应至少有一个。请检查文件内容后重新导出。",
            f"'{display}' has no readable {what_en}; at least one is expected. Check the"
            " file's content and export it again.",
        )
    if layer is not None:
        matches = [n for n in names if n.casefold() == layer.casefold()]
        if len(matches) != 1:
            raise _layer_choice(display, names, layer, (what_zh, what_plural))
        return matches[0]
    if len(names) > 1:
        raise _layer_choice(display, names, None, (what_zh, what_plural))
    return names[0]


# --- hashing ------------------------------------------------------------------------------


def source_sha256(path: Path) -> str:
    """SHA-256 (hex) of the original input, for the import report and the audit log.

    A plain file hashes to the same value as ``sha256sum``. A shapefile given as its
    ``.shp`` (or ``.dbf``/``.shx``) hashes over all its parts in sorted order of their
    endings; a folder hashes over all its files (junk left out) in sorted order of their
    relative paths. Each part contributes its ending or relative path, its size and its
    bytes, so the result does not depend on the shapefile's stem.

    Raises
    ------
    SourceError
        The path does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise _missing_path(path)
    if path.is_dir():
        return _hash_parts((rel, path / rel) for rel in _walk(path))
    if path.suffix.lower() in (".shp", ".dbf", ".shx"):
        return _hash_parts(sorted(shapefile_parts(path).items()))
    digest = hashlib.sha256()
    _feed(digest, path)
    return digest.hexdigest()


def _hash_parts(parts: Iterable[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for label, file in parts:
        digest.update(label.encode("utf-8") + b"\0")
        digest.update(file.stat().st_size.to_bytes(8, "big"))
        _feed(digest, file)
    return digest.hexdigest()


def _feed(digest: hashlib._Hash, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)


# --- helpers and messages -----------------------------------------------------------------


def _source_error(code: str, zh: str, en: str) -> SourceError:
    return SourceError(Message(code, zh, en))


def _fresh_dir(workdir: Path, kind: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))


def _missing_path(path: Path) -> SourceError:
    return _source_error(
        "source.missing",
        f"输入路径“{path}”不存在；应为已有的文件或文件夹（{_SUPPORTED_ZH}）。"
        "请检查路径和拼写；路径含空格时请加引号。",
        f"Input '{path}' does not exist; expected an existing file or folder"
        f" ({_SUPPORTED_EN}). Check the path and its spelling, and quote it if it"
        " contains spaces.",
    )


def _unsupported(display: str, suffix: str) -> SourceError:
    got = suffix or "（无扩展名）"
    got_en = suffix or "(no extension)"
    return _source_error(
        "source.unsupported_format",
        f"“{display}”的格式 {got} 不受支持；支持的格式：{_SUPPORTED_ZH}，或其 .zip 压缩包。"
        "请另存为其中一种格式后再导入。",
        f"'{display}' has format {got_en}, which is not supported; supported formats:"
        f" {_SUPPORTED_EN}, or a .zip of them. Save it in one of these formats and import"
        " it again.",
    )


def _old_excel(display: str) -> SourceError:
    return _source_error(
        "source.old_excel",
        f"“{display}”是旧版 Excel（.xls），不受支持；应为 .xlsx。"
        "请在 Excel 或 WPS 中“另存为” .xlsx 后再导入。",
        f"'{display}' is an old Excel workbook (.xls), which is not supported; .xlsx is"
        " expected. Open it in Excel or WPS, save it as .xlsx and import that.",
    )


def _other_archive(display: str, suffix: str) -> SourceError:
    return _source_error(
        "source.archive_format",
        f"“{display}”是 {suffix} 压缩包，不受支持；只接受 .zip（和 .kmz）。"
        "请先解压后导入其中的文件，或重新压缩为 .zip。",
        f"'{display}' is a {suffix} archive, which is not supported; only .zip (and .kmz)"
        " archives are accepted. Extract it and import the inner file, or re-pack it as"
        " .zip.",
    )


def _nothing_found(where: str, n_files: int) -> SourceError:
    return _source_error(
        "source.no_dataset",
        f"“{where}”中的 {n_files} 个文件里没有可导入的数据；支持的格式：{_SUPPORTED_ZH}。"
        "请确认放入了完整的数据文件。",
        f"'{where}' holds {n_files} files but no dataset that can be imported; supported"
        f" formats: {_SUPPORTED_EN}. Check that the complete data files are there.",
    )


def _layer_choice(
    where: str,
    choices: list[str],
    layer: str | None,
    what: tuple[str, str] = ("数据图层", "datasets"),
) -> LayerChoiceError:
    """``what`` names the items in Chinese and in English (plural)."""
    listed = "、".join(choices)
    listed_en = ", ".join(choices)
    if layer is None:
        zh_head = f"“{where}”中有多个{what[0]}：{listed}；需要指定其中一个。"
        en_head = f"'{where}' holds several {what[1]}: {listed_en}; one must be chosen."
    else:
        zh_head = f"“{where}”中没有唯一与“{layer}”对应的{what[0]}；可选：{listed}。"
        en_head = (
            f"'{where}' has no single one of its {what[1]} matching '{layer}';"
            f" choices: {listed_en}."
        )
    return LayerChoiceError(
        Message(
            "source.choose_layer",
            f"{zh_head}请用 --layer 名称 指定，例如 --layer {choices[0]}。",
            f"{en_head} Pass --layer NAME, e.g. --layer {choices[0]}.",
        ),
        choices,
    )


_PART_ROLES = {".shp": ("几何", "geometry"), ".dbf": ("属性表", "attribute table")}


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
    return _source_error(
        "source.shapefile_incomplete",
        f"Shapefile“{display}”不完整：同一文件夹中缺少 {zh}。Shapefile 由多个文件组成，"
        "必须放在一起：请把所有组成文件（.shp .shx .dbf .prj .cpg）一起复制，"
        f"或打包成 .zip 发送。{shx_zh}",
        f"Shapefile '{display}' is incomplete: {en} is missing from the same folder. A"
        " shapefile is several files that must stay together: copy all parts of the"
        f" shapefile (.shp .shx .dbf .prj .cpg) together, or send it zipped.{shx_en}",
    )


def _unreadable(display: str, kind: str, exc: Exception) -> SourceError:
    return _source_error(
        "source.unreadable",
        f"“{display}”无法作为 {kind} 打开（{exc}）；应为有效的 {kind} 文件。"
        "请确认文件完整、扩展名与内容一致，必要时重新导出。",
        f"'{display}' cannot be opened as {kind} ({exc}); a valid {kind} file is"
        " expected. Check that the file is complete and its extension matches its"
        " content, and export it again if needed.",
    )
