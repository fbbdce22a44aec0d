"""Operator-only tools: what the admin commands of the CLI run (never exposed over MCP or
the web). Thin wrappers over the services, run through the catalog like every other tool so
they take the same locks and operation slots.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from oduflow.services import cleanup as cleanup_service
from oduflow.services import system, templates, templates_ops
from oduflow.toolspec import Call, tool

TemplateName = Annotated[
    str, Field(description="Template profile name (lowercase letters, digits, - and _).")
]


@tool(lock="system", title="Initialise Oduflow", audience="operator", idempotent=True)
def init(call: Call) -> dict[str, Any]:
    """Create the shared Docker network, PostgreSQL container and every team's directories
    (and write the bundled oduflow.toml when none exists). With ``[storage].cow_image_size_gb``
    it first creates (or mounts again) the XFS image Oduflow keeps ``data_dir`` on.

    Returns ``created``, ``removed`` and ``changed`` (false when everything already existed),
    ``clone_strategy`` (how environment databases will be cloned: ``reflink``, ``pool`` or
    ``file_copy``, with the reason) and ``data_filesystem`` (type, reflink, size, free space).
    """
    return system.bootstrap(call.progress)


@tool(lock="system", title="Remove the shared infrastructure", audience="operator", destructive=True)
def destroy(call: Call) -> dict[str, Any]:
    """Remove the shared infrastructure (database container, images, volumes); refused while
    environments exist.

    Returns what was removed.
    """
    return system.destroy(call.app, call.progress)


@tool(lock="team", title="Generate a clean template", audience="operator", destructive=True)
def init_template(
    call: Call,
    odoo_image: Annotated[str, Field(description="Odoo image, e.g. 'odoo:17.0'.")],
    template_name: TemplateName = "default",
    modules: Annotated[str, Field(description="Comma-separated modules to install.")] = "base",
    force: Annotated[bool, Field(description="Overwrite an existing dump/filestore.")] = False,
) -> dict[str, Any]:
    """Generate a clean template from an Odoo image: a fresh database with ``modules``
    installed, dumped and loaded.

    Returns ``template``, ``status``, ``modules`` and the template's ``metadata``.
    """
    return templates_ops.init_template(
        call.app, call.team, odoo_image, template_name, modules, force, call.progress
    )


@tool(lock="team", title="Reload a template database", audience="operator", destructive=True)
def reload_template(
    call: Call,
    template_name: TemplateName,
    dump_path: Annotated[str | None, Field(description="Load this dump instead of the template's.")] = None,
) -> dict[str, Any]:
    """(Re)load a template database from its dump.sql / dump.pgdump (or ``dump_path``).

    Returns ``template``, ``database``, ``status``, the ``dump`` loaded and ``metadata``.
    """
    return templates.reload_template(call.app, call.team, template_name, dump_path, call.progress)


@tool(lock="team", title="Open a template in the editor", audience="operator")
def template_up(
    call: Call,
    template_name: TemplateName = "default",
    odoo_image: Annotated[str, Field(description="Odoo image; default: the template's.")] = "",
) -> dict[str, Any]:
    """Serve the template database itself for editing in a browser.

    Returns ``template``, the editor's ``url``, its ``database`` and the ``next`` command.
    """
    return templates_ops.template_up(call.app, call.team, template_name, odoo_image, call.progress)


@tool(lock="team", title="Close the template editor", audience="operator", destructive=True)
def template_down(call: Call, template_name: TemplateName = "default") -> dict[str, Any]:
    """Stop the template editor, dump the edited database and make it a template again.

    Returns ``template``, ``status``, the new ``dump`` and ``filestore_mb``.
    """
    return templates_ops.template_down(call.app, call.team, template_name, call.progress)


@tool(lock="team", title="Report or remove orphans", audience="operator", destructive=True)
def cleanup(
    call: Call,
    force: Annotated[bool, Field(description="Remove the orphans (default: only report them).")] = False,
) -> dict[str, Any]:
    """Report orphans (containers, databases, roles, workspaces, mounts, ports, images, empty
    anonymous volumes); ``force`` removes them.

    Returns ``team``, ``dry_run`` and ``orphans`` by kind (with ``force``: what was removed
    and the errors).
    """
    return cleanup_service.cleanup(call.app, call.team, force=force)
