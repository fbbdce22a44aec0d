"""HTTP requests to an environment's running Odoo (controllers, JSON-RPC, REST routes).

The request always goes to the environment container's own address on port 8069: the caller
gives only a path (no scheme, no host), redirects are not followed and proxies are not used,
so the tool cannot be turned towards another host. The exchange has an overall deadline and
the body a size cap (:mod:`oduflow.boundedhttp`): a server that drips its answer cannot hold a
worker for long.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from oduflow import boundedhttp
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import ConflictError, ExternalCommandError, ValidationError
from oduflow.services import runtime
from oduflow.services.envmodel import get_env
from oduflow.services.odoo_ops import running_container

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
TIMEOUT = 60
"""Seconds the whole exchange may take (connection, request, answer), however slowly it drips."""
MAX_BODY = 1024 * 1024
MAX_REQUEST_BODY = 10 * 1024 * 1024
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "csv")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def parse_headers(headers: Mapping[str, Any] | str | None) -> dict[str, str]:
    """Headers from a dict or a JSON object string; values are never split on commas."""
    if headers is None or headers == "":
        return {}
    if isinstance(headers, str):
        try:
            headers = json.loads(headers)
        except ValueError as exc:
            raise ValidationError(
                f'headers must be a JSON object, e.g. {{"Content-Type": "application/json"}} ({exc})'
            ) from None
    if not isinstance(headers, Mapping):
        raise ValidationError('headers must be a JSON object, e.g. {"Content-Type": "application/json"}')
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not name or any(c in name for c in " :\r\n\0\t"):
            raise ValidationError(f"invalid header name {name!r}")
        if not isinstance(value, str | int | float):
            raise ValidationError(f"header {name!r} must have a string value")
        text = str(value)
        if any(c in text for c in "\r\n\0"):
            raise ValidationError(f"header {name!r} contains a line break")
        out[name] = text
    return out


def _check_path(path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ValidationError(
            f"path must start with '/' and name a route of the environment (e.g. '/web/health'), not {path!r}"
        )
    if any(ord(c) < 33 or ord(c) == 127 for c in path):
        raise ValidationError("path contains spaces or control characters: URL-encode them")
    return path


def _is_text(content_type: str, data: bytes) -> bool:
    ct = content_type.lower()
    if any(t in ct for t in _TEXT_TYPES):
        return True
    if ct:
        return False
    return b"\0" not in data[:4096]


def _headers_dict(msg: Message) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for name, value in msg.items():
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def _charset(content_type: str) -> str:
    msg = Message()
    msg["content-type"] = content_type or "text/plain"
    return msg.get_content_charset() or "utf-8"


def _exchange(
    req: urllib.request.Request, deadline: boundedhttp.Deadline, what: str
) -> tuple[Any, bytes, bool]:
    """(response, body, truncated) of ``req``, all of it within ``deadline``."""
    try:
        resp = boundedhttp.opener(deadline, _NoRedirect()).open(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        resp = exc  # 4xx/5xx and (unfollowed) redirects are answers too
    except (urllib.error.URLError, OSError) as exc:
        reason = f"no answer within {TIMEOUT} s" if deadline.fired else getattr(exc, "reason", exc)
        raise ExternalCommandError(f"no answer from the environment's Odoo: {reason}", command=what) from None
    try:
        raw, truncated = boundedhttp.read_capped(resp, MAX_BODY, deadline)
    except boundedhttp.DeadlineExceeded as exc:
        raise ExternalCommandError(f"reading the answer failed: {exc}", command=what) from None
    except (OSError, HTTPException) as exc:
        raise ExternalCommandError(f"reading the answer failed: {exc}", command=what) from None
    finally:
        resp.close()
    return resp, raw, truncated


def http_request_to_odoo(
    app: App,
    team: TeamConfig,
    branch: str,
    method: str = "GET",
    path: str = "/web/health",
    headers: Mapping[str, Any] | str | None = None,
    body: str = "",
) -> dict[str, Any]:
    """Send one HTTP request to the environment's Odoo and return status, headers and body."""
    verb = (method or "GET").upper()
    if verb not in METHODS:
        raise ValidationError(f"method must be one of {', '.join(METHODS)}")
    _check_path(path)
    hdrs = parse_headers(headers)
    data = body.encode("utf-8") if body else None
    if data is not None and len(data) > MAX_REQUEST_BODY:
        raise ValidationError(f"body larger than {MAX_REQUEST_BODY // (1024 * 1024)} MB")
    env = get_env(app, team, branch)
    container = running_container(app, env)
    ip = runtime.container_ip(app, container)
    if not ip:
        raise ConflictError(f"environment '{env.branch}' has no network address: restart_environment")
    url = f"http://{ip}:{runtime.ODOO_PORT}{path}"
    parts = urlsplit(url)
    if parts.hostname != ip or parts.port != runtime.ODOO_PORT:
        raise ValidationError(f"path {path!r} does not stay on the environment's server")
    req = urllib.request.Request(url, data=data, headers=hdrs, method=verb)  # noqa: S310 - own container
    started = time.monotonic()
    with boundedhttp.Deadline(TIMEOUT) as deadline:
        resp, raw, truncated = _exchange(req, deadline, f"{verb} {path}")
    elapsed = round((time.monotonic() - started) * 1000, 1)
    resp_headers = resp.headers
    content_type = resp_headers.get("Content-Type", "") if resp_headers is not None else ""
    result: dict[str, Any] = {
        "status": resp.status if hasattr(resp, "status") and resp.status is not None else resp.code,
        "reason": getattr(resp, "reason", ""),
        "headers": _headers_dict(resp_headers) if resp_headers is not None else {},
        "elapsed_ms": elapsed,
        "body_truncated": truncated,
    }
    if _is_text(content_type, raw):
        try:
            result["body"] = raw.decode(_charset(content_type), errors="replace")
        except LookupError:  # unknown charset name
            result["body"] = raw.decode("utf-8", errors="replace")
    else:
        size = resp_headers.get("Content-Length") if resp_headers is not None else None
        result["body"] = (
            f"<binary body: {size or len(raw)} bytes, content-type {content_type or 'unknown'}; not shown>"
        )
    return result
