"""The web terminal: websocket ``/api/environments/{branch}/terminal`` running ``odoo shell`` on a TTY.

Authenticated and origin-checked like every web path (:class:`~oduflow.surfaces.web.auth.WebAuthMiddleware`);
the environment is the caller's team's. The shell is :func:`oduflow.services.terminal.open_terminal`.

Protocol (see docs/dashboard.md, "Terminal"):

- query ``?cols=C&rows=R``: the terminal's size at start (default 80 x 24);
- browser -> server: **binary** frames are keystrokes (bytes typed on the TTY); **text** frames are
  JSON control messages: ``{"type": "resize", "cols": C, "rows": R}`` or ``{"type": "input",
  "data": "..."}`` (keystrokes as text);
- server -> browser: **binary** frames are what the terminal shows (UTF-8, with escape sequences);
  before closing on an error, one text frame ``{"type": "error", "message": "..."}``;
- close codes: 1000 the shell ended; 4000 + the error's HTTP status for a refused terminal or a bad
  message (4404 no such environment, 4409 stopped or too many terminals open, 4400 bad message,
  4401/4403 authentication, refused at the handshake by the middleware); 4408 idle or too long
  (:data:`~oduflow.services.terminal.IDLE_TIMEOUT`, :data:`~oduflow.services.terminal.MAX_SESSION`).
  The reason says why (cut to the 123 bytes a close frame holds).

When the browser leaves (or any of the above ends the session) the shell is killed in the container.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import anyio
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from oduflow.app import App
from oduflow.errors import OduflowError, ValidationError
from oduflow.services import terminal
from oduflow.services.terminal import Terminal
from oduflow.surfaces.web.auth import request_team

log = logging.getLogger("oduflow.web.terminal")

PATH = "/api/environments/{branch}/terminal"
MAX_INPUT = 64 * 1024
"""Bytes one browser message may carry at most."""
CLOSE_ENDED, CLOSE_TIMEOUT = 1000, 4408


def _size(ws: WebSocket) -> tuple[int, int]:
    try:
        cols, rows = int(ws.query_params.get("cols", 80)), int(ws.query_params.get("rows", 24))
    except ValueError:
        raise ValidationError("cols and rows must be whole numbers") from None
    return terminal.clamp_size(cols, rows)


def _reason(message: str) -> str:
    """``message`` cut to the 123 bytes of a close frame's reason."""
    data = message.encode()
    return message if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


async def _close(ws: WebSocket, code: int, message: str) -> None:
    """Send ``message`` (as an error frame unless the session just ended) and close with ``code``."""
    with suppress(Exception):  # the browser may be gone already
        if code != CLOSE_ENDED:
            await ws.send_text(json.dumps({"type": "error", "message": message}))
        await ws.close(code, _reason(message))


