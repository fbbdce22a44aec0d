"""HTTP requests with an overall deadline and a size cap.

``urllib``'s ``timeout`` bounds each socket operation, not the request: a server that sends one
byte every few seconds (headers or body) would hold the calling worker for as long as it likes.
Here a timer shuts the request's sockets down when its :class:`Deadline` passes, so that any read
blocked on them returns at once, and bodies are read up to a cap. No proxy is ever used: the
request goes to the host of its URL. Plain ``http`` only (what Oduflow asks its own containers).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import threading
import time
import urllib.request
from types import TracebackType
from typing import Any


class DeadlineExceeded(TimeoutError):
    """The request did not complete before its deadline."""


class Deadline:
    """A point in time after which the sockets it watches are shut down (a context manager)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self._expired or time.monotonic() >= self.end

    @property
    def fired(self) -> bool:
        """True once the watched sockets were shut down (what was read since may be cut short)."""
        return self._expired

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Connection(http.client.HTTPConnection):
    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(f"no answer within {self.deadline.seconds:g} s")
        per_operation = self.timeout if isinstance(self.timeout, int | float) else remaining
        self.timeout = min(per_operation, remaining)
        super().connect()
        self.deadline.watch(self.sock)


class _Handler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_Connection, deadline=self.deadline), req)


def opener(deadline: Deadline, *handlers: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    """An opener whose ``http`` requests (redirects followed included) end by ``deadline``."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _Handler(deadline), *handlers)


def read_capped(resp: Any, limit: int, deadline: Deadline) -> tuple[bytes, bool]:
    """(body, truncated): at most ``limit`` bytes of ``resp``; :class:`DeadlineExceeded` when cut off."""
    data = bytearray()
    try:
        while len(data) <= limit:
            chunk = resp.read(min(65536, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    except (OSError, http.client.HTTPException):
        if not deadline.fired:
            raise
    if deadline.fired and len(data) <= limit:
        raise DeadlineExceeded(f"the answer did not complete within {deadline.seconds:g} s")
    return bytes(data[:limit]), len(data) > limit
