"""Oduflow in traefik mode on the session's instance, and requests through the real Traefik.

The instance (same prefix, data and PostgreSQL) gets a second configuration with
``[routing].mode = "traefik"``: ``system.init`` starts the Traefik test image (the real binary,
``tests/images/traefik.py``) on the instance's Docker network, its entry points published on
loopback ports only. No ACME server is reachable here (``acme_ca_server`` points to a closed
port inside the Traefik container), so Traefik serves its default certificate; routing by the
``Host`` header is what these tests look at. Teams: ``1`` (``t1.oduflow.test``) and ``2``
(``t2.oduflow.test``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import docker
import httpx

from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ExternalCommandError
from tests.fixtures.instance import Instance
from tests.images.traefik import ensure_traefik_image

HOSTNAMES = {"1": "t1.oduflow.test", "2": "t2.oduflow.test"}
NO_ACME = "https://127.0.0.1:9/directory"
"""A closed port inside the Traefik container: certificate requests fail at once, offline."""


@dataclass
class TraefikMode:
    """The traefik-mode :class:`App` and the loopback ports of Traefik's entry points."""

    app: App
    http_port: int
    https_port: int

    def host(self, team: str, slug: str) -> str:
        """The host name of environment ``slug`` of ``team`` (``{slug}.{hostname}``)."""
        return f"{slug}.{HOSTNAMES[team]}"

    def get(self, host: str, path: str = "/web/health", *, tls: bool = True) -> httpx.Response:
        """``GET path`` sent to Traefik with ``Host: host`` (and TLS SNI ``host``), no redirect followed."""
        port, scheme = (self.https_port, "https") if tls else (self.http_port, "http")
        with httpx.Client(verify=False, timeout=30, trust_env=False) as client:
            return client.get(
                f"{scheme}://127.0.0.1:{port}{path}",
                headers={"Host": host},
                extensions={"sni_hostname": host} if tls else {},
            )

    def wait(
        self, host: str, path: str, done: Callable[[httpx.Response], bool], timeout: float = 60
    ) -> httpx.Response:
        """The first answer for ``host`` that ``done`` accepts (Traefik follows Docker's events)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                resp: httpx.Response | None = self.get(host, path)
            except httpx.TransportError:  # Traefik still starting
                resp = None
            if resp is not None and done(resp):
                return resp
            if time.monotonic() > deadline:
                last = "no answer" if resp is None else f"{resp.status_code} {resp.text[:200]!r}"
                raise AssertionError(f"{host}{path}: no expected answer within {timeout:.0f}s ({last})")
            time.sleep(0.3)

    def login_database(self, host: str) -> str:
        """The database named by the ``/web/login`` page served for ``host`` ("" if none)."""
        resp = self.get(host, "/web/login")
        marker = 'name="db" value="'
        if resp.status_code != 200 or marker not in resp.text:
            return ""
        return resp.text.split(marker, 1)[1].split('"', 1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct loopback TCP ports free at the moment (Docker may still lose the race: :func:`started`)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def routing_toml(instance: Instance, image: str, http_port: int, https_port: int) -> str:
    """The ``[routing]`` and ``[team.*]`` sections of the traefik-mode configuration."""
    return (
        f'[routing]\nmode = "traefik"\nacme_email = "ops@oduflow.test"\nacme_ca_server = "{NO_ACME}"\n'
        f'traefik_image = "{image}"\nbind_address = "127.0.0.1"\n'
        f"http_port = {http_port}\nhttps_port = {https_port}\n"
        f'[team.1]\nhostname = "{HOSTNAMES["1"]}"\nport_range = [56100, 56150]\n'
        f'[team.2]\nhostname = "{HOSTNAMES["2"]}"\nport_range = [56150, 56200]\n'
    )


@contextlib.contextmanager
def started(instance: Instance, client: docker.DockerClient, name: str) -> Iterator[TraefikMode]:
    """A traefik-mode App whose Traefik runs until the block ends (then it is removed)."""
    from oduflow.services import system

    image = ensure_traefik_image(client)
    for attempt in range(3):
        ports = free_ports(2)
        path = instance.write_config(f"{name}.toml", routing_toml(instance, image, *ports))
        app = App(load(path))
        try:
            system.init(app)
            break
        except ExternalCommandError:  # a loopback port taken in between
            app.router.destroy_infrastructure()
            if attempt == 2:
                raise
    mode = TraefikMode(app, *ports)
    try:
        mode.wait("unknown.oduflow.test", "/", lambda r: r.status_code == 404)
        yield mode
    finally:
        app.router.destroy_infrastructure()
