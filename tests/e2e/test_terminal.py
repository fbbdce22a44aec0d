"""The web terminal for real: the ``oduflow`` server, a websocket client, ``odoo shell`` on a TTY
in a running environment (stand-in image), and ``ps`` in its container after the client left."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from oduflow import docker_api
from oduflow.app import App
from oduflow.services import terminal
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import TEAM, call, environment
from tests.e2e.conftest import Server, start_server
from tests.fixtures.instance import Instance, make_remote

BRANCH = "web-terminal"
PASSWORD = "term-pw"
TEAMS = f'[team.1]\nui_password = "{PASSWORD}"\nport_range = [56100, 56150]\n'
PROMPT = ">>> "
WAIT_S = 60.0


@pytest.fixture(scope="module")
def server(instance: Instance) -> Iterator[Server]:
    config = instance.write_config("terminal.toml", teams=TEAMS)
    yield from start_server(config, instance.root / "terminal-server.log")


@pytest.fixture(scope="module")
def branch(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = instance.app()
    with environment(app, BRANCH, make_remote(tmp_path_factory.mktemp("terminal")), instance.odoo_image):
        yield BRANCH


def auth(password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}


def url(server: Server, branch: str, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/api/environments/{branch}/terminal{query}"


ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
"""Terminal control sequences (readline's bracketed-paste switches, cursor moves) and carriage returns."""


class Screen:
    """What the terminal showed so far (control sequences left out), read until a pattern appears."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.raw = ws, ""

    @property
    def text(self) -> str:
        return ESCAPE.sub("", self.raw)

    def until(self, pattern: str, start: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + WAIT_S
        while not (found := re.compile(pattern).search(self.text, start)):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} within {WAIT_S} s; the terminal showed:\n{self.raw!r}"
            frame = self.ws.recv(timeout=left)
            assert isinstance(frame, bytes), frame
            self.raw += frame.decode(errors="replace")
        return found

    def run(self, line: str) -> str:
        """Type ``line`` + Enter at the prompt; what it printed before the next prompt."""
        start = len(self.text)
        self.ws.send(line.encode() + b"\r")
        return self.until(r"\n((?:.*\n)*?)>>> ", start).group(1).strip()


def closing(ws: ClientConnection) -> tuple[int, str, list[dict[str, Any]]]:
    """(close code, reason, the text frames before it) once the server closes ``ws``."""
    texts: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frame = ws.recv(timeout=WAIT_S)
            if isinstance(frame, str):
                texts.append(json.loads(frame))
    rcvd = closed.value.rcvd
    assert rcvd is not None, "the connection ended without a close frame"
    return rcvd.code, rcvd.reason, texts


def shells(app: App, branch: str) -> list[str]:
    """The ``odoo shell`` processes in the environment's container (``ps`` inside it)."""
    container = docker_api.get_container(
        app.docker(), get_env(app, app.config.team(TEAM), branch).container_name
    )
    assert container is not None
    res = docker_api.exec_in(container, ["ps", "-eo", "pid,pgid,args"], user="root", timeout=30)
    return [ln for ln in res.stdout.splitlines() if "odoo shell" in ln and "ps -eo" not in ln]


def test_shell_answers_with_line_editing_and_resize(app: App, server: Server, branch: str) -> None:
    expected = call(
        app, "run_odoo_shell", branch_name=branch, code="print(env['res.users'].search_count([]))"
    )
    assert expected["ok"], expected
    with connect(url(server, branch, "?cols=90&rows=20"), additional_headers=auth()) as ws:
        screen = Screen(ws)
        screen.until(PROMPT)
        assert "env: " in screen.text  # Odoo's console lists its variables first
        assert screen.run("print(env['res.users'].search_count([]))") == expected["stdout"].strip()
        # readline: cursor left before ")" and insert, as on a real terminal
        assert screen.run("print(4)\x1b[D2").endswith("42")
        assert screen.run("import os; print(tuple(os.get_terminal_size()))").endswith("(90, 20)")
        ws.send(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
        assert screen.run("print(tuple(os.get_terminal_size()))").endswith("(120, 40)")
        ws.send(b"while True: pass\r\r")  # Ctrl-C interrupts it and the console goes on
        screen.until(r"\.\.\. \n", len(screen.text))
        time.sleep(0.5)
        ws.send(b"\x03")
        screen.until(r"KeyboardInterrupt\n>>> ", len(screen.text))
        ws.send(json.dumps({"type": "input", "data": "print(6 * 7)\r"}))
        screen.until(r"\n42\n>>> ", len(screen.text))


def assert_no_shell_left(app: App, branch: str) -> None:
    deadline = time.monotonic() + 20
    while (left := shells(app, branch)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert left == [], "a shell outlived its browser"


def test_leaving_kills_the_shell(app: App, server: Server, branch: str) -> None:
    with connect(url(server, branch), additional_headers=auth()) as ws:
        Screen(ws).until(PROMPT)
        assert shells(app, branch), "the terminal's shell should run in the container"
    assert_no_shell_left(app, branch)


def test_the_shell_ending_closes_the_socket(app: App, server: Server, branch: str) -> None:
    with connect(url(server, branch), additional_headers=auth()) as ws:
        Screen(ws).until(PROMPT)
        ws.send(b"\x04")  # Ctrl-D on an empty line ends the console
        code, reason, _ = closing(ws)
    assert (code, reason) == (1000, "the shell ended")
    assert shells(app, branch) == []


def test_team_terminal_limit(app: App, server: Server, branch: str) -> None:
    with ExitStack() as stack:
        for _ in range(terminal.MAX_TERMINALS_PER_TEAM):
            Screen(stack.enter_context(connect(url(server, branch), additional_headers=auth()))).until(PROMPT)
        with connect(url(server, branch), additional_headers=auth()) as extra:
            code, _, texts = closing(extra)
        assert code == 4409  # BusyError
        assert "3 terminals open" in texts[0]["message"]
    assert_no_shell_left(app, branch)
    time.sleep(1)  # the slots are freed just after the shells are killed


def test_bad_message_closes_with_its_reason(server: Server, branch: str) -> None:
    with connect(url(server, branch), additional_headers=auth()) as ws:
        Screen(ws).until(PROMPT)
        ws.send('{"type": "paste"}')
        code, reason, texts = closing(ws)
    assert code == 4400 and reason.startswith("a text message must be")
    assert texts == [{"type": "error", "message": texts[0]["message"]}]


def test_wrong_password_and_foreign_origin_are_refused(server: Server, branch: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(url(server, branch), additional_headers=auth("wrong"))
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as refused:
        connect(url(server, branch), additional_headers=auth(), origin=Origin("http://evil.example"))
    assert refused.value.response.status_code == 403


def test_unknown_environment(server: Server) -> None:
    with connect(url(server, "no-such-branch"), additional_headers=auth()) as ws:
        code, reason, texts = closing(ws)
    assert code == 4404 and "no environment for branch 'no-such-branch'" in reason
    assert texts[0]["type"] == "error"


def test_stopped_environment_gets_a_clear_message(app: App, server: Server, branch: str) -> None:
    call(app, "stop_environment", branch_name=branch)
    try:
        with connect(url(server, branch), additional_headers=auth()) as ws:
            code, reason, texts = closing(ws)
        assert code == 4409
        assert reason == texts[0]["message"] == f"environment '{branch}' is stopped: start it first"
    finally:
        call(app, "start_environment", branch_name=branch)
