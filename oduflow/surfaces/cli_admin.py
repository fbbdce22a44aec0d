"""Administration commands: system, templates and maintenance.

Each command runs a catalog tool (operator-only ones from :mod:`oduflow.tools_admin`, or the
agent tools it shares), so it takes the same lock, operation slot and validation as over MCP.
:data:`admin` is merged into the main command line by :mod:`oduflow.surfaces.cli`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from oduflow.errors import ValidationError
from oduflow.surfaces.cli_common import TeamOpt, emit, run_tool

admin = typer.Typer()

TemplateOpt = Annotated[str, typer.Option("--template-name", help="Template profile name.")]


@admin.command()
def init() -> None:
    """Create the shared Docker network, PostgreSQL container and every team's directories."""
    result = run_tool(None, "init", {})
    emit(result)
    typer.echo("initialised" if result["changed"] else "already initialised: nothing changed", err=True)
    strategy = result.get("clone_strategy") or {}
    if strategy:
        typer.echo(f"clone strategy: {strategy['name']} ({strategy['reason']})", err=True)


@admin.command()
def destroy() -> None:
    """Remove the shared infrastructure (refuses while environments exist)."""
    emit(run_tool(None, "destroy", {}))


@admin.command("init-template")
def init_template(
    odoo_image: Annotated[str, typer.Option("--odoo-image", help="Odoo image, e.g. odoo:17.0.")],
    template_name: TemplateOpt = "default",
    modules: Annotated[str, typer.Option(help="Comma-separated modules to install.")] = "base",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing dump/filestore.")] = False,
    team: TeamOpt = "1",
) -> None:
    """Generate a clean template from an Odoo image (fresh database + modules)."""
    arguments = {"odoo_image": odoo_image, "template_name": template_name, "modules": modules, "force": force}
    emit(run_tool(team, "init_template", arguments))


@admin.command("reload-template")
def reload_template(
    template_name: Annotated[str, typer.Argument(help="Template profile name.")],
    dump_path: Annotated[str | None, typer.Option("--dump-path", help="Load this dump instead.")] = None,
    team: TeamOpt = "1",
) -> None:
    """(Re)load a template database from dump.sql / dump.pgdump (or --dump-path)."""
    emit(run_tool(team, "reload_template", {"template_name": template_name, "dump_path": dump_path}))


@admin.command("list-templates")
def list_templates(team: TeamOpt = "1") -> None:
    """List template profiles with their status (ready, DB NOT LOADED, ...)."""
    rows = run_tool(team, "list_templates", {})
    if not rows:
        typer.echo("no templates")
    for row in rows:
        typer.echo(
            f"{row['name']:24} {row['status']:14} dump={row['dump'] or '-'} "
            f"filestore={row['filestore_mb']} MB storage={row['storage']}"
        )


@admin.command("list-services")
def list_services(team: TeamOpt = "1") -> None:
    """List the team's auxiliary services (status, image, address, URL; env values masked)."""
    rows = run_tool(team, "list_services", {})
    if not rows:
        typer.echo("no services")
    for row in rows:
        keys = ",".join(row["env_vars"]) or "-"
        typer.echo(
            f"{row['name']:20} {row['status']:10} {row['image']:32} {row['address']:32} "
            f"{row['url']} env={keys}"
        )


@admin.command("delete-template")
def delete_template(template_name: Annotated[str, typer.Argument()], team: TeamOpt = "1") -> None:
    """Delete a template profile (database and files)."""
    emit(run_tool(team, "delete_template", {"template_name": template_name}))


@admin.command("template-up")
def template_up(
    template_name: TemplateOpt = "default",
    odoo_image: Annotated[str, typer.Option("--odoo-image")] = "",
    team: TeamOpt = "1",
) -> None:
    """Serve the template database itself for editing in a browser."""
    emit(run_tool(team, "template_up", {"template_name": template_name, "odoo_image": odoo_image}))


@admin.command("template-down")
def template_down(template_name: TemplateOpt = "default", team: TeamOpt = "1") -> None:
    """Stop the template editor, dump the edited database and make it a template again."""
    emit(run_tool(team, "template_down", {"template_name": template_name}))


@admin.command("template-from-env")
def template_from_env(
    branch: Annotated[str, typer.Argument(help="Branch of the environment to save.")],
    template_name: TemplateOpt = "default",
    team: TeamOpt = "1",
) -> None:
    """Save a branch environment as the new template (destructive for other environments)."""
    emit(run_tool(team, "save_as_template", {"branch_name": branch, "template_name": template_name}))


MASTER_PWD_ENV = "ODUFLOW_MASTER_PWD"


def read_master_password(path: Path | None) -> str:
    """The Odoo master password: from ``path``, ``$ODUFLOW_MASTER_PWD``, a hidden prompt or stdin.

    Never from the command line, where every user of the machine sees it (``ps``).
    """
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValidationError(f"cannot read --master-pwd-file {path}: {exc.strerror}") from None
        password = lines[0] if lines else ""
    elif os.environ.get(MASTER_PWD_ENV):
        password = os.environ[MASTER_PWD_ENV]
    elif sys.stdin.isatty():
        password = typer.prompt("Odoo master password", hide_input=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValidationError("the Odoo master password is empty")
    return password


@admin.command("import-template")
def import_template(
    odoo_url: Annotated[str, typer.Argument(help="Base URL of the running Odoo (https://...).")],
    legacy_password: Annotated[str | None, typer.Argument(hidden=True, show_default=False)] = None,
    template_name: TemplateOpt = "default",
    db_name: Annotated[str, typer.Option("--db-name")] = "",
    master_pwd_file: Annotated[
        Path | None,
        typer.Option("--master-pwd-file", help="File whose first line is the master password."),
    ] = None,
    team: TeamOpt = "1",
) -> None:
    """Import a template from a running Odoo instance (database manager backup).

    The master password comes from --master-pwd-file, $ODUFLOW_MASTER_PWD, or a hidden prompt
    (stdin when it is not a terminal); never from the command line.
    """
    if legacy_password is not None:
        raise ValidationError(
            "the master password is not accepted on the command line (every user sees it in ps): "
            f"use --master-pwd-file, ${MASTER_PWD_ENV} or the prompt"
        )
    master_pwd = read_master_password(master_pwd_file)
    arguments = {"odoo_url": odoo_url, "master_pwd": master_pwd, "template_name": template_name}
    emit(run_tool(team, "import_template_from_odoo", {**arguments, "db_name": db_name}))


@admin.command()
def cleanup(
    force: Annotated[bool, typer.Option("--force", help="Remove the orphans.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report (default).")] = False,
    team: TeamOpt = "1",
) -> None:
    """Report orphans (containers, databases, roles, workspaces, mounts, ports, images, empty
    anonymous volumes); --force removes them."""
    emit(run_tool(team, "cleanup", {"force": force and not dry_run}))
