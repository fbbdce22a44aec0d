"""The MCP surface: a FastMCP server built from the tool catalog.

Each agent tool of the catalog becomes an MCP tool with the same name, parameters, result
schema, annotations and description; the catalog validates the arguments.
Blocking work runs in a worker thread of the surface's own pool, once the call was admitted
among its team's concurrent operations (``[limits].max_concurrent_per_team``); progress messages
become MCP progress notifications; the error tree is mapped to ``ToolError`` here and only here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.from_thread
from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_context, get_http_request
from fastmcp.tools import Tool, ToolResult
from fastmcp.utilities.json_schema import compress_schema
from mcp.types import ToolAnnotations
from pydantic import PrivateAttr

from oduflow import __version__, catalog
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import AuthError, OduflowError
from oduflow.surfaces.auth import resolve_team
from oduflow.toolspec import ToolSpec

log = logging.getLogger("oduflow.mcp")

INSTRUCTIONS = (
    "Oduflow gives each git branch its own throw-away Odoo environment. Start with "
    "get_agent_instructions, then list_environments; create_environment if your branch has "
    "none. After every git push call pull_and_apply. Long outputs come back summarised with an "
    "output_id: page through them with read_output."
)


TEAM_STATE = "oduflow_team"
"""Key of the request state where the HTTP surface's auth middleware puts the team it resolved."""


def current_team(app: App, fixed_team: str | None) -> TeamConfig:
    """The caller's team: fixed for stdio; over HTTP the one the auth middleware resolved for
    this request (headers are read once, there); without a request (in-memory clients) the
    team a request without headers resolves to."""
    if fixed_team is not None:
        return app.config.team(fixed_team)
    try:
        request = get_http_request()
    except RuntimeError:
        return resolve_team(app.config, {})
    team_id = request.scope.get("state", {}).get(TEAM_STATE)
    if team_id is None:
        raise AuthError("the request did not pass the authentication middleware")
    return app.config.team(team_id)


SPARE_WORKERS = 4
"""Worker threads beyond every team's limit (calls being admitted or refused)."""


def worker_limiter(app: App) -> anyio.CapacityLimiter:
    """The MCP surface's own worker threads: every team at its limit, plus room to spare.

    Tool calls are admitted per team (:func:`catalog.admission`) before they take a worker, so
    the workers never run out while a team is at its limit; the spare ones serve calls that are
    being admitted or refused.
    """
    per_team = app.config.limits.max_concurrent_per_team
    return anyio.CapacityLimiter(len(app.config.teams) * per_team + SPARE_WORKERS)


def tool_error(exc: OduflowError) -> ToolError:
    """The one mapping of the error tree on MCP: ``ToolError("Type: message")``."""
    return ToolError(f"{exc.type_name}: {exc}")


class CatalogTool(Tool):
    """An MCP tool that hands its raw arguments to the catalog, which validates them.

    FastMCP's own validation is bypassed on purpose: every surface gets the catalog's
    :class:`ValidationError` text. ``parameters`` and ``output_schema`` are the catalog's.
    """

    _runner: Callable[[dict[str, Any]], Awaitable[Any]] = PrivateAttr()

    @classmethod
    def of(cls, spec: ToolSpec, runner: Callable[[dict[str, Any]], Awaitable[Any]]) -> CatalogTool:
        made = cls(
            name=spec.name,
            title=spec.mark.title,
            description=spec.description,
            parameters=compress_schema(spec.arguments_schema(), prune_titles=True),
            output_schema=compress_schema(spec.result_schema(), prune_titles=True),
            annotations=ToolAnnotations(**spec.annotations()),
        )
        made._runner = runner
        return made

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return self.convert_result(await self._runner(arguments))


def _runner(
    app: App, name: str, fixed_team: str | None, limiter: anyio.CapacityLimiter
) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    async def run_tool(arguments: dict[str, Any]) -> Any:
        try:
            team = current_team(app, fixed_team)
            ctx = get_context()
            work = functools.partial(
                app.catalog.invoke, app, team, name, arguments, _progress(ctx), admitted=True
            )
            # admitted before a worker is taken: a team over its limit never occupies one
            with catalog.admission(app, team, name):
                return await anyio.to_thread.run_sync(work, limiter=limiter)
        except OduflowError as exc:
            raise tool_error(exc) from None

    return run_tool


def _progress(ctx: Context) -> Callable[[str], None]:
    """Progress messages of a worker thread as MCP progress notifications (best effort)."""
    step = 0

    def progress(message: str) -> None:
        nonlocal step
        step += 1
        try:
            anyio.from_thread.run(functools.partial(ctx.report_progress, step, None, message))
        except Exception:  # noqa: BLE001 - progress is best effort
            log.debug("progress not delivered: %s", message)

    return progress


def build_mcp(app: App, fixed_team: str | None = None) -> FastMCP:
    """A FastMCP server exposing every agent tool of ``app.catalog``."""
    mcp: FastMCP = FastMCP(name="oduflow", instructions=INSTRUCTIONS, version=__version__)
    limiter = worker_limiter(app)
    for spec in app.catalog.all(audience="agent"):
        mcp.add_tool(CatalogTool.of(spec, _runner(app, spec.name, fixed_team, limiter)))
    return mcp
