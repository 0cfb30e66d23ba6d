"""The ``geoservice`` command line: the root app, built from the command modules in the
order their commands are listed by ``geoservice --help``."""

from __future__ import annotations

import typer

from geoservice.cli import (
    analysis,
    campaign,
    demo,
    departments,
    escalations,
    files,
    maps,
    patches,
    patrols,
    problems,
    reports,
    service,
    targets,
    tiles,
    villages,
    workspaces,
)
from geoservice.cli.common import DEMO_FILES

__all__ = ["DEMO_FILES", "app", "build_app", "main"]

# Each module adds its commands; ``--help`` lists the single commands first (import, layers,
# export, sample, analyze, demo, serve), then the groups (problems, targets, campaign,
# villages, report, map, tiles, rules, users, workspace), each in the order they are added here.
_COMMAND_MODULES = (
    files,
    problems,
    targets,
    patches,
    campaign,
    villages,
    patrols,
    escalations,
    reports,
    departments,
    maps,
    tiles,
    analysis,
    demo,
    service,
    workspaces,
)


def build_app() -> typer.Typer:
    """The root ``geoservice`` app with every command and command group added."""
    root = typer.Typer(
        name="geoservice",
        help="林长制联合执法规划工具 / Forest-chief enforcement planning.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module in _COMMAND_MODULES:
        module.register(root)
    return root


app = build_app()


def main() -> None:
    """The ``geoservice`` console script and ``python -m geoservice``."""
    app()
