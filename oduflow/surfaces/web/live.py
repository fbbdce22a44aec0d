"""Live logs: ``GET /api/environments/{branch}/logs/stream?n=200`` as Server-Sent Events.

The last ``n`` lines of the environment's container log, then the lines it prints, as
``event: lines`` (data ``{"lines": [...]}``), then one ``event: end`` (data ``{"reason": ...}``).
The service (:func:`oduflow.services.odoo_ops.follow_environment_logs`) bounds the stream with a
deadline and a line cap; it is also closed as soon as the client goes away. Errors before the
stream starts (unknown environment, bad ``n``) are the usual JSON error with its HTTP status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import suppress

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from oduflow.app import App
from oduflow.docker_api import LogFollower
from oduflow.errors import BusyError, OduflowError, ValidationError
from oduflow.services import odoo_ops
from oduflow.surfaces.http_errors import BASIC, error_response
from oduflow.surfaces.web.auth import request_team

log = logging.getLogger("oduflow.web.live")

DEFAULT_LINES = 200
MAX_STREAMS = 32
"""Live log streams the server follows at once (one thread each)."""
HEARTBEAT_S = 15.0
"""Seconds between keep-alive comments: a client that left is noticed by then at the latest."""
BATCH = 500
"""Lines sent in one event at most."""
_THREAD_NAME = "oduflow-log-follow"


def _lines_param(request: Request) -> int:
    raw = request.query_params.get("n", str(DEFAULT_LINES))
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"n must be a whole number of lines, not {raw!r}") from None


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _pump(follower: LogFollower, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Worker thread: the follower's lines onto ``queue``, then ``None``."""

    def put(item: str | None) -> None:
        with suppress(RuntimeError):  # the loop closed: nobody listens any more
            loop.call_soon_threadsafe(queue.put_nowait, item)

    try:
        for line in follower.lines():
            put(line)
    except Exception:
        log.exception("following a container log failed")
        follower.reason = "error reading the log"
    finally:
        put(None)


async def _events(follower: LogFollower, branch: str) -> AsyncIterator[str]:
    """The SSE body; the follower is closed whatever ends it (end, error, client gone)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    threading.Thread(target=_pump, args=(follower, loop, queue), name=_THREAD_NAME, daemon=True).start()
    try:
        done = False
        while not done:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
                continue
            batch: list[str] = []
            while item is not None:  # what else is queued already goes in the same event
                batch.append(item)
                if len(batch) >= BATCH or queue.empty():
                    break
                item = queue.get_nowait()
            done = item is None
            if batch:
                yield _event("lines", {"lines": batch})
        yield _event("end", {"reason": follower.reason})
    finally:
        follower.close()  # "closed" when the client left first
        log.info("live log of %s ended (%s)", branch, follower.reason)


def _streams() -> int:
    return sum(t.name == _THREAD_NAME for t in threading.enumerate())


async def log_stream(app: App, request: Request) -> Response:
    """Follow the log of the caller's team's environment ``{branch}`` (see the module doc)."""
    try:
        team = request_team(request)
        lines = _lines_param(request)
        if _streams() >= MAX_STREAMS:
            raise BusyError(f"{MAX_STREAMS} live logs are followed already; close one and retry")
        branch = request.path_params["branch"]
        follower = await run_in_threadpool(odoo_ops.follow_environment_logs, app, team, branch, lines)
    except OduflowError as exc:
        return error_response(exc, challenge=BASIC)
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(_events(follower, branch), media_type="text/event-stream", headers=headers)


def routes(app: App) -> list[BaseRoute]:
    """The live log route."""

    async def stream(request: Request) -> Response:
        return await log_stream(app, request)

    # {branch:path}: a branch may hold slashes (feature/login), as in the REST API
    return [Route("/api/environments/{branch:path}/logs/stream", stream, methods=["GET"], name="log_stream")]
