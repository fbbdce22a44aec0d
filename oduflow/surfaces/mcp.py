"""The MCP surface: a FastMCP server built from the tool catalog.

Each catalog tool becomes an MCP tool with the same name, parameters and docstring.
Blocking work runs in a worker thread of the surface's own pool, once the call was admitted
among its team's concurrent operations (``[limits].max_concurrent_per_team``); progress messages
become MCP progress notifications; the error tree is mapped to ``ToolError`` here and only here.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_context, get_http_request

from oduflow import __version__, catalog
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import AuthError, OduflowError
from oduflow.surfaces.auth import resolve_team

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


def _make_tool(
    app: App, spec: catalog.ToolSpec, fixed_team: str | None, limiter: anyio.CapacityLimiter
) -> Callable[..., Any]:
    async def run_tool(**arguments: Any) -> Any:
        try:
            team = current_team(app, fixed_team)
        except OduflowError as exc:
            raise ToolError(f"{exc.type_name}: {exc}") from None
        ctx = get_context()
        step = 0

        def progress(message: str) -> None:
            nonlocal step
            step += 1
            try:
                anyio.from_thread.run(functools.partial(ctx.report_progress, step, None, message))
            except Exception:  # noqa: BLE001 - progress is best effort
                log.debug("progress not delivered: %s", message)

        def work() -> Any:
            return catalog.invoke(app, team, spec.name, arguments, progress, admitted=True)

        try:
            # admitted before a worker is taken: a team over its limit never occupies one
            with catalog.admission(app, team, spec.name):
                return await anyio.to_thread.run_sync(work, limiter=limiter)
        except OduflowError as exc:
            raise ToolError(f"{exc.type_name}: {exc}") from None

    run_tool.__name__ = spec.name
    run_tool.__doc__ = spec.description
    run_tool.__signature__ = spec.signature()  # type: ignore[attr-defined]
    run_tool.__annotations__ = {p.name: p.annotation for p in spec.parameters}
    return run_tool


def build_mcp(app: App, fixed_team: str | None = None) -> FastMCP:
    """A FastMCP server exposing every catalog tool."""
    mcp: FastMCP = FastMCP(name="oduflow", instructions=INSTRUCTIONS, version=__version__)
    limiter = worker_limiter(app)
    for spec in catalog.all_tools():
        mcp.tool(_make_tool(app, spec, fixed_team, limiter), name=spec.name, description=spec.description)
    return mcp


def tool_signature_text(spec: catalog.ToolSpec) -> str:
    parts = []
    for p in spec.parameters:
        text = p.name
        if p.default is not inspect.Parameter.empty:
            text += f"={p.default!r}"
        parts.append(text)
    return f"{spec.name}({', '.join(parts)})"
