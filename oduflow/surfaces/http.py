"""The HTTP server: MCP (Streamable HTTP) at ``/mcp`` behind per-team bearer-token auth, and the
web surface (REST API, dashboard) behind per-team HTTP Basic auth at the other paths."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from oduflow import __version__
from oduflow.app import App
from oduflow.config import Config
from oduflow.errors import OduflowError
from oduflow.surfaces.auth import resolve_team
from oduflow.surfaces.http_errors import error_response
from oduflow.surfaces.mcp import TEAM_STATE, build_mcp
from oduflow.surfaces.web import api, web_routes
from oduflow.surfaces.web.auth import WebAuthMiddleware

log = logging.getLogger("oduflow.http")


class McpAuthMiddleware:
    """Refuses MCP requests whose team cannot be resolved or whose token is wrong (401)."""

    def __init__(self, app: ASGIApp, oduflow_app: App) -> None:
        self.app = app
        self.oduflow = oduflow_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/mcp"):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            try:
                team = resolve_team(self.oduflow.config, headers)
            except OduflowError as exc:
                await error_response(exc)(scope, receive, send)
                return
            # resolved once per request: the tools read it from here (surfaces.mcp.current_team)
            scope.setdefault("state", {})[TEAM_STATE] = team.id
        await self.app(scope, receive, send)


def startup_lines(cfg: Config, port: int | None = None) -> list[str]:
    """One line per team: its URL and whether MCP and UI authentication are on."""
    lines = []
    for team in cfg.teams.values():
        token = "ON" if team.auth_token else "OFF"
        ui = "ON" if team.ui_password else "OFF"
        lines.append(
            f"[team.{team.id}] http://{team.hostname}:{port or cfg.server.port}/ "
            f"(MCP token {token}, UI auth {ui})"
        )
    return lines


def startup_warnings(cfg: Config) -> list[str]:
    """A warning per team whose web interface is open (empty ``ui_password``)."""
    return [
        f"[team.{team.id}] ui_password is empty: the web dashboard and REST API of this team are "
        "open to anyone who can reach the server (set ui_password in oduflow.toml)"
        for team in cfg.teams.values()
        if not team.ui_password
    ]


def build_http_app(app: App) -> Starlette:
    """The Starlette application served by ``oduflow``: ``/healthz``, MCP at ``/mcp`` and the
    web surface (:func:`~oduflow.surfaces.web.web_routes`: REST API, dashboard) at every other path."""
    mcp = build_mcp(app)
    hosts = sorted({t.hostname for t in app.config.teams.values()} | {"localhost", "127.0.0.1"})
    mcp_app = mcp.http_app(path="/mcp", allowed_hosts=[*hosts, *(f"{h}:*" for h in hosts)])

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "version": __version__})

    routes: list[Any] = [
        Route("/healthz", health),
        Route("/mcp", mcp_app),  # MCP's own app routes and answers /mcp, whatever the method
        *web_routes(app),
    ]
    web = Starlette(routes=routes, lifespan=mcp_app.lifespan, exception_handlers=api.ROUTER_ERRORS)
    web.add_middleware(WebAuthMiddleware, oduflow_app=app)
    web.add_middleware(McpAuthMiddleware, oduflow_app=app)
    return web
