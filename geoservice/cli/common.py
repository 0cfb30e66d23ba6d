"""What every command of the ``geoservice`` command line shares.

A command body reads::

    with command(workspace, lang, as_json) as cmd:
        result = do_the_work(cmd.workspace, actor=cmd.settings.user, lang=cmd.lang)
        cmd.emit(result.to_dict(), lambda: cmd.say(cmd.text("中文", "English")))

:func:`command` loads the settings (the command's options over the environment), checks
the workspace, and turns any user error raised in the body into one line on stderr and
exit status 2 (plus one JSON object on stdout under ``--json``). The :class:`Command` it
yields carries the settings, the language and the output mode.

Only the CLI (``geoservice.cli``) imports typer and rich.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, NoReturn

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console

from geoservice.base.settings import Settings
from layers.errors import MessageError
from layers.messages import Lang, pick

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
"""Results: tables and report lines, on stdout."""
err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Errors, warnings and progress, on stderr."""

LangOpt = Annotated[str | None, typer.Option("--lang", help="zh (default) or en")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="workspace .gpkg (default: GEOSERVICE_WORKSPACE)"),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="date YYYY-MM-DD (default today)")]
RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="rules YAML overriding the defaults")
]

WorkspaceUse = Literal["existing", "optional", "none"]


def print_json(data: Any) -> None:
    """``data`` as indented UTF-8 JSON on stdout (dates and paths as strings)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(text: str, as_json: bool, code: str = "usage") -> NoReturn:
    """``text`` on stderr (and as ``{"error": ...}`` on stdout under ``--json``); exit 2."""
    err.print(text, markup=False)
    if as_json:
        sys.stdout.write(
            json.dumps({"error": {"code": code, "message": text}}, ensure_ascii=False) + "\n"
        )
    raise typer.Exit(2)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts: missing values None, dates ``YYYY-MM-DD``."""
    clean = frame.astype(object).where(frame.notna(), None)
    for col in clean.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            clean[col] = (
                frame[col].dt.strftime("%Y-%m-%d").astype(object).where(frame[col].notna(), None)
            )
    return clean.to_dict("records")


@dataclass
class Command:
    """A running command: its settings, its language and whether it prints JSON.

    Attributes
    ----------
    settings : Settings
        The environment's settings with the command's ``--workspace`` and ``--lang``.
    as_json : bool
        ``--json`` was given: results and errors are printed as JSON.
    """

    settings: Settings
    as_json: bool = False

    @property
    def lang(self) -> Lang:
        """The language of every text the command prints."""
        return self.settings.lang

    @functools.cached_property
    def workspace(self) -> Workspace:
        """The workspace GeoPackage of the settings."""
        from geoservice.base.workspace import Workspace

        return Workspace(self.settings.workspace)

    def office(self, by: str | None = None) -> Principal:
        """The forest-chief office as the CLI acts (whoever holds the workspace file),
        named ``by`` or else the settings' user."""
        from geoservice.base.access import Principal

        return Principal(user_id="cli", name=by or self.settings.user, role="office")

    def text(self, zh: str, en: str) -> str:
        """The Chinese or English text for the command's language."""
        return pick(self.lang, zh, en)

    def say(self, text: str) -> None:
        """One result line on stdout, printed as it is (no rich markup)."""
        out.print(text, markup=False)

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        """Print ``data`` as JSON under ``--json``, otherwise call ``render`` to print text."""
        if self.as_json:
            print_json(data)
        else:
            render()

    def fail(self, text: str, code: str = "usage") -> NoReturn:
        """Stop the command: ``text`` on stderr (and as JSON under ``--json``), exit 2."""
        fail(text, self.as_json, code)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """A user error (or Ctrl+C) in the block becomes one line on stderr and exit 2."""
        try:
            yield
        except MessageError as exc:
            self.fail(self.text("错误：", "Error: ") + exc.text(self.lang), exc.code)
        except KeyboardInterrupt:
            self.fail(
                self.text("已中断，工作空间未改变。", "Interrupted; the workspace is unchanged.")
            )

    @contextmanager
    def spinner(self, text: str) -> Iterator[None]:
        """A progress spinner on a terminal's stderr; nothing under ``--json`` or in a pipe."""
        if self.as_json or not err.is_terminal:
            yield
            return
        with err.status(text):
            yield

    def date_option(self, value: str | None, option: str) -> date | None:
        """A ``YYYY-MM-DD`` option value (None stays None); a one-line error otherwise."""
        if value is None:
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            self.fail(
                self.text(
                    f"错误：--{option} 为“{value}”，应为 YYYY-MM-DD 格式的日期，如 2026-11-28。",
                    f"Error: `{option}` was {value!r} but is expected to be a date YYYY-MM-DD, "
                    "e.g. 2026-11-28.",
                )
            )

    def as_of(self, value: str | None) -> date:
        """The ``--as-of`` date, today when not given."""
        return self.date_option(value, "as-of") or date.today()


def load_settings(workspace: Path | None, lang: str | None, as_json: bool) -> Settings:
    """The settings with the command's options; a one-line error when they are invalid."""
    overrides: dict[str, Any] = {}
    if workspace is not None:
        overrides["workspace"] = workspace
    if lang is not None:
        overrides["lang"] = lang
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(f"错误 / error: {problems}", as_json)


def check_workspace(path: Path, use: WorkspaceUse) -> None:
    """Raise the workspace error when ``path`` is not what the command needs (see ``use``)."""
    from geoservice.base.workspace import Workspace
    from geoservice.base.workspace_file import check_workspace_file

    if use == "existing":
        Workspace(path).require()
    elif use == "optional":
        check_workspace_file(path)


@contextmanager
def command(
    workspace: Path | None,
    lang: str | None,
    as_json: bool = False,
    *,
    use: WorkspaceUse = "existing",
) -> Iterator[Command]:
    """Run a command body: settings, workspace check, user errors as one line and exit 2.

    Parameters
    ----------
    workspace, lang, as_json
        The command's ``--workspace``, ``--lang`` and ``--json`` options.
    use
        What the command needs of the workspace: ``existing`` a GeoPackage that exists;
        ``optional`` a GeoPackage or a path that does not exist yet (an import creates it);
        ``none`` nothing (the command does not open it).
    """
    cmd = Command(load_settings(workspace, lang, as_json), as_json)
    with cmd.guard():
        check_workspace(cmd.settings.workspace, use)
        yield cmd


class DemoFile(NamedTuple):
    """One file of the sample town, in the order the demo imports it, and how."""

    kind: str
    name: str
    parcel_kind: str | None = None
    crs: str | None = None
    mode: str = "replace"

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``geoservice.files.importing.import_file`` for this file."""
        return {"parcel_kind": self.parcel_kind, "crs": self.crs, "mode": self.mode}


DEMO_FILES: tuple[DemoFile, ...] = (
    DemoFile("villages", "villages.shp"),
    DemoFile("parcels", "xiaoban.shp", "forest"),
    DemoFile("parcels", "wetlands.shp", "wetland"),
    DemoFile("complaints", "complaints.csv"),
    # complaints sent through the WeChat mini-program: web-map (GCJ-02) coordinates
    DemoFile("complaints", "complaints_wechat.csv", crs="GCJ-02", mode="append"),
    DemoFile("patches", "patches.shp"),
    DemoFile("problems", "problems.xlsx"),
)
