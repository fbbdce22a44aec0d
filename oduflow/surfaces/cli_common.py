"""What every command of the command line shares: the error mapping, the app, output and
running a catalog tool."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from oduflow.app import App
from oduflow.config import load
from oduflow.errors import OduflowError

if TYPE_CHECKING:
    from typer._click.core import Context  # typer's own click, which TyperGroup subclasses

TeamOpt = Annotated[str, typer.Option("--team", help="Team id from oduflow.toml.")]


class OduflowGroup(TyperGroup):
    """The one mapping of the error tree on the command line: ``error: Type: message`` on
    stderr and exit 1, no traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except OduflowError as exc:
            typer.echo(f"error: {exc.type_name}: {exc}", err=True)
            raise typer.Exit(1) from None


def progress(message: str) -> None:
    """Progress messages go to stderr, the result to stdout."""
    typer.echo(f"… {message}", err=True)


def make_app() -> App:
    return App(load())


def emit(result: Any) -> None:
    """Print a tool result: text as is, anything else as indented JSON."""
    if isinstance(result, str):
        typer.echo(result)
    else:
        typer.echo(json.dumps(result, indent=2, default=str))


def run_tool(team: str | None, name: str, arguments: Mapping[str, Any]) -> Any:
    """Run catalog tool ``name`` for ``team`` with raw ``arguments`` (the catalog validates).

    ``team=None`` (system-wide tools): the first team of the configuration takes the slot.
    """
    app = make_app()
    caller = app.config.team(team) if team is not None else next(iter(app.config.teams.values()))
    return app.catalog.invoke(app, caller, name, arguments, progress)
