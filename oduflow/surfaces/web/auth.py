"""Authentication and cross-site protection of the web surface (dashboard, REST API, sockets).

Every path but ``/mcp`` and ``/healthz`` passes :class:`WebAuthMiddleware`, HTTP and websocket:

- the team is the one the request resolves to without a token (``Host`` header, the only team,
  team "1": :func:`oduflow.surfaces.auth.host_team`); bearer tokens are MCP's, not used here;
- HTTP Basic, user ``admin`` and that team's ``ui_password``, compared in constant time; an empty
  ``ui_password`` leaves the team's web surface open. A refusal is a 401 with a Basic challenge
  (a browser shows its login prompt); a wrong password is logged, without the password;
- cross-site requests: an unsafe method (POST, PUT, PATCH, DELETE) or a websocket handshake whose
  ``Origin`` (else ``Sec-Fetch-Site``) is another origin than the request's own is refused 403;
  without either header the client is no browser and no page can have sent it;
- a body of an unsafe method must be ``application/json``: a cross-site HTML form cannot send
  that type without a CORS preflight, which this server never grants.

The resolved team is kept in the request's scope state: :func:`request_team` reads it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import AuthError, ForbiddenError, OduflowError, ValidationError
from oduflow.surfaces.auth import host_team
from oduflow.surfaces.http_errors import BASIC, error_response

log = logging.getLogger("oduflow.web")

USER = "admin"
TEAM_STATE = "oduflow_web_team"
"""Key of the scope state where the middleware keeps the :class:`TeamConfig` it resolved."""
OPEN_PATHS = frozenset({"/mcp", "/healthz"})
"""Paths with their own authentication (MCP's bearer token) or none (the health check)."""
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
WS_SCHEMES = {"ws": "http", "wss": "https"}


def request_team(conn: HTTPConnection) -> TeamConfig:
    """The team :class:`WebAuthMiddleware` resolved (and authenticated) for this request."""
    team = conn.scope.get("state", {}).get(TEAM_STATE)
    if not isinstance(team, TeamConfig):
        raise AuthError("the request did not pass the web authentication middleware")
    return team


def basic_password(headers: Headers) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header, else ``None``."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def check_password(team: TeamConfig, headers: Headers, client: str) -> None:
    """Nothing when the team's web surface is open or the credentials are right, else
    :class:`AuthError` (a wrong password is logged, without it)."""
    if not team.ui_password:
        return
    given = basic_password(headers)
    if given is None:
        raise AuthError(f"team {team.id}'s web interface needs a login (user '{USER}', its ui_password)")
    user, password = given
    user_ok = hmac.compare_digest(user.encode(), USER.encode())
    password_ok = hmac.compare_digest(password.encode(), team.ui_password.encode())
    if not (user_ok and password_ok):  # both compared: timing tells nothing about which failed
        log.warning(
            "web login refused for team %s from %s: wrong user or password (user %r)", team.id, client, user
        )
        raise AuthError("wrong user or password")


def _origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]`` in lower case, the scheme's default port left out."""
    scheme = WS_SCHEMES.get(scheme.lower(), scheme.lower())
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return f"{scheme}://{netloc.lower()}"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    shown = "" if port is None or str(port) == DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{host}{shown}"


def own_origin(scope: Scope, headers: Headers) -> str:
    """The origin the request was sent to: its scheme (a proxy's ``X-Forwarded-Proto`` first,
    which no page can set on a cross-site request) and its ``Host``."""
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or scope.get("scheme", "http")
    return _origin(scheme, headers.get("host", ""))


def check_same_origin(scope: Scope, headers: Headers) -> None:
    """:class:`ForbiddenError` when a browser says the request comes from another origin."""
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if (
            origin == "null"
            or not parts.scheme
            or _origin(parts.scheme, parts.netloc) != own_origin(scope, headers)
        ):
            raise ForbiddenError(f"cross-site request refused (origin {origin[:100]!r})")
        return
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise ForbiddenError(f"cross-site request refused (Sec-Fetch-Site: {site[:40]})")


def check_json_body(headers: Headers) -> None:
    """:class:`ValidationError` when an unsafe request carries a body that is not JSON."""
    content_type = headers.get("content-type")
    if content_type is None:
        has_body = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
        if has_body:
            raise ValidationError("request bodies must be JSON (Content-Type: application/json)")
        return
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ValidationError(
            f"request bodies must be JSON (Content-Type: application/json), not {content_type[:60]!r}"
        )


def authorize(config_app: App, scope: Scope) -> TeamConfig:
    """The request's team once it passed the password and cross-site checks, else the error."""
    headers = Headers(scope=scope)
    team = host_team(config_app.config, headers.get("host"))
    if team is None:
        raise AuthError("cannot tell which team this request is for")
    client = scope.get("client")
    check_password(team, headers, client[0] if client else "?")
    if scope["type"] == "websocket" or scope.get("method", "GET").upper() in UNSAFE_METHODS:
        check_same_origin(scope, headers)
    if scope["type"] == "http" and scope.get("method", "GET").upper() in UNSAFE_METHODS:
        check_json_body(headers)
    return team


class WebAuthMiddleware:
    """Authenticates every request but ``/mcp`` and ``/healthz`` (see the module's docstring)."""

    def __init__(self, app: ASGIApp, oduflow_app: App) -> None:
        self.app = app
        self.oduflow = oduflow_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            team = authorize(self.oduflow, scope)
        except OduflowError as exc:
            await refuse(exc, scope, receive, send)
            return
        scope.setdefault("state", {})[TEAM_STATE] = team
        await self.app(scope, receive, send)


async def refuse(exc: OduflowError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``exc`` as JSON; a websocket handshake too where the server can answer it with an
    HTTP response, else the handshake is closed (which the server answers with a 403)."""
    if scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
        await error_response(exc, challenge=BASIC)(scope, receive, send)  # Starlette names the messages
    else:
        await send({"type": "websocket.close", "code": 1008})
