"""The REST API: one route per row of :data:`ENDPOINTS`, each one catalog call.

A row says which tool a method and path run and where each of the tool's arguments comes from:
the path, the query string or (for POST) a JSON object body. The catalog validates them, takes
the team's operation slot and the tool's lock, as for MCP; the team is the one the web
authentication resolved (:func:`oduflow.surfaces.web.auth.request_team`).

Answers: ``{"ok": true, "result": <the tool's result>}``; errors ``{"ok": false, "error",
"type"}`` with the error's HTTP status. With ``Accept: text/event-stream`` the call streams
``event: progress`` (``{"message": ...}``) per progress message, then one ``event: result``
with that same body. Blocking work runs in a worker thread of the surface's own pool, once the
call was admitted among its team's operations (as in :mod:`oduflow.surfaces.mcp`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectSendStream
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from oduflow import catalog
from oduflow.app import App
from oduflow.contracts import Progress, no_progress
from oduflow.errors import NotFoundError, OduflowError, ValidationError
from oduflow.surfaces.http_errors import BASIC, error_response
from oduflow.surfaces.mcp import worker_limiter
from oduflow.surfaces.web.auth import request_team

log = logging.getLogger("oduflow.web.api")

MAX_BODY_BYTES = 1 << 20
EVENT_STREAM = "text/event-stream"
BRANCH = {"branch": "branch_name"}
NAME = {"name": "name"}


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint: ``method`` and ``path`` run ``tool``; its arguments come from the
    path (``path_args``: parameter -> argument), the query string (``query_args``) and, for a
    POST, the other ones from a JSON object body."""

    method: Literal["GET", "POST"]
    path: str
    tool: str
    path_args: Mapping[str, str] = field(default_factory=dict)
    query_args: Mapping[str, str] = field(default_factory=dict)

    @property
    def route_path(self) -> str:
        """The Starlette path: a branch may hold slashes (``feature/login``)."""
        return self.path.replace("{branch}", "{branch:path}")

    @property
    def body(self) -> bool:
        return self.method == "POST"


def _branch_action(action: str, tool: str) -> Endpoint:
    return Endpoint("POST", f"/api/environments/{{branch}}/{action}", tool, BRANCH)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/environments", "list_environments"),
    Endpoint("POST", "/api/environments/create", "create_environment"),
    _branch_action("start", "start_environment"),
    _branch_action("stop", "stop_environment"),
    _branch_action("restart", "restart_environment"),
    _branch_action("sync", "pull_and_apply"),
    _branch_action("recreate", "recreate_environment"),
    _branch_action("delete", "delete_environment"),
    Endpoint("GET", "/api/environments/{branch}/logs", "get_environment_logs", BRANCH, {"n": "lines"}),
    _branch_action("protect", "protect_environment"),
    _branch_action("unprotect", "unprotect_environment"),
    Endpoint("GET", "/api/stats", "get_system_stats"),
    Endpoint("GET", "/api/templates", "list_templates"),
    Endpoint("GET", "/api/agent-guides", "list_agent_guides"),
    Endpoint("GET", "/api/agent-guides/{filename}", "get_agent_guide", {"filename": "filename"}),
    Endpoint("GET", "/api/credentials", "list_repo_credentials"),
    Endpoint("POST", "/api/credentials/add", "setup_repo_auth"),
    Endpoint("POST", "/api/credentials/delete", "delete_repo_credential"),
    Endpoint("POST", "/api/credentials/validate", "validate_repo_credential"),
    Endpoint("GET", "/api/services", "list_services"),
    Endpoint("POST", "/api/services/create", "create_service"),
    Endpoint("POST", "/api/services/{name}/update", "update_service", NAME),
    Endpoint("POST", "/api/services/{name}/delete", "delete_service", NAME),
    Endpoint("GET", "/api/services/{name}/logs", "get_service_logs", NAME, {"n": "lines"}),
    Endpoint("GET", "/api/service-presets", "list_service_presets"),
    Endpoint("POST", "/api/service-presets/restore", "restore_service"),
    Endpoint("POST", "/api/service-presets/{name}/delete", "delete_service_preset", NAME),
    Endpoint("GET", "/api/extra-repos", "list_extra_repos"),
    Endpoint("POST", "/api/extra-repos/add", "add_extra_repo"),
    Endpoint("POST", "/api/extra-repos/{name}/pull", "update_extra_repo", NAME),
    Endpoint("POST", "/api/extra-repos/{name}/protect", "protect_extra_repo", NAME),
    Endpoint("POST", "/api/extra-repos/{name}/unprotect", "unprotect_extra_repo", NAME),
    Endpoint("POST", "/api/extra-repos/{name}/delete", "delete_extra_repo", NAME),
)
"""The reference's "REST API Endpoints" (environments, system, agent guides, credentials, services,
extra addons; the terminal socket is :mod:`oduflow.surfaces.web.terminal`'s)."""