class Session:
    """One browser on one terminal: output, input and the time limits, until the first one ends."""

    def __init__(self, ws: WebSocket, term: Terminal) -> None:
        self.ws, self.term = ws, term
        self.started = self.active = time.monotonic()
        self.end: tuple[int, str] | None = None
        self.stopping = False
        self.scope = anyio.CancelScope()
        # the reader blocks for the whole session: its own token, not one of the shared thread pool's
        self.reader = anyio.CapacityLimiter(1)

    async def run(self) -> tuple[int, str] | None:
        """Pump until the shell ends, the browser leaves or a limit is hit; how it ended
        (``None``: the browser left)."""
        with self.scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._output)
                tg.start_soon(self._input)
                tg.start_soon(self._watch)
        return self.end

    async def _stop(self, end: tuple[int, str] | None) -> None:
        """Record how the session ended (first one wins), unblock the reader, stop the tasks."""
        if self.stopping:
            return
        self.stopping, self.end = True, end
        await anyio.to_thread.run_sync(self.term.process.close)
        self.scope.cancel()

    async def _output(self) -> None:
        tokens, last = float(terminal.OUTPUT_RATE), time.monotonic()
        while data := await anyio.to_thread.run_sync(self.term.read, limiter=self.reader):
            now = time.monotonic()
            self.active = now
            tokens = min(terminal.OUTPUT_RATE, tokens + (now - last) * terminal.OUTPUT_RATE) - len(data)
            last = now
            try:
                await self.ws.send_bytes(data)
            except Exception:  # noqa: BLE001 - the browser left
                await self._stop(None)
                return
            if tokens < 0:  # faster than OUTPUT_RATE: slow the shell down (its TTY fills and blocks it)
                await anyio.sleep(-tokens / terminal.OUTPUT_RATE)
        await self._stop((CLOSE_ENDED, "the shell ended"))

    async def _input(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                await self._stop(None)
                return
            self.active = time.monotonic()
            try:
                await self._handle(message)
            except OduflowError as exc:
                await self._stop((4000 + exc.http_status, str(exc)))
                return

    async def _handle(self, message: Mapping[str, Any]) -> None:
        """One browser message: keystrokes (bytes, or ``{"type": "input"}``) or a resize."""
        raw: bytes | str | None = (
            message.get("bytes") if message.get("bytes") is not None else message.get("text")
        )
        if raw is None or len(raw) > MAX_INPUT:
            raise ValidationError(f"a terminal message holds at most {MAX_INPUT} bytes")
        if isinstance(raw, bytes):
            await anyio.to_thread.run_sync(self.term.write, raw)
            return
        control = _control(raw)
        if control["type"] == "resize":
            await anyio.to_thread.run_sync(self.term.resize, control["cols"], control["rows"])
        else:
            await anyio.to_thread.run_sync(self.term.write, control["data"].encode())

    async def _watch(self) -> None:
        while True:
            await anyio.sleep(1)
            now = time.monotonic()
            if now - self.active > terminal.IDLE_TIMEOUT:
                minutes = terminal.IDLE_TIMEOUT / 60
                await self._stop((CLOSE_TIMEOUT, f"closed after {minutes:g} min without input or output"))
                return
            if now - self.started > terminal.MAX_SESSION:
                hours = terminal.MAX_SESSION / 3600
                await self._stop((CLOSE_TIMEOUT, f"closed: a terminal stays open {hours:g} h at most"))
                return


def _control(text: str) -> dict[str, Any]:
    """A JSON control message, checked: ``resize`` (whole ``cols``, ``rows``) or ``input`` (``data``)."""
    try:
        control = json.loads(text)
    except ValueError:
        control = None
    if isinstance(control, dict) and control.get("type") == "resize":
        cols, rows = control.get("cols"), control.get("rows")
        if isinstance(cols, int) and isinstance(rows, int):
            return control
    if isinstance(control, dict) and control.get("type") == "input" and isinstance(control.get("data"), str):
        return control
    raise ValidationError(
        'a text message must be {"type": "resize", "cols": C, "rows": R} or {"type": "input", "data": "..."}'
    )


async def serve_terminal(app: App, ws: WebSocket) -> None:
    """Open the caller's team's environment's shell on ``ws`` and pump until one side ends."""
    team = request_team(ws)
    await ws.accept()
    try:
        cols, rows = _size(ws)
        term = await anyio.to_thread.run_sync(
            terminal.open_terminal, app, team, ws.path_params["branch"], cols, rows
        )
    except OduflowError as exc:
        await _close(ws, 4000 + exc.http_status, str(exc))
        return
    log.info("terminal opened on '%s' (team %s)", term.branch, team.id)
    try:
        end = await Session(ws, term).run()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(term.close)
    log.info("terminal on '%s' (team %s) closed", term.branch, team.id)
    if end is not None:
        await _close(ws, *end)


def routes(app: App) -> list[BaseRoute]:
    """The terminal's websocket route."""

    async def endpoint(ws: WebSocket) -> None:
        await serve_terminal(app, ws)

    return [WebSocketRoute(PATH, endpoint)]
