"""The real server as a subprocess (``oduflow --host 127.0.0.1 --port N``) for end-to-end tests.

Two servers share the session's test instance (same data directory and PostgreSQL):
``auth_server`` has a bearer token per team, ``open_server`` has none (teams are told
apart by the ``Host`` header). Each server's stderr goes to a file; when a test fails, what
the servers logged during that test is attached to its report.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.fixtures.instance import Instance

TOKENS = {"1": "tok-1", "2": "tok-2"}
TEAM2_HOST = "team2.localhost"
AUTH_TEAMS = (
    f'[team.1]\nauth_token = "{TOKENS["1"]}"\nport_range = [56100, 56150]\n'
    f'[team.2]\nhostname = "{TEAM2_HOST}"\nauth_token = "{TOKENS["2"]}"\nport_range = [56150, 56200]\n'
)
OPEN_TEAMS = (
    "[team.1]\nport_range = [56100, 56150]\n"
    f'[team.2]\nhostname = "{TEAM2_HOST}"\nport_range = [56150, 56200]\n'
)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def oduflow_executable() -> str:
    """The ``oduflow`` script of the running environment (``.venv/bin/oduflow``)."""
    return str(Path(sys.executable).with_name("oduflow"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LogFile:
    """A log written by a subprocess; :meth:`since` reads what was added after an offset."""

    name: str
    path: Path

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, offset: int = 0) -> str:
        if not self.path.exists():
            return ""
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")


LOGS: list[LogFile] = []
"""Logs of the subprocesses alive now, reported when a test fails."""
_OFFSETS = pytest.StashKey[dict[str, int]]()


@dataclass
class Server:
    """A running ``oduflow`` HTTP server."""

    port: int
    config_path: Path
    proc: subprocess.Popen[bytes]
    log: LogFile
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(
                f"oduflow exited with {server.proc.returncode} before serving:\n{server.log.since()}",
                pytrace=False,
            )
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"oduflow did not answer /healthz within {START_TIMEOUT_S:.0f} s:\n{server.log.since()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


def start_server(config_path: Path, log_path: Path) -> Iterator[Server]:
    """Start ``oduflow`` on a free loopback port, wait for ``/healthz``, stop it afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ODUFLOW_")}
    env["ODUFLOW_TOML"] = str(config_path)
    port = free_port()
    log = LogFile(f"oduflow server :{port} ({config_path.name}) stderr", log_path)
    with log_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [oduflow_executable(), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, config_path=config_path, proc=proc, log=log)
    LOGS.append(log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        try:
            _stop(proc)
        finally:
            LOGS.remove(log)


@pytest.fixture(scope="session")
def auth_server(instance: Instance) -> Iterator[Server]:
    """The server with ``auth_token`` set for both teams (team 2 also has its own hostname)."""
    config = instance.write_config("e2e-auth.toml", teams=AUTH_TEAMS)
    yield from start_server(config, instance.root / "e2e-auth-server.log")


@pytest.fixture(scope="session")
def open_server(instance: Instance) -> Iterator[Server]:
    """The server without tokens: the ``Host`` header picks the team."""
    config = instance.write_config("e2e-open.toml", teams=OPEN_TEAMS)
    yield from start_server(config, instance.root / "e2e-open-server.log")


@pytest.fixture(autouse=True)
def _mark_logs(request: pytest.FixtureRequest) -> None:
    """Remember where each live log ends, so a failure report shows this test's part only."""
    request.node.stash[_OFFSETS] = {log.name: log.size() for log in LOGS}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        offsets = item.stash.get(_OFFSETS, {})
        for log in LOGS:
            report.sections.append((log.name, log.since(offsets.get(log.name, 0)) or "(empty)"))
    return report
