"""What addons import from ``odoo.http`` (controllers are accepted but not served by the stand-in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote


class Controller:
    """Base class of HTTP controllers."""

    children_classes: ClassVar[dict[str, list[type]]] = {}


def route(route: Any = None, **routing: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a controller method as a route (recorded, never served by the stand-in)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.original_routing = routing  # type: ignore[attr-defined]
        func.routing = dict(routing, routes=[route] if isinstance(route, str) else route)  # type: ignore[attr-defined]
        return func

    return decorate


class Response:
    """A minimal HTTP response object."""

    def __init__(self, response: Any = None, status: int = 200, headers: Any = None, **kwargs: Any) -> None:
        self.response, self.status_code, self.headers = response, status, dict(headers or {})


class _RequestProxy:
    """``odoo.http.request``: there is no request outside a served route in the stand-in."""

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("object unbound: no HTTP request in the Odoo stand-in")


request: Any = _RequestProxy()


def content_disposition(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value for ``filename``."""
    return f"attachment; filename*=UTF-8''{quote(filename)}"
