"""The web surface: REST API, dashboard, live logs and terminal, behind one authentication.

:func:`web_routes` lists every route of the surface; :mod:`oduflow.surfaces.http` serves them
beside ``/mcp`` and ``/healthz`` behind :class:`~oduflow.surfaces.web.auth.WebAuthMiddleware`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from oduflow.app import App
from oduflow.surfaces.web import api, dashboard, live, openapi, terminal


def web_routes(app: App) -> list[BaseRoute]:
    """Every web route: the REST API and its OpenAPI document, the other ``/api`` routes, then
    the dashboard (its ``/`` and ``/static`` come last). Router errors under ``/api/`` (no route,
    another method) are answered as JSON by :data:`api.ROUTER_ERRORS`."""
    return [
        *api.routes(app),
        openapi.route(app),
        *live.routes(app),
        *terminal.routes(app),
        # the dashboard last
        *dashboard.routes(app),
    ]
