"""A throwaway PostgreSQL cluster with PostGIS for the tests that write to PostGIS.

``initdb`` in a temporary folder, started with ``pg_ctl`` on a Unix socket in that
folder (no TCP port), as the ``postgres`` user when the tests run as root (``initdb``
refuses root); stopped and removed after. Missing programs skip the tests with the
install line (or fail them under ``GEOSERVICE_REQUIRE_EXTERNAL=1``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from geoservice.base.postgis_copy import PostgisTarget, parse_target
from tests.conftest import missing

POSTGIS_INSTALL = "apt-get install postgresql postgresql-15-postgis-3"
_PORT = 55433
_USER = "geoservice_test"


def pg_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them out of ``PATH``)."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").is_file():
            return folder
    found = shutil.which("initdb")
    if found is None:
        missing(f"PostgreSQL is not installed; install it with: {POSTGIS_INSTALL}")
    return Path(found).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def cluster(folder: Path) -> Iterator[str]:
    """A running cluster in ``folder`` with a database ``geoservice`` that has PostGIS;
    yields its ``postgresql://`` URL."""
    import psycopg

    bin_ = pg_bin()
    if not any(Path("/usr/share/postgresql").glob("*/extension/postgis.control")):
        missing(f"PostGIS is not installed; install it with: {POSTGIS_INSTALL}")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    _run(_as_postgres([str(bin_ / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust"]))
    options = f"-c listen_addresses='' -k {folder} -p {_PORT} -c fsync=off"
    start = [str(bin_ / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log")]
    _run(_as_postgres([*start, "-w", "start"]))
    try:
        with psycopg.connect(f"host={folder} port={_PORT} user={_USER} dbname=postgres",
                             autocommit=True) as con:  # fmt: skip
            con.execute("CREATE DATABASE geoservice")
        url = f"postgresql://{_USER}@/geoservice?host={folder}&port={_PORT}"
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("CREATE EXTENSION postgis")
        yield url
    finally:
        _run(_as_postgres([str(bin_ / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]))
        shutil.rmtree(folder, ignore_errors=True)


def target(url: str, schema: str) -> PostgisTarget:
    """The PostGIS target of ``schema`` in the database at ``url``."""
    found = parse_target(f"{url}&schema={schema}")
    assert found is not None
    return found
