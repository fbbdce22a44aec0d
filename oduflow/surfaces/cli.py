"""The command line: ``oduflow`` serves MCP; subcommands administer; ``oduflow call`` runs tools.

Commands are thin wrappers over the service layer and the tool catalog. Errors print a
message (no traceback) and exit non-zero.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import sys
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import typer

from oduflow import __version__, catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import OduflowError, ValidationError

F = TypeVar("F", bound=Callable[..., Any])

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="Per-branch throw-away Odoo environments on Docker, for AI agents over MCP. "
    "Without a command: serve MCP over HTTP at [server].host:port/mcp.",
)

TeamOpt = Annotated[str, typer.Option("--team", help="Team id from oduflow.toml.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Print :class:`OduflowError` as a message and exit 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OduflowError as exc:
            raise fail(f"{exc.type_name}: {exc}") from None

    return wrapper  # type: ignore[return-value]


def progress(message: str) -> None:
    typer.echo(f"… {message}", err=True)


def make_app() -> App:
    return App(load())


def emit(result: Any) -> None:
    if isinstance(result, str):
        typer.echo(result)
    else:
        typer.echo(json.dumps(result, indent=2, default=str))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"oduflow {__version__}")
        raise typer.Exit()


@cli.callback(invoke_without_command=True)
@handle_errors
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    transport: Annotated[str, typer.Option(help="MCP transport: http or stdio.")] = "http",
    host: Annotated[str | None, typer.Option(help="Bind address (default [server].host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default [server].port).")] = None,
    team: Annotated[str, typer.Option(help="Team served over stdio.")] = "1",
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from oduflow.surfaces.serve import serve

    serve(make_app(), transport=transport, host=host, port=port, stdio_team=team)


# --- system ---------------------------------------------------------------------------------
@cli.command()
@handle_errors
def init() -> None:
    """Create the shared Docker network, PostgreSQL container and every team's directories."""
    from oduflow.services import system

    result = system.bootstrap(progress)
    emit(result)
    typer.echo("initialised" if result["changed"] else "already initialised: nothing changed", err=True)


@cli.command()
@handle_errors
def destroy() -> None:
    """Remove the shared infrastructure (refuses while environments exist)."""
    from oduflow.services import system

    emit(system.destroy(make_app(), progress))


@cli.command()
@handle_errors
def plugins(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List loaded plugins: name, distribution, version, hooks, built-in or not."""
    from oduflow.plugins import get_plugin_manager, list_plugins

    infos = list_plugins(get_plugin_manager())
    if as_json:
        emit([p.to_dict() for p in infos])
        return
    for p in infos:
        kind = "built-in" if p.builtin else "third-party"
        typer.echo(f"{p.name:18} {p.distribution} {p.version:8} [{kind}] {', '.join(p.hooks)}")


@cli.command("list")
def list_tools(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """List every tool with its parameters (--verbose: with descriptions)."""
    from oduflow.surfaces.mcp import tool_signature_text

    for spec in catalog.all_tools():
        lock = f" [lock: {spec.lock}]" if spec.lock != "none" else ""
        typer.echo(f"{tool_signature_text(spec)}{lock}")
        if verbose:
            typer.echo("    " + spec.description.replace("\n", "\n    ") + "\n")


# --- oduflow call -------------------------------------------------------------------------------
def _base_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else str
    return annotation


def coerce(name: str, annotation: Any, raw: str) -> Any:
    """Cast a command-line string to the parameter's type (int, float, bool, str, Literal)."""
    kind = _base_type(annotation)
    try:
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise ValidationError(f"parameter '{name}' expects {kind.__name__}, got {raw!r}") from None
    if typing.get_origin(kind) is Literal and raw not in typing.get_args(kind):
        raise ValidationError(
            f"parameter '{name}' expects one of {', '.join(map(str, typing.get_args(kind)))}, got {raw!r}"
        )
    return raw


def parse_call_args(spec: catalog.ToolSpec, args: list[str]) -> dict[str, Any]:
    """One JSON object, or positional strings mapped to parameters in order."""
    if len(args) == 1 and args[0].lstrip().startswith("{"):
        try:
            data = json.loads(args[0])
        except ValueError as exc:
            raise ValidationError(f"invalid JSON arguments: {exc}") from None
        if not isinstance(data, dict):
            raise ValidationError("JSON arguments must be an object")
        return data
    params = spec.parameters
    if len(args) > len(params):
        raise ValidationError(f"{spec.name} takes at most {len(params)} argument(s), got {len(args)}")
    out: dict[str, Any] = {}
    for param, raw in zip(params, args, strict=False):
        if raw == "" and param.default is not inspect.Parameter.empty:
            continue  # "" keeps the default, as in `create_environment dev "" URL IMAGE`
        out[param.name] = coerce(param.name, param.annotation, raw)
    return out


@cli.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def call(
    tool: Annotated[str | None, typer.Argument(help="Tool name (omit to list tools).")] = None,
    args: Annotated[list[str] | None, typer.Argument(help="Arguments in order, or one JSON object.")] = None,
    team: TeamOpt = "1",
) -> None:
    """Call a tool directly: positional arguments in order, or one JSON object."""
    if tool is None:
        list_tools(verbose=False)
        return
    spec = catalog.get_tool(tool)
    app = make_app()
    result = catalog.invoke(
        app, app.config.team(team), spec.name, parse_call_args(spec, list(args or [])), progress
    )
    emit(result)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cli()


from oduflow.surfaces import cli_admin  # noqa: E402,F401 - registers the admin commands

if __name__ == "__main__":  # pragma: no cover
    main()
