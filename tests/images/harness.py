"""Helpers for tests that run the test images: resources, a PostgreSQL server, Odoo runs, log parsing.

:class:`Lab` creates Docker resources named ``oduflowtest-img-*`` and labelled ``oduflow.test=true``
and removes them all in :meth:`Lab.cleanup`; :class:`StandinEnv` starts the PostgreSQL image on a
private network and runs the Odoo stand-in image against it.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import psycopg

LABELS = {"oduflow.test": "true"}
PG_PASSWORD = "img-secret"
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (\w+) (\S+) (\S+?): ?(.*)$")


@dataclass
class Run:
    """Outcome of one Odoo stand-in container."""

    rc: int
    stdout: str
    stderr: str


def records(log: str) -> list[tuple[str, str, str]]:
    """``(level, logger, message-with-continuation-lines)`` of a log, database names left out."""
    found: list[tuple[str, str, str]] = []
    for line in log.splitlines():
        match = _RECORD.match(line)
        if match:
            level, _db, logger, message = match.groups()
            found.append((level, logger, message.rstrip()))
        elif found:
            level, logger, message = found[-1]
            found[-1] = (level, logger, message + "\n" + line.rstrip())
    return found


def messages(log: str) -> list[str]:
    """``LEVEL logger: first line`` of every record."""
    return [f"{lvl} {name}: {msg.splitlines()[0] if msg else ''}" for lvl, name, msg in records(log)]


def exception_tail(log: str) -> str:
    """The exception text after the last traceback frame (its source and caret lines left out)."""
    lines = log.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Traceback"))
    last_frame = max(i for i in range(start, len(lines)) if lines[i].startswith('  File "'))
    tail: list[str] = []
    for line in lines[last_frame + 1 :]:
        if _RECORD.match(line):
            break
        if tail or not line.startswith("    "):
            tail.append(line.rstrip())
    return "\n".join(tail)


def kept(lines: list[str], keep: re.Pattern[str]) -> list[str]:
    """The lines matching ``keep``, numbers (timings, counters, query counts) replaced by ``N``."""
    return [re.sub(r"\d+(?:\.\d+)?", "N", line) for line in lines if keep.search(line)]


class Lab:
    """Docker resources of one test module; :meth:`cleanup` removes every one of them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.suffix = secrets.token_hex(3)
        self.containers: list[Any] = []
        self.networks: list[Any] = []
        self.volumes: list[Any] = []

    def name(self, kind: str) -> str:
        return f"oduflowtest-img-{kind}-{self.suffix}-{secrets.token_hex(2)}"

    def network(self) -> Any:
        net = self.client.networks.create(self.name("net"), labels=LABELS)
        self.networks.append(net)
        return net

    def volume(self) -> Any:
        vol = self.client.volumes.create(self.name("vol"), labels=LABELS)
        self.volumes.append(vol)
        return vol

    def start(self, image: str, command: Any = None, **kwargs: Any) -> Any:
        container = self.client.containers.create(
            image, command, name=self.name(kwargs.pop("kind", "ctr")), labels=LABELS, detach=True, **kwargs
        )
        self.containers.append(container)
        container.start()
        return container

    def cleanup(self) -> None:
        for container in reversed(self.containers):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        for item in (*self.networks, *self.volumes):
            with contextlib.suppress(docker.errors.NotFound):
                item.remove()


