from __future__ import annotations

import random
import struct
import zipfile
from pathlib import Path

import pytest

from layers import archive
from layers.archive import decode_member_name, member_names, safe_extract
from layers.errors import ArchiveError

# --- builders -----------------------------------------------------------------------------

_CENTRAL_DIR = b"PK\x01\x02"
_CD_FLAGS = 8  # offsets inside a central directory record
_CD_METHOD = 10
_CD_FILE_SIZE = 24


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    """A deflated zip; names are written as zipfile does (UTF-8 flag for non-ASCII)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _zip_raw_names(path: Path, members: dict[str, bytes], encoding: str) -> Path:
    """A zip whose names are raw ``encoding`` bytes without the UTF-8 flag (as Chinese
    Windows writes them): written under ASCII placeholders of the same byte length, then
    the placeholders are replaced in the local headers and the central directory."""
    raw_names = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i, (name, data) in enumerate(members.items()):
            raw = name.encode(encoding)
            placeholder = f"P{i}".ljust(len(raw), "_").encode("ascii")
            raw_names[placeholder] = raw
            zf.writestr(placeholder.decode("ascii"), data)
    blob = path.read_bytes()
    for placeholder, raw in raw_names.items():
        assert blob.count(placeholder) == 2
        blob = blob.replace(placeholder, raw)
    path.write_bytes(blob)
    return path


def _patch_central_dir(path: Path, index: int, offset: int, fmt: str, value: int) -> None:
    """Overwrite one field of the ``index``-th central directory record."""
    blob = bytearray(path.read_bytes())
    start = -1
    for _ in range(index + 1):
        start = blob.index(_CENTRAL_DIR, start + 1)
    struct.pack_into(fmt, blob, start + offset, value)
    path.write_bytes(bytes(blob))


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture(scope="module")
def zeros_50mb_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 MB of zeros in one deflated member (compressed about 1000:1)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("zeros.dbf", bytes(50 * 1024**2))
    return path


# --- extraction ---------------------------------------------------------------------------


def test_extracts_members_into_dest_and_returns_their_paths(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"林班/小班.shp": b"shp", "林班/小班.dbf": b"dbf"})
    dest = tmp_path / "out"
    paths = safe_extract(src, dest)
    root = dest.resolve()
    assert paths == [root / "林班" / "小班.shp", root / "林班" / "小班.dbf"]
    assert [p.read_bytes() for p in paths] == [b"shp", b"dbf"]


def test_skips_directory_entries_and_os_junk(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "a.zip",
        {
            "data/": b"",
            "data/a.shp": b"shp",
            "__MACOSX/data/._a.shp": b"junk",
            "data/.DS_Store": b"junk",
            "data/Thumbs.db": b"junk",
        },
    )
    paths = safe_extract(src, tmp_path / "out")
    assert [p.name for p in paths] == ["a.shp"]
    assert _files_under(tmp_path / "out") == paths


def test_dotdot_that_stays_inside_dest_is_allowed(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"sub/../a.shp": b"shp"})
    assert safe_extract(src, tmp_path / "out") == [(tmp_path / "out" / "a.shp").resolve()]


# --- unsafe members -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../evil.shp", "outside the extraction folder"),
        ("a/../../evil.shp", "outside the extraction folder"),
        ("/tmp/evil.shp", "absolute path"),
        ("C:/evil.shp", "drive letter"),
        ("c:\\evil.shp", "drive letter"),
    ],
)
def test_refuses_member_paths_leaving_dest(tmp_path: Path, name: str, match: str) -> None:
    src = _zip(tmp_path / "a.zip", {"ok.shp": b"ok", name: b"evil"})
    dest = tmp_path / "deep" / "out"
    with pytest.raises(ArchiveError, match=f"a.zip.*{match}") as info:
        safe_extract(src, dest)
    assert name.replace("\\", "/") in str(info.value)
    assert _files_under(tmp_path) == [src]


def test_refuses_symlink_member(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link.shp")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    src = tmp_path / "a.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match=r"'link.shp' is a symbolic link"):
        safe_extract(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("inner", ["inner.zip", "doc.kmz", "a.7z", "a.rar", "a.tar.gz", "a.tgz"])
def test_refuses_nested_archive(tmp_path: Path, inner: str) -> None:
    src = _zip(tmp_path / "a.zip", {f"data/{inner}": b"PK"})
    with pytest.raises(ArchiveError, match=r"nested archive.*extract it first"):
        safe_extract(src, tmp_path / "out")


def test_refuses_encrypted_member(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"a.shp": b"ciphertext"})
    _patch_central_dir(src, 0, _CD_FLAGS, "<H", 0x1)  # bit 0: encrypted
    with pytest.raises(ArchiveError, match=r"'a.shp' is password-protected"):
        safe_extract(src, tmp_path / "out")


def test_refuses_unreadable_compression_method(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"a.shp": b"shp"})
    _patch_central_dir(src, 0, _CD_METHOD, "<H", 9)  # Deflate64
    with pytest.raises(ArchiveError, match=r"compression method 9.*Deflate"):
        safe_extract(src, tmp_path / "out")


@pytest.mark.parametrize("content", [b"not a zip at all", b""])
def test_refuses_file_that_is_not_a_zip(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "parcels.zip"
    src.write_bytes(content)
    with pytest.raises(ArchiveError, match=r"'parcels.zip' is not a valid zip"):
        safe_extract(src, tmp_path / "out")


def test_refuses_too_many_members(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {f"{i}.csv": b"x" for i in range(4)})
    with pytest.raises(ArchiveError, match=r"has 4 entries, more than the limit of 3"):
        safe_extract(src, tmp_path / "out", max_members=3)


# --- sizes and zip bombs ------------------------------------------------------------------


def test_refuses_declared_total_over_cap(tmp_path: Path, zeros_50mb_zip: Path) -> None:
    with pytest.raises(ArchiveError, match=r"'zeros.dbf' \(the largest\).*50.0 MB.*10.0 MB"):
        safe_extract(zeros_50mb_zip, tmp_path / "out", max_total_bytes=10 * 1024**2)
    assert _files_under(tmp_path / "out") == []


def test_default_ratio_refuses_highly_compressible_member(
    tmp_path: Path, zeros_50mb_zip: Path
) -> None:
    with pytest.raises(ArchiveError, match=r"'zeros.dbf' expands .* times.*zip bomb"):
        safe_extract(zeros_50mb_zip, tmp_path / "out")
    assert _files_under(tmp_path / "out") == []


def test_max_ratio_passed_in_is_applied(tmp_path: Path) -> None:
    # about 2 MB compressing roughly 20:1: fine by default, refused at max_ratio=5
    data = random.Random(0).randbytes(100_000) + bytes(1_900_000)
    src = _zip(tmp_path / "a.zip", {"a.dbf": data})
    assert len(safe_extract(src, tmp_path / "ok")) == 1
    with pytest.raises(ArchiveError, match=r"more than the allowed 5 times"):
        safe_extract(src, tmp_path / "out", max_ratio=5)


def test_refuses_ratio_of_whole_archive(tmp_path: Path) -> None:
    members = {f"{i}.dbf": bytes(900 * 1024) for i in range(3)}  # each below RATIO_MIN_BYTES
    src = _zip(tmp_path / "a.zip", members)
    with pytest.raises(ArchiveError, match=r"\(all members together\).*zip bomb"):
        safe_extract(src, tmp_path / "out")


def test_small_highly_compressible_member_is_accepted(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"a.dbf": bytes(archive.RATIO_MIN_BYTES // 2)})
    assert len(safe_extract(src, tmp_path / "out")) == 1


def test_streamed_bytes_are_capped_when_declared_checks_are_fooled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "_check_sizes", lambda *args: None)
    src = _zip(tmp_path / "a.zip", {"a.cpg": b"UTF-8", "b.dbf": bytes(3 * 1024**2)})
    with pytest.raises(ArchiveError, match=r"'b.dbf' wrote more than the limit of 1.0 MB"):
        safe_extract(src, tmp_path / "out", max_total_bytes=1024**2)
    assert _files_under(tmp_path / "out") == []


def test_member_whose_declared_size_lies_is_refused_and_removed(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"sub/a.cpg": b"UTF-8", "sub/b.dbf": bytes(2 * 1024**2)})
    _patch_central_dir(src, 1, _CD_FILE_SIZE, "<I", 1000)
    with pytest.raises(ArchiveError, match=r"'sub/b.dbf' is damaged"):
        safe_extract(src, tmp_path / "out")
    assert _files_under(tmp_path / "out") == []
    assert not (tmp_path / "out" / "sub").exists()


# --- member names -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_decodes_names_written_without_utf8_flag(tmp_path: Path, encoding: str) -> None:
    members = {"林班/小班.shp": b"shp", "村界（2023年）.dbf": b"dbf"}
    src = _zip_raw_names(tmp_path / "a.zip", members, encoding)
    with zipfile.ZipFile(src) as zf:
        assert not any(i.flag_bits & 0x800 for i in zf.infolist())
        assert [decode_member_name(i) for i in zf.infolist()] == list(members)
    paths = safe_extract(src, tmp_path / "out")
    assert [p.relative_to((tmp_path / "out").resolve()).as_posix() for p in paths] == list(members)


def test_member_names_lists_decoded_names_without_extracting(tmp_path: Path) -> None:
    src = _zip_raw_names(tmp_path / "a.zip", {"涉密/小班.shp": b"", ".DS_Store": b""}, "gbk")
    assert member_names(src) == ["涉密/小班.shp"]
    assert _files_under(tmp_path) == [src]


def test_backslash_separators_become_folders(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"林班\\小班.shp": b"shp"})
    paths = safe_extract(src, tmp_path / "out")
    assert paths == [(tmp_path / "out" / "林班" / "小班.shp").resolve()]
