"""Bounded work: HTTP with an overall deadline and a size cap, per-team operation slots, the MCP
surface's own worker pool. Real sockets and real lock files, no Docker."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from oduflow import boundedhttp, catalog
from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import BusyError, ConfigError, ExternalCommandError
from oduflow.locks import LockManager
from oduflow.services import odoo_http
from oduflow.surfaces.mcp import SPARE_WORKERS, worker_limiter


@contextmanager
def server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A real TCP server on 127.0.0.1 that hands every connection to ``answer``; its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_answer, args=(answer, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def _answer(answer: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with conn:
        conn.recv(65536)
        with contextlib.suppress(OSError):  # the client hung up (deadline): what the test wants
            answer(conn)


def drip_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(600):  # one header byte every 50 ms, each read well within any socket timeout
        conn.sendall(b"X")
        time.sleep(0.05)


def drip_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        conn.sendall(b"x")
        time.sleep(0.05)


def endless_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    while True:
        conn.sendall(b"y" * 65536)


def quick(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nnope!")


def exchange(url: str, seconds: float) -> tuple[int, bytes, bool]:
    req = urllib.request.Request(url + "/web/health")
    with boundedhttp.Deadline(seconds) as deadline:
        resp, body, truncated = odoo_http._exchange(req, deadline, "GET /web/health")
    return resp.status if hasattr(resp, "status") else resp.code, body, truncated


@pytest.mark.parametrize("answer", [drip_headers, drip_body], ids=["headers", "body"])
def test_a_dripping_server_holds_the_request_no_longer_than_its_deadline(
    answer: Callable[[socket.socket], None],
) -> None:
    with server(answer) as url:
        started = time.monotonic()
        with pytest.raises(ExternalCommandError, match="within 1 s"):
            exchange(url, 1)
        assert time.monotonic() - started < 10  # the server would go on for 30 s and more


def test_an_endless_body_is_cut_at_the_cap() -> None:
    with server(endless_body) as url:
        status, body, truncated = exchange(url, 30)
    assert status == 200 and truncated and len(body) == odoo_http.MAX_BODY


def test_an_answer_within_the_deadline_is_returned_whole() -> None:
    with server(quick) as url:
        assert exchange(url, 30) == (404, b"nope!", False)


def test_a_deadline_that_passed_refuses_to_connect() -> None:
    with server(quick) as url, boundedhttp.Deadline(0.01) as deadline:
        time.sleep(0.05)
        with pytest.raises(OSError, match="no answer within"):
            boundedhttp.opener(deadline).open(url, timeout=5)


# --- per-team operation slots ------------------------------------------------------------------
def test_slots_refuse_beyond_the_limit_and_come_back(tmp_path: Path) -> None:
    server_locks, cli_locks = LockManager(tmp_path), LockManager(tmp_path)  # two processes' views
    with ExitStack() as running:
        running.enter_context(server_locks.slot("team:1", 2, "run_odoo_command", holder="team '1'"))
        tests = running.enter_context(ExitStack())
        tests.enter_context(cli_locks.slot("team:1", 2, "run_odoo_tests", holder="team '1'"))
        with pytest.raises(BusyError) as err:
            running.enter_context(server_locks.slot("team:1", 2, "list_environments", holder="team '1'"))
        assert "team '1' already runs 2 operation(s) (run_odoo_command, run_odoo_tests)" in str(err.value)
        with server_locks.slot("team:2", 2, "list_environments", holder="team '2'"):
            pass  # another team's slots are its own
        tests.close()  # the tests finished: their slot comes back
        with cli_locks.slot("team:1", 2, "list_environments", holder="team '1'"):
            pass


def test_catalog_admission_counts_the_team_limit(tmp_path: Path) -> None:
    cfg = parse(
        {
            "storage": {"data_dir": str(tmp_path)},
            "limits": {"max_concurrent_per_team": 3},
            "team": {"a": {}, "a-b": {}},
        }
    )
    app = App(cfg)
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(catalog.admission(app, cfg.team("a"), "run_odoo_command"))
        with pytest.raises(BusyError, match="team 'a' already runs 3"):
            catalog.invoke(app, cfg.team("a"), "get_agent_instructions", {})
        assert catalog.invoke(app, cfg.team("a-b"), "get_agent_instructions", {})
    assert catalog.invoke(app, cfg.team("a"), "get_agent_instructions", {})


def test_the_limit_is_configurable_and_checked() -> None:
    assert parse({}).limits.max_concurrent_per_team == 4
    with pytest.raises(ConfigError, match="max_concurrent_per_team"):
        parse({"limits": {"max_concurrent_per_team": 0}})


def test_the_mcp_workers_hold_every_team_at_its_limit() -> None:
    teams = {str(i): {} for i in range(1, 6)}
    app = App(parse({"limits": {"max_concurrent_per_team": 3}, "team": teams}))
    assert worker_limiter(app).total_tokens == 5 * 3 + SPARE_WORKERS