class StandinEnv:
    """A PostgreSQL server and helpers to run the Odoo stand-in against it."""

    def __init__(self, lab: Lab, images: dict[str, str], addons: Path, conf_dir: Path) -> None:
        """Start PostgreSQL (its ``postgresql.conf`` goes to ``conf_dir``); Odoo runs mount ``addons``."""
        self.lab, self.images, self.addons = lab, images, addons
        self.net = lab.network()
        conf = conf_dir / "postgresql.conf"
        conf.write_text("listen_addresses = '*'\nmax_connections = 53\nshared_buffers = 32MB\n")
        conf_dir.chmod(0o755)
        conf.chmod(0o644)
        self.pg = lab.start(
            images["postgres"],
            ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"],
            kind="pg",
            environment={"POSTGRES_USER": "odoo", "POSTGRES_PASSWORD": PG_PASSWORD},
            volumes={str(conf): {"bind": "/etc/postgresql/postgresql.conf", "mode": "ro"}},
            ports={"5432/tcp": ("127.0.0.1", None)},
            network=self.net.name,
        )
        self.data = lab.volume()
        self.port = self.published(self.pg, "5432/tcp")
        self._wait_for_postgres()

    @staticmethod
    def published(container: Any, port: str) -> int:
        container.reload()
        return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])

    def _wait_for_postgres(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            try:
                with self.connect("postgres") as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def connect(self, dbname: str) -> Any:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="odoo",
            password=PG_PASSWORD,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def query(self, dbname: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            return list(conn.execute(sql, params).fetchall())

    def execute(self, dbname: str, sql: str) -> None:
        with self.connect(dbname) as conn:
            conn.execute(sql)

    def clone(self, template: str) -> str:
        name = f"img_{secrets.token_hex(4)}"
        self.execute("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def odoo_kwargs(self, **extra: Any) -> dict[str, Any]:
        volumes = {
            str(self.addons): {"bind": "/mnt/extra-addons", "mode": "ro"},
            self.data.name: {"bind": "/var/lib/odoo", "mode": "rw"},
        }
        volumes.update(extra.pop("volumes", {}))
        env = {"HOST": self.pg.name, "USER": "odoo", "PASSWORD": PG_PASSWORD}
        return {"environment": env, "network": self.net.name, "volumes": volumes, **extra}

    def odoo(self, *args: str, stdin: str | None = None, timeout: float = 300) -> Run:
        """Run the stand-in image with ``args`` (through its entrypoint) until it exits."""
        kwargs = self.odoo_kwargs()
        command: list[str] = list(args)
        if stdin is not None:
            script = self.addons.parent / f"stdin-{secrets.token_hex(3)}.py"
            script.write_text(stdin)
            script.chmod(0o644)
            kwargs["volumes"][str(script)] = {"bind": "/tmp/stdin.py", "mode": "ro"}
            kwargs["entrypoint"] = ["bash", "-c", '/entrypoint.sh "$@" < /tmp/stdin.py', "--"]
        container = self.lab.start(self.images["odoo"], command, kind="odoo", **kwargs)
        rc = container.wait(timeout=timeout)["StatusCode"]
        out = container.logs(stdout=True, stderr=False).decode()
        err = container.logs(stdout=False, stderr=True).decode()
        container.remove(force=True, v=True)
        return Run(rc, out, err)

    def serve(self, tmp_path: Path, *args: str, conf: str) -> tuple[Any, str]:
        """Start a serving stand-in (``[options]`` + ``conf``) on a loopback port, wait for its health."""
        header = "[options]\naddons_path = /mnt/extra-addons\ndata_dir = /var/lib/odoo\n"
        return self.serve_conf(tmp_path, header + conf, ["odoo", *args])

    def serve_conf(self, tmp_path: Path, conf_text: str, command: list[str]) -> tuple[Any, str]:
        """Start ``command`` (through the entrypoint) with ``conf_text`` as ``/etc/odoo/odoo.conf``.

        Port 8069 is published on a loopback port; returns (container, base URL) once
        ``/web/health`` answers 200.
        """
        conf_file = tmp_path / f"odoo-{secrets.token_hex(3)}.conf"
        conf_file.write_text(conf_text)
        tmp_path.chmod(0o755)
        conf_file.chmod(0o644)
        kwargs = self.odoo_kwargs(
            volumes={str(conf_file): {"bind": "/etc/odoo/odoo.conf", "mode": "ro"}},
            ports={"8069/tcp": ("127.0.0.1", None)},
        )
        container = self.lab.start(self.images["odoo"], command, kind="web", **kwargs)
        base = f"http://127.0.0.1:{self.published(container, '8069/tcp')}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/web/health", timeout=2).status_code == 200:
                    return container, base
            container.reload()
            if container.status != "running" or time.monotonic() > deadline:
                raise RuntimeError(f"the stand-in did not start:\n{container.logs().decode()}")
            time.sleep(0.3)


def rpc(base: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST a JSON-RPC call; the decoded answer."""
    reply = httpx.post(
        base + path, json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 7}, timeout=30
    )
    reply.raise_for_status()
    return dict(reply.json())
