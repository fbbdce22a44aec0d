"""The web dashboard: ``/`` (the page) and ``/static/...`` (its files, package data).

The page and its scripts are the team's own (``oduflow/surfaces/web/static/``); the vendored
browser libraries the terminal needs are copied into ``static/vendor/`` by the build. Nothing is
loaded from another origin (the Content-Security-Policy says so), so the dashboard works on a
server without internet. Authentication is the web surface's middleware, as for every path.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from oduflow.app import App

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    # same origin only; inline styles are allowed for the terminal library's own <style>
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}


class _StaticFiles(StaticFiles):
    """Static files with the dashboard's security headers (revalidated, never framed)."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(SECURITY_HEADERS)
        return response


async def index(request: Request) -> Response:
    """The dashboard page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


def routes(app: App) -> list[BaseRoute]:
    """``/`` and ``/static`` (listed last by ``web_routes``: ``/static`` is a mount)."""
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/static", app=_StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
