"""The command line: ``oduflow`` serves MCP; subcommands administer; ``oduflow call`` runs tools.

Every command that does work runs a tool of the catalog (the admin ones are in
:mod:`oduflow.surfaces.cli_admin`); :class:`OduflowGroup` maps errors once: a message, no
traceback, exit 1.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from typing import Annotated, Any

import typer

from oduflow import __version__
from oduflow.errors import ValidationError
from oduflow.surfaces import cli_admin
from oduflow.surfaces.cli_common import OduflowGroup, TeamOpt, emit, make_app, run_tool
from oduflow.toolspec import ToolSpec

cli = typer.Typer(
    cls=OduflowGroup,
    add_completion=False,
    no_args_is_help=False,
    help="Per-branch throw-away Odoo environments on Docker, for AI agents over MCP. "
    "Without a command: serve MCP over HTTP at [server].host:port/mcp.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"oduflow {__version__}")
        raise typer.Exit()


@cli.callback(invoke_without_command=True)
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


@cli.command()
def plugins(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List loaded plugins: name, distribution, version, hooks, built-in or not, and the
    settings of their ``[plugins.NAME]`` tables with this configuration's values (secrets masked)."""
    from oduflow.config import load
    from oduflow.plugins import get_plugin_manager, list_plugins

    infos = list_plugins(get_plugin_manager(), load())
    if as_json:
        emit([p.to_dict() for p in infos])
        return
    for p in infos:
        kind = "built-in" if p.builtin else "third-party"
        typer.echo(f"{p.name:18} {p.distribution} {p.version:8} [{kind}] {', '.join(p.hooks)}")
        for key, value in p.settings.items():
            typer.echo(f"{'':18}   [plugins.{p.name}] {key} = {json.dumps(value)}")


@cli.command("list")
def list_tools(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="With descriptions and the operator-only tools.")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the tools reference (docs/tools.md).")
    ] = False,
) -> None:
    """List the agent tools with their parameters (--verbose: with descriptions)."""
    from oduflow.docgen import tools_reference

    catalog = make_app().catalog
    if markdown:
        typer.echo(tools_reference(catalog), nl=False)
        return
    for spec in catalog.all() if verbose else catalog.all(audience="agent"):
        lock = f" [lock: {spec.lock}]" if spec.lock != "none" else ""
        operator = " [operator-only: not on MCP]" if spec.audience == "operator" else ""
        typer.echo(f"{spec.signature_text()}{lock}{operator}")
        if verbose:
            typer.echo("    " + spec.description.replace("\n", "\n    ") + "\n")


# --- oduflow call -------------------------------------------------------------------------------
def parse_call_args(spec: ToolSpec, args: list[str]) -> dict[str, Any]:
    """One JSON object, or positional strings mapped to parameters in order (uncoerced: the
    catalog validates and coerces); ``""`` keeps a parameter's default."""
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
    return {
        param.name: raw
        for param, raw in zip(params, args, strict=False)
        if raw != "" or param.default is inspect.Parameter.empty  # as in `create_environment dev "" URL`
    }


@cli.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def call(
    tool: Annotated[str | None, typer.Argument(help="Tool name (omit to list tools).")] = None,
    args: Annotated[list[str] | None, typer.Argument(help="Arguments in order, or one JSON object.")] = None,
    team: TeamOpt = "1",
) -> None:
    """Call a tool directly: positional arguments in order, or one JSON object."""
    if tool is None:
        list_tools(verbose=False, markdown=False)
        return
    spec = make_app().catalog.get(tool)
    if spec.audience != "agent":
        raise ValidationError(f"'{tool}' is an operator tool: run its own command (oduflow --help)")
    emit(run_tool(team, spec.name, parse_call_args(spec, list(args or []))))


cli.registered_commands.extend(cli_admin.admin.registered_commands)  # after plugins, list, call


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
