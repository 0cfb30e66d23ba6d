"""Resolve what the user gave (a file, a folder, a zip) into one readable dataset.

A planner may hand over a shapefile's ``.shp`` or ``.dbf``, the folder it sits in, a zip
sent by e-mail, a KMZ from a GPS app, a GeoPackage with several layers or an Excel workbook
with several sheets. :func:`resolve_source` turns any of these into one :class:`Source`:
the concrete file to open, its format and, for containers, the layer or sheet.

Data marked as classified (涉密, 秘密, 机密, 绝密) is refused as soon as a name shows the
mark, before anything is extracted or opened further (:mod:`layers.classified`). The
parts of a shapefile are found and checked by :mod:`layers.shapefile_parts`; the layer or
sheet of a container is chosen by :mod:`layers.containers`. :func:`source_sha256` hashes
the original input for the report and the audit log.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from layers.archive import NESTED_ARCHIVE_SUFFIXES, is_junk_name, member_names, safe_extract
from layers.classified import check_not_classified
from layers.containers import (
    LAYER_WORDS,
    SHEET_WORDS,
    choose,
    filled_sheets,
    layer_choice_error,
    ogr_layers,
)
from layers.errors import SourceError
from layers.messages import Message
from layers.shapefile_parts import complete_shapefile, shapefile_parts

Format = Literal["shapefile", "gpkg", "geojson", "kml", "csv", "xlsx"]

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
    chosen = choose(display, ogr_layers(path, display, "KML"), layer, LAYER_WORDS)
    return Source(path, "kml", chosen, original, display)


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
            raise layer_choice_error(where, shown, layer)
    elif len(datasets) == 1:
        chosen = datasets[0]
    else:
        raise layer_choice_error(where, [choices[rel] for rel in datasets], None)
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
    shp = complete_shapefile(path, prefix)
    return Source(shp, "shapefile", None, original, prefix + shp.name)


def _resolve_gpkg(path: Path, original: Path, display: str, layer: str | None) -> Source:
    names = ogr_layers(path, display, "GeoPackage")
    chosen = choose(display, names, layer, LAYER_WORDS)
    return Source(path, "gpkg", chosen, original, display)


def _resolve_xlsx(path: Path, original: Path, display: str, layer: str | None) -> Source:
    filled = filled_sheets(path, display)
    chosen = choose(display, filled, layer, SHEET_WORDS)
    return Source(path, "xlsx", chosen, original, display)


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