async def read_json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty), at most :data:`MAX_BODY_BYTES`."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ValidationError(f"the request body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object of the tool's arguments")
    return body


async def arguments(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    """The tool's raw arguments from the path, the query string and the body."""
    values: dict[str, Any] = {arg: request.path_params[name] for name, arg in endpoint.path_args.items()}
    query = request.query_params
    values.update({arg: query[name] for name, arg in endpoint.query_args.items() if name in query})
    if endpoint.body:
        body = await read_json_body(request)
        clash = sorted(body.keys() & values.keys())
        if clash:
            raise ValidationError(f"{endpoint.tool}: {', '.join(clash)}: given in the URL, not in the body")
        values.update(body)
    return values


async def call_tool(
    app: App,
    endpoint: Endpoint,
    request: Request,
    limiter: anyio.CapacityLimiter,
    progress: Progress,
) -> Any:
    """The tool's result as JSON data; an unexpected failure becomes an :class:`OduflowError`
    (its traceback goes to the server log, never to the client)."""
    try:
        team = request_team(request)
        values = await arguments(endpoint, request)
        work = functools.partial(
            app.catalog.invoke, app, team, endpoint.tool, values, progress, admitted=True
        )
        # admitted before a worker is taken: a team over its limit never occupies one
        with catalog.admission(app, team, endpoint.tool):
            result = await anyio.to_thread.run_sync(work, limiter=limiter)
        return to_jsonable_python(result)
    except OduflowError:
        raise
    except Exception as exc:  # mapped once, here: the client gets no traceback
        log.exception("%s %s failed", endpoint.method, request.url.path)
        raise OduflowError(f"internal error ({type(exc).__name__}); the server log has the details") from None


def _sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class EventStream(Response):
    """``event: progress`` per message of ``run``'s progress sink, then ``event: result``."""

    media_type = EVENT_STREAM

    def __init__(self, run: Callable[[Progress], Awaitable[dict[str, Any]]]) -> None:
        super().__init__(headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
        del self.headers["content-length"]  # a stream: its length is not known
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sender, receiver = anyio.create_memory_object_stream[tuple[str, object]](math.inf)

        async def produce() -> None:
            async with sender:
                body = await self.run(_progress_to(sender))
                await sender.send(("result", body))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(produce)
            async with receiver:
                async for event, data in receiver:
                    await send({"type": "http.response.body", "body": _sse(event, data), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _progress_to(sender: MemoryObjectSendStream[tuple[str, object]]) -> Progress:
    """A progress sink for the worker thread: each message onto ``sender`` (best effort)."""

    def progress(message: str) -> None:
        try:
            anyio.from_thread.run_sync(sender.send_nowait, ("progress", {"message": message}))
        except Exception:  # noqa: BLE001 - progress is best effort (stream closed, loop gone)
            log.debug("progress not delivered: %s", message)

    return progress


def _handler(
    app: App, endpoint: Endpoint, limiter: anyio.CapacityLimiter
) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        if EVENT_STREAM in request.headers.get("accept", ""):

            async def run(progress: Progress) -> dict[str, Any]:
                try:
                    return {"ok": True, "result": await call_tool(app, endpoint, request, limiter, progress)}
                except OduflowError as exc:
                    return exc.to_dict()

            return EventStream(run)
        try:
            result = await call_tool(app, endpoint, request, limiter, no_progress)
        except OduflowError as exc:
            return error_response(exc, challenge=BASIC)
        return JSONResponse({"ok": True, "result": result})

    return handle


def routes(app: App, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[BaseRoute]:
    """One route per endpoint, sharing one pool of worker threads."""
    limiter = worker_limiter(app)
    return [
        Route(e.route_path, _handler(app, e, limiter), methods=[e.method], name=e.tool) for e in endpoints
    ]


async def router_error(request: Request, exc: Exception) -> Response:
    """The router's own errors (no route 404, another method 405 with ``Allow``): JSON under
    ``/api/``, plain text elsewhere."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(getattr(exc, "detail", "error"), status, headers=headers)
    if status == 404:
        return error_response(NotFoundError(f"no endpoint {request.method} {request.url.path}"))
    body = {"ok": False, "error": f"{request.method} is not allowed here", "type": "MethodNotAllowed"}
    return JSONResponse(body, status_code=status, headers=headers)


ROUTER_ERRORS = {404: router_error, 405: router_error}
"""Exception handlers of the HTTP app for the router's errors."""
