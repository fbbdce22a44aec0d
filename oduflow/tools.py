"""The tool catalog: every tool an agent (MCP), a script (``oduflow call``) or the web can call.

Each tool is a thin, typed function over the service layer; its docstring is what an
AI agent reads, so it says what the tool does, what it returns and what to do next.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from oduflow.catalog import Call, tool
from oduflow.services import environments, guides, templates

Branch = Annotated[str, Field(description="Git branch name of the environment, e.g. 'feature-login'.")]


# --- environments -------------------------------------------------------------------
@tool()
def list_environments(call: Call) -> list[dict[str, Any]]:
    """List the environments of your team: branch, status (running / exited / missing /
    creating...), URL, template, Odoo image, repository and protection.

    Call this first: if an environment for your branch exists, use it instead of creating one.
    """
    return environments.list_environments(call.app, call.team)


# --- templates ------------------------------------------------------------------------
@tool()
def list_templates(call: Call) -> list[dict[str, Any]]:
    """List the template profiles of your team with their status.

    ``ready`` templates can be used by ``create_environment(template_name=...)``;
    ``DB NOT LOADED`` means the dump is on disk but not loaded (an operator runs
    ``oduflow reload-template NAME``). Metadata (odoo_image, repo_url) is inherited by
    environments created from the template.
    """
    return templates.list_templates(call.app, call.team)


# --- outputs ------------------------------------------------------------------------------
@tool(shape_output=False)
def read_output(
    call: Call,
    output_id: Annotated[str, Field(description="The id given in a summarised tool output.")],
    mode: Annotated[Literal["lines", "errors", "grep", "tail", "info"],
                    Field(description="lines: a line range; errors: error lines with context; "
                                      "grep: lines containing `pattern`; tail: last `count` lines; "
                                      "info: metadata.")] = "lines",
    start: Annotated[int, Field(ge=1, description="First line (1-based) for mode=lines.")] = 1,
    count: Annotated[int, Field(ge=1, le=2000, description="Number of lines to return.")] = 200,
    pattern: Annotated[str | None, Field(description="Fixed string to search for (mode=grep).")] = None,
    context: Annotated[int, Field(ge=0, le=20, description="Context lines around matches.")] = 2,
) -> dict[str, Any]:
    """Read a long tool output that was cached and replaced by a summary.

    When a tool's output is too long, you get its head, its error lines and its tail plus an
    ``output_id``; page through the full text here. Outputs belong to the team that made them.
    """
    return dict(call.app.outputs.read(call.team.id, output_id, mode=mode, start=start, count=count,
                                      pattern=pattern, context=context))


# --- agent guides -------------------------------------------------------------------------
@tool()
def get_agent_instructions(call: Call) -> str:
    """Get the instructions for AI agents using Oduflow: the workflow (list, create, push,
    pull_and_apply, install, test, delete), how to read results, and the rules to follow.

    Read this once at the start of a task.
    """
    return guides.read_guide(call.app, call.team, guides.AGENT_GUIDE)


@tool()
def get_odoo_development_guide(
    call: Call,
    version: Annotated[str, Field(description="Odoo version: 15, 16, 17, 18 or 19 (e.g. '17.0').")],
) -> str:
    """Get the Odoo development standards for one version (15-19): module layout, ORM and
    view idioms, what changed since the previous version, and how to check a module
    with Oduflow. Read it before writing code for that version.
    """
    return guides.development_guide(call.app, call.team, version)
