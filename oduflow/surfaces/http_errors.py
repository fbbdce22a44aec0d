"""The one mapping of the error tree on HTTP, shared by MCP's auth middleware and the web surface."""

from __future__ import annotations

from starlette.responses import JSONResponse

from oduflow.errors import AuthError, OduflowError

BEARER = "Bearer"
BASIC = 'Basic realm="Oduflow"'
"""The challenge of the web surface: a browser shows its login prompt on it."""


def error_response(exc: OduflowError, challenge: str = BEARER) -> JSONResponse:
    """``{"ok": false, "error", "type"}`` with the error's
    :attr:`~oduflow.errors.OduflowError.http_status` (and ``challenge`` on a 401)."""
    headers = {"www-authenticate": challenge} if isinstance(exc, AuthError) else None
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)
