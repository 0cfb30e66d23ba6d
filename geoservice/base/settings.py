"""Settings: one pydantic-settings class, environment prefix ``GEOSERVICE_``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pyproj
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def check_public_url(value: str | None) -> str | None:
    """``value`` without a trailing slash when it is ``http(s)://host[:port][/path]``."""
    if value is None or value.strip() == "":
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(
            f"GEOSERVICE_PUBLIC_URL was {value!r} but is expected to be the address people "
            "open the service at, http(s)://host[:port] with no query, e.g. "
            "http://192.168.1.20:8000"
        )
    return value.strip().rstrip("/")


class Settings(BaseSettings):
    """Service and CLI settings.

    Every field can be set from the environment, e.g. ``GEOSERVICE_WORKSPACE=town.gpkg``.

    Attributes
    ----------
    workspace : Path
        The workspace GeoPackage.
    crs : str or None
        The workspace's projected CRS in metres (``EPSG:4546``); when unset, the first
        projected layer imported decides it.
    rules : Path or None
        A YAML file overriding the default analysis rules (weights, thresholds,
        routing); when unset, ``<workspace stem>.rules.yaml`` beside the workspace is used
        if it exists.
    tianditu_key : str or None
        Key for the 天地图 Tianditu basemaps (``GEOSERVICE_TIANDITU_KEY``); never written into
        a map file unless an online basemap is explicitly allowed.
    lang : {"zh", "en"}
        Language of user-facing text.
    user : str
        Who is acting, written to the catalog and the audit log.
    max_body_mb : int
        The web service refuses request bodies larger than this (MB), with 413.
    max_photo_mb : int
        Largest evidence photo accepted (MB).
    evidence_dir : Path or None
        Where evidence photos are kept; default ``<workspace stem>.evidence`` beside the
        workspace.
    public_url : str or None
        The address people and programs use to reach the service, e.g.
        ``http://192.168.1.20:8000`` or ``https://linzhang.example.gov.cn``: absolute links
        (OGC API) are built from it and the sign-in cookie is only honoured for changes
        whose ``Origin`` / ``Referer`` is this address. When unset, the address the server
        itself listens on (its socket, never the ``Host`` header) is used.
    trusted_proxies : list of str
        Addresses of reverse proxies whose ``X-Forwarded-For`` / ``-Proto`` headers are
        believed (``GEOSERVICE_TRUSTED_PROXIES=10.0.0.5,10.0.0.6``; ``*`` for any).
        Default none: the audit log records the socket's peer address.
    max_note_chars : int
        Longest note of a status change or rectification report (characters); longer is
        refused with 422. A real note is a few hundred characters.
    max_text_chars : int
        Longest problem description or complaint text (characters); a hotline complaint is
        at most a few hundred characters (the sample town's are under 50).
    max_field_chars : int
        Longest short text field of a request (village, category, campaign, CRS, phone,
        date, layer options), in characters.
    max_import_rows : int
        Most rows (lines of a CSV) a CSV or XLSX import may hold; counted before the sheet
        is read. A county's 小班 layer has about 200,000.
    max_import_cells : int
        Most cells an XLSX sheet may hold, counted before it is read: 20 million, a
        million rows of 20 columns (a county's 小班 layer, 200,000 × 40, is 8 million).
    auth_failures : int
        Failed sign-ins or tokens a client address may have in one window; its next
        requests that need a token get 429 with ``Retry-After`` until the window ends.
    auth_window_s : int
        Length of that window in seconds, from the address's first failure.
    telemetry : bool
        OpenTelemetry spans, metrics and logs of every request (FastAPI's own
        instrumentation), for an office whose IT collects them: they go to the providers
        configured in the process (e.g. by ``opentelemetry-instrument``). Off by default:
        the service then does not look for a provider on each request, which cost about
        2 % of its CPU under 50 field clients.
    """

    model_config = SettingsConfigDict(env_prefix="GEOSERVICE_", extra="ignore")

    workspace: Path = Path("workspace.gpkg")
    crs: str | None = None
    rules: Path | None = None
    tianditu_key: str | None = None
    lang: Literal["zh", "en"] = "zh"
    user: str = Field(default_factory=_default_user)
    max_body_mb: int = Field(default=200, ge=1, le=4096)
    max_photo_mb: int = Field(default=10, ge=1, le=100)
    evidence_dir: Path | None = None
    public_url: str | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_note_chars: int = Field(default=2000, ge=1, le=1_000_000)
    max_text_chars: int = Field(default=5000, ge=1, le=1_000_000)
    max_field_chars: int = Field(default=200, ge=1, le=100_000)
    max_import_rows: int = Field(default=1_000_000, ge=1)
    max_import_cells: int = Field(default=20_000_000, ge=1)
    auth_failures: int = Field(default=10, ge=1, le=10_000)
    auth_window_s: int = Field(default=300, ge=1, le=86_400)
    telemetry: bool = False

    @field_validator("workspace", mode="before")
    @classmethod
    def _not_a_database_url(cls, value: object) -> object:
        text = str(value) if isinstance(value, str | Path) else ""
        if text.lower().startswith(("postgresql:", "postgres:")):
            raise ValueError(
                f"GEOSERVICE_WORKSPACE was {text!r}, a PostgreSQL database, but the service "
                "and its commands work on a GeoPackage workspace; make one from a PostGIS "
                "copy with: geoservice workspace copy 'postgresql://user@host/db?schema=NAME' "
                "town.gpkg"
            )
        return value

    @field_validator("workspace")
    @classmethod
    def _gpkg_suffix(cls, value: Path) -> Path:
        if value.suffix.lower() != ".gpkg":
            raise ValueError(
                f"GEOSERVICE_WORKSPACE was {str(value)!r} but is expected to be a GeoPackage "
                "file ending in .gpkg, e.g. town.gpkg"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return check_public_url(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("crs")
    @classmethod
    def _projected_metres(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            crs = pyproj.CRS.from_user_input(value)
        except pyproj.exceptions.CRSError as exc:
            raise ValueError(
                f"GEOSERVICE_CRS was {value!r}, which is not a CRS ({exc}); expected an EPSG "
                "code such as EPSG:4546"
            ) from exc
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if not crs.is_projected or unit not in ("metre", "meter"):
            raise ValueError(
                f"GEOSERVICE_CRS was {value!r} but the workspace needs a projected CRS in "
                "metres, such as EPSG:4546 (CGCS2000 / 3-degree Gauss-Kruger CM 111E)"
            )
        return value

    @property
    def max_photo_bytes(self) -> int:
        """The largest photo accepted, in bytes (``max_photo_mb`` MiB)."""
        return self.max_photo_mb * 1024 * 1024

    def evidence_path(self) -> Path:
        """The folder of evidence photos (the setting, else beside the workspace)."""
        if self.evidence_dir is not None:
            return self.evidence_dir
        return self.workspace.with_name(self.workspace.stem + ".evidence")

    def rules_path(self) -> Path | None:
        """The rules override in force: the setting, else the one beside the workspace."""
        if self.rules is not None:
            return self.rules
        beside = self.workspace.with_name(self.workspace.stem + ".rules.yaml")
        return beside if beside.is_file() else None
