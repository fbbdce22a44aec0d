"""Agent tools for environments, templates, outputs and guides (the Odoo ones are in
:mod:`oduflow.tools_odoo`, the operator ones in :mod:`oduflow.tools_admin`).

Each tool is a thin, typed function over the service layer, marked with ``@tool`` and
collected by :func:`oduflow.catalog.build_catalog`; its docstring is what an AI agent reads,
so it says what the tool does, what it returns and what to do next.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import Field

from oduflow.results import (
    CreatedEnvironment,
    EnvironmentInfo,
    EnvironmentSummary,
    GuideContent,
    GuideSummary,
    OutputPage,
    ProtectionResult,
    SystemStats,
    TemplateSummary,
)
from oduflow.services import env_create, environments, guides, stats, templates, templates_share
from oduflow.toolspec import Call, tool

Branch = Annotated[str, Field(description="Git branch name of the environment, e.g. 'feature-login'.")]
TemplateName = Annotated[
    str, Field(description="Template profile name (lowercase letters, digits, - and _).")
]


# --- environments -------------------------------------------------------------------
@tool(title="List environments", read_only=True, idempotent=True)
def list_environments(call: Call) -> list[EnvironmentSummary]:
    """List the environments of your team: branch, status (running / exited / missing /
    creating...), URL, template, Odoo image, repository and protection.

    Returns a list with, per environment, ``branch``, ``status``, ``url``, ``template``,
    ``odoo_image``, ``repo_url``, ``protected`` and ``container``. Call this first: if an
    environment for your branch exists, use it instead of creating one.
    """
    return cast("list[EnvironmentSummary]", environments.list_environments(call.app, call.team))


@tool(lock="branch", title="Create an environment", open_world=True)
def create_environment(
    call: Call,
    branch_name: Branch,
    template_name: Annotated[
        str,
        Field(
            description="Template to clone the database and filestore from; 'none' for a fresh "
            "database with only 'base' installed. Default: 'default'."
        ),
    ] = "",
    repo_url: Annotated[
        str,
        Field(description="Git URL (https://, ssh:// or git@host:path). Default: the template's repo_url."),
    ] = "",
    odoo_image: Annotated[
        str, Field(description="Odoo Docker image, e.g. 'odoo:17.0'. Default: the template's odoo_image.")
    ] = "",
    sanitize: Annotated[
        bool, Field(description="Run the sanitize scripts (disable mail servers...) before the first start.")
    ] = True,
    extra_addons: Annotated[
        str | dict[str, str],
        Field(
            description="Extra addons repositories to mount (see list_extra_repos): 'enterprise', "
            "'enterprise,themes:main' (name:branch) or a JSON object name -> branch. Default: the "
            "template's extra_addons."
        ),
    ] = "",
    extra_addons_branch: Annotated[
        str,
        Field(description="Branch for the extra_addons given without one; default: each repository's own."),
    ] = "",
) -> CreatedEnvironment:
    """Create an isolated Odoo environment for a git branch and return its URL once Odoo serves
    its database.

    Clones the branch (created from the default branch if it does not exist on the remote),
    clones the template database, gives it its own filestore, installs requirements.txt /
    apt_packages.txt, sanitises, and starts Odoo with --dev=xml. Each extra addons repository
    gets a worktree at its branch's current commit, mounted read-only at
    /mnt/extra-addons-NAME and added to addons_path (it stays on that commit: recreate the
    environment to take newer ones). All or nothing: on failure every step is undone and the
    error names the failing step. Takes seconds to a few minutes.

    Returns ``branch``, ``url``, ``database``, ``template``, ``odoo_image``, ``image``,
    ``repo_url``, ``storage``, ``branch_created_from_default``, ``odoo_conf``, ``container``,
    ``extra_addons`` (``name``, ``branch``, ``commit``) and ``status``.
    """
    return cast(
        "CreatedEnvironment",
        env_create.create_environment(
            call.app, call.team, branch_name, template_name, repo_url, odoo_image, sanitize, call.progress,
            extra_addons=extra_addons, extra_addons_branch=extra_addons_branch,
        ),
    )  # fmt: skip


@tool(lock="branch", title="Delete an environment", destructive=True, idempotent=True)
def delete_environment(call: Call, branch_name: Branch) -> dict[str, Any]:
    """Delete an environment: container, database, database role, filestore, port and workspace.

    Refused for protected environments. Only do this when the task is Done or Canceled.
    Returns ``branch`` and ``deleted`` (what was removed).
    """
    return environments.delete_environment(call.app, call.team, branch_name, call.progress)


@tool(lock="branch", title="Start an environment", idempotent=True)
def start_environment(call: Call, branch_name: Branch) -> dict[str, Any]:
    """Start a stopped environment and wait until Odoo serves its database.

    Returns ``branch``, ``status`` ("running") and ``url``.
    """
    return environments.start_environment(call.app, call.team, branch_name)


@tool(lock="branch", title="Stop an environment", idempotent=True)
def stop_environment(call: Call, branch_name: Branch) -> dict[str, Any]:
    """Stop an environment; its database and filestore are kept. Refused when protected.

    Returns ``branch`` and ``status`` ("stopped").
    """
    return environments.stop_environment(call.app, call.team, branch_name)


@tool(lock="branch", title="Restart an environment", idempotent=True)
def restart_environment(call: Call, branch_name: Branch) -> dict[str, Any]:
    """Restart the Odoo container (reloads Python code) and wait until it serves again.

    Returns ``branch``, ``status`` ("running") and ``url``. pull_and_apply restarts by itself
    when needed; call this after editing Python files directly.
    """
    return environments.restart_environment(call.app, call.team, branch_name)


@tool(lock="branch", title="Rebuild an environment's container", destructive=True, idempotent=True)
def rebuild_environment(call: Call, branch_name: Branch) -> dict[str, Any]:
    """Re-create the Odoo container from its image (dependencies re-installed if their files
    changed), keeping the database and the filestore.

    Returns ``branch``, ``status``, ``url`` and the ``image`` the container runs.
    """
    return environments.rebuild_environment(call.app, call.team, branch_name, call.progress)


@tool(title="Environment details", read_only=True, idempotent=True)
def get_environment_info(call: Call, branch_name: Branch) -> EnvironmentInfo:
    """Everything about one environment: database name, URL, repository, image, template,
    storage, workspace, container status and CPU/RAM usage.

    Returns the fields of list_environments plus ``db_name``, ``db_role``, ``run_image``,
    ``storage``, ``workspace``, ``container_status``, ``filestore_healthy``, ``created_at``,
    ``extra_addons`` (``name``, ``branch``, pinned ``commit``, ``mount``), ``disk`` (bytes on
    disk of the database and the filestore; ``exclusive_bytes`` is what deleting the environment
    frees, true under copy-on-write) and, for a running container, ``stats`` (``cpu_percent``,
    ``memory_mb``, ``memory_limit_mb``).
    """
    return cast("EnvironmentInfo", environments.get_environment_info(call.app, call.team, branch_name))


@tool(lock="branch", title="Recreate an environment", destructive=True, open_world=True)
def recreate_environment(call: Call, branch_name: Branch) -> CreatedEnvironment:
    """Delete an environment and create it again with the same template, repository, Odoo image,
    sanitize setting and extra addons: a fresh database and filestore from the template, a fresh
    checkout, and extra addons worktrees at their branches' current commits (run
    update_extra_repo first to fetch newer ones).

    Everything done in the environment (data, installed modules, files) is lost. Refused for
    protected environments. Returns what create_environment returns.
    """
    return cast(
        "CreatedEnvironment", env_create.recreate_environment(call.app, call.team, branch_name, call.progress)
    )


@tool(lock="branch", title="Protect an environment", idempotent=True)
def protect_environment(call: Call, branch_name: Branch) -> ProtectionResult:
    """Protect an environment: delete, recreate and stop are refused (ProtectedError) until it
    is unprotected. Other operations are unaffected.

    Returns ``branch`` and ``protected`` (true).
    """
    return cast("ProtectionResult", environments.set_protected(call.app, call.team, branch_name, True))


@tool(lock="branch", title="Unprotect an environment", idempotent=True)
def unprotect_environment(call: Call, branch_name: Branch) -> ProtectionResult:
    """Remove an environment's protection: it can be stopped and deleted again.

    Returns ``branch`` and ``protected`` (false).
    """
    return cast("ProtectionResult", environments.set_protected(call.app, call.team, branch_name, False))


@tool(title="Resource usage", read_only=True, idempotent=True)
def get_system_stats(call: Call) -> SystemStats:
    """CPU and memory of your team's running environment containers, the load and memory
    of the server's host, and the filesystem Oduflow stores its data on.

    Returns ``containers`` (per running environment: ``branch``, ``container``,
    ``cpu_percent``, ``memory_mb``, ``memory_limit_mb``), ``host`` (``load_average`` over 1,
    5 and 15 minutes, ``cpu_count``, ``memory_total_mb``, ``memory_available_mb``,
    ``memory_used_percent``) and ``data_filesystem`` (``path``, ``fstype``, ``reflink``: whether
    copies there share blocks, ``size_bytes``, ``used_bytes``, ``free_bytes``; ``managed`` and
    ``mounted`` for Oduflow's own XFS image file, with ``image``, ``image_size_bytes`` and
    ``image_allocated_bytes``).
    """
    return cast("SystemStats", stats.system_stats(call.app, call.team))


# --- templates ------------------------------------------------------------------------
@tool(title="List templates", read_only=True, idempotent=True)
def list_templates(call: Call) -> list[TemplateSummary]:
    """List the template profiles of your team with their status.

    Returns a list with, per template, ``name``, ``status``, ``database``, ``dump``,
    ``dump_mb``, ``filestore_mb``, ``storage``, ``metadata`` and ``disk`` (bytes on disk of its
    database, filestore and dump, shared with its copy-on-write clones or its own). ``ready``
    templates can be used by ``create_environment(template_name=...)``; ``DB NOT LOADED`` means
    the dump is on disk but not loaded: ask the operator to reload the template. Metadata
    (odoo_image, repo_url) is inherited by environments created from the template.
    """
    return cast("list[TemplateSummary]", templates.list_templates(call.app, call.team))


@tool(lock="team", title="Delete a template", destructive=True, idempotent=True)
def delete_template(call: Call, template_name: TemplateName) -> dict[str, Any]:
    """⚠️ Delete a template profile: its database and its files (dump, filestore, metadata).

    Refused while environments use its filestore. Returns ``template``, ``deleted`` and
    ``database_dropped``.
    """
    return templates.delete_template(call.app, call.team, template_name)


@tool(lock="team", title="Save an environment as a template", destructive=True)
def save_as_template(
    call: Call,
    branch_name: Branch,
    template_name: TemplateName = "default",
) -> dict[str, Any]:
    """⚠️ Save a branch environment's database and filestore as the new baseline of a template.

    Destructive: other environments on that template lose their filestore changes and restart
    on the new baseline. Future environments start with everything installed in this one.

    Returns ``template``, ``from_branch``, ``status``, ``reset_environments`` (the branches that
    restarted on the new baseline) and ``metadata``.
    """
    return templates_share.save_as_template(call.app, call.team, branch_name, template_name, call.progress)


@tool(lock="team", title="Import a template from a running Odoo", destructive=True, open_world=True)
def import_template_from_odoo(
    call: Call,
    odoo_url: Annotated[str, Field(description="Base URL of a running Odoo, e.g. https://erp.example.com")],
    master_pwd: Annotated[str, Field(description="The Odoo master (database manager) password.")],
    template_name: TemplateName = "default",
    db_name: Annotated[str, Field(description="Database to import; detected when the server has one.")] = "",
) -> dict[str, Any]:
    """Import a template from a running Odoo: download a backup (with filestore) through its
    database manager, detect the version and database, and load it as a template.

    Returns the loaded template (``template``, ``database``, ``status``, ``dump``, ``metadata``)
    with ``source_url``, ``source_db``, ``odoo_version`` and ``filestore_mb``.
    """
    return templates_share.import_template_from_odoo(
        call.app, call.team, odoo_url, master_pwd, template_name, db_name, call.progress
    )


# --- outputs ------------------------------------------------------------------------------
@tool(title="Read a cached output", read_only=True, idempotent=True, shape_output=False)
def read_output(
    call: Call,
    output_id: Annotated[str, Field(description="The id given in a summarised tool output.")],
    mode: Annotated[
        Literal["lines", "errors", "grep", "tail", "info"],
        Field(
            description="lines: a line range; errors: error lines with context; "
            "grep: lines containing `pattern`; tail: last `count` lines; "
            "info: metadata."
        ),
    ] = "lines",
    start: Annotated[int, Field(ge=1, description="First line (1-based) for mode=lines.")] = 1,
    count: Annotated[int, Field(ge=1, le=2000, description="Number of lines to return.")] = 200,
    pattern: Annotated[str | None, Field(description="Fixed string to search for (mode=grep).")] = None,
    context: Annotated[int, Field(ge=0, le=20, description="Context lines around matches.")] = 2,
) -> OutputPage:
    """Read a long tool output that was cached and replaced by a summary.

    When a tool's output is too long, you get its head, its error lines and its tail plus an
    ``output_id``; page through the full text here. Outputs belong to the team that made them.

    Returns ``output_id``, ``mode``, ``tool``, ``created``, ``total_lines`` and, for a page,
    ``text`` (numbered lines), ``start``/``end``, ``truncated`` and ``next_start`` (the
    ``start`` to continue from); ``matches`` for errors/grep; ``chars`` for info.
    """
    return cast(
        "OutputPage",
        dict(
            call.app.outputs.read(
                call.team.id, output_id, mode=mode, start=start, count=count, pattern=pattern, context=context
            )
        ),
    )


# --- agent guides -------------------------------------------------------------------------
@tool(title="Agent instructions", read_only=True, idempotent=True, shape_output=False)
def get_agent_instructions(call: Call) -> str:
    """Get the instructions for AI agents using Oduflow: the workflow (list, create, push,
    pull_and_apply, install, test, delete), how to read results, and the rules to follow.

    Returns the guide as Markdown text. Read this once at the start of a task.
    """
    return guides.read_guide(call.app, call.team, guides.AGENT_GUIDE)


@tool(title="Odoo development guide", read_only=True, idempotent=True, shape_output=False)
def get_odoo_development_guide(
    call: Call,
    version: Annotated[str, Field(description="Odoo version: 15, 16, 17, 18 or 19 (e.g. '17.0').")],
) -> str:
    """Get the Odoo development standards for one version (15-19): module layout, ORM and
    view idioms, what changed since the previous version, and how to check a module
    with Oduflow. Returns the guide as Markdown text; read it before writing code for that
    version.
    """
    return guides.development_guide(call.app, call.team, version)


@tool(title="List agent guides", read_only=True, idempotent=True)
def list_agent_guides(call: Call) -> list[GuideSummary]:
    """List the agent guides your team can read: the agent instructions and the Odoo
    development guides (your team's copies first, else the bundled ones).

    Returns a list with, per guide, ``filename``, ``title``, ``size`` (characters) and
    ``source`` (``team`` or ``bundled``). Read one with get_agent_guide.
    """
    return cast("list[GuideSummary]", guides.list_guides(call.app, call.team))


@tool(title="Read an agent guide", read_only=True, idempotent=True, shape_output=False)
def get_agent_guide(
    call: Call,
    filename: Annotated[str, Field(description="File name of the guide, e.g. 'agent_guide.md'.")],
) -> GuideContent:
    """Read one agent guide by file name (see list_agent_guides).

    Returns ``filename`` and ``content`` (Markdown text).
    """
    return {"filename": filename, "content": guides.read_guide(call.app, call.team, filename)}
