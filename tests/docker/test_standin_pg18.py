"""The PostgreSQL 18 stand-in behaves like the official ``postgres:18`` image, and clones by reflink on XFS.

Official 18 layout: ``PGDATA=/var/lib/postgresql/18/docker``, ``VOLUME /var/lib/postgresql``
(15-17: both ``/var/lib/postgresql/data``); with ``PGDATA`` set explicitly and a volume there it
works as before (what Oduflow does, for every version). ``CREATE DATABASE ... STRATEGY FILE_COPY``
after ``SET file_copy_method = clone`` shares the template's extents on a reflink filesystem
(XFS in a loop file here), checked physically (``filefrag -v`` flags, free space), and is a full
copy on ext4 (a Docker volume). Nothing is timed; the timings are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from docker.types import Mount

from tests.fixtures.xfs import xfs_loop, xfs_unavailable
from tests.images import build
from tests.images.harness import Lab, StandinEnv

pytestmark = pytest.mark.docker

PASSWORD = "pg18-secret"
POSTGRES_UID = 999
OLD_PGDATA = "/var/lib/postgresql/data"
QUIET = ["postgres", "-c", "autovacuum=off", "-c", "max_wal_size=256MB"]
"""No background writes to the template's files between the clone and the extent checks."""
_EXTENT = re.compile(r"^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+\d+:\s*(?:\d+:)?\s*(.*)$")


@dataclass
class Server:
    """A running stand-in container and how to reach it."""

    container: Any
    port: int
    user: str

    def connect(self, dbname: str = "postgres", user: str | None = None, password: str = PASSWORD) -> Any:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user or self.user,
            password=password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def query(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            return list(conn.execute(sql).fetchall())

    def value(self, sql: str, dbname: str = "postgres") -> Any:
        return self.query(sql, dbname)[0][0]

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with self.connect(dbname) as conn:
            conn.execute(sql)


def _wait_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            server.container.reload()
            if server.container.status == "exited" or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{server.container.logs().decode()}") from None
            time.sleep(0.5)


@contextlib.contextmanager
def running(lab: Lab, image: str, env: dict[str, str] | None = None, **kwargs: Any) -> Iterator[Server]:
    """Start the image (published on a loopback port) until it answers; removed, volumes too, on exit."""
    environment = {"POSTGRES_PASSWORD": PASSWORD, **(env or {})}
    container = lab.start(
        image, kwargs.pop("command", None), kind="pg18", environment=environment,
        ports={"5432/tcp": ("127.0.0.1", None)}, **kwargs,
    )  # fmt: skip
    try:
        server = Server(
            container,
            StandinEnv.published(container, "5432/tcp"),
            environment.get("POSTGRES_USER", "postgres"),
        )
        _wait_ready(server)
        yield server
    finally:
        container.remove(force=True, v=True)


def _mounts(container: Any) -> dict[str, dict[str, Any]]:
    container.reload()
    return {m["Destination"]: m for m in container.attrs["Mounts"]}


def test_image_has_the_official_18_layout(client: Any, pg18_image: str) -> None:
    config = client.images.get(pg18_image).attrs["Config"]
    env = dict(item.partition("=")[::2] for item in config["Env"])
    assert env["PGDATA"] == "/var/lib/postgresql/18/docker" and env["PG_MAJOR"] == "18"
    assert env["PATH"].endswith(":/usr/lib/postgresql/18/bin")
    assert set(config["Volumes"]) == {"/var/lib/postgresql"}
    assert config["Entrypoint"] == ["docker-entrypoint.sh"] and config["Cmd"] == ["postgres"]
    assert config["StopSignal"] == "SIGINT" and "5432/tcp" in config["ExposedPorts"]
    assert pg18_image.startswith(f"{build.POSTGRES_REPO}:18-") and pg18_image == build.postgres_tag(18)


def test_15_keeps_its_layout(client: Any, pg_image: str) -> None:
    config = client.images.get(pg_image).attrs["Config"]
    env = dict(item.partition("=")[::2] for item in config["Env"])
    assert env["PGDATA"] == OLD_PGDATA and env["PG_MAJOR"] == "15"
    assert set(config["Volumes"]) == {OLD_PGDATA}
    assert pg_image == build.postgres_tag() == build.postgres_tag(15) and pg_image.startswith(
        f"{build.POSTGRES_REPO}:15-"
    )
    with pytest.raises(ValueError, match="no PostgreSQL 16 stand-in"):
        build.postgres_tag(16)


def test_starts_like_the_official_image(lab: Lab, pg18_image: str) -> None:
    env = {"POSTGRES_USER": "odoo", "POSTGRES_DB": "appdb"}
    with running(lab, pg18_image, env) as pg:
        assert int(pg.value("SHOW server_version_num", "appdb")) >= 180000
        assert pg.value("SHOW data_directory") == "/var/lib/postgresql/18/docker"
        assert pg.value("SHOW data_checksums") == "on"  # initdb's default from 18 on
        assert pg.value("SELECT rolsuper FROM pg_roles WHERE rolname = 'odoo'") is True
        anonymous = _mounts(pg.container)["/var/lib/postgresql"]
        assert anonymous["Type"] == "volume"  # the image's VOLUME
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            pg.connect(password="wrong").close()
        with pg.connect("appdb") as conn:
            conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        pg.container.restart(timeout=30)
        pg.port = StandinEnv.published(pg.container, "5432/tcp")  # a new one after a restart
        _wait_ready(pg)
        assert pg.value("SELECT v FROM kept", "appdb") == 42
        assert "Skipping initialization" in pg.container.logs().decode()


def test_file_copy_method_clone_is_a_user_setting(lab: Lab, pg18_image: str) -> None:
    with running(lab, pg18_image) as pg:
        context, enumvals = pg.query(
            "SELECT context, enumvals FROM pg_settings WHERE name = 'file_copy_method'"
        )[0]
        assert context == "user" and enumvals == ["copy", "clone"]
        pg.execute("CREATE ROLE plain LOGIN PASSWORD 'plain-secret' NOSUPERUSER")
        with pg.connect(user="plain", password="plain-secret") as conn:
            conn.execute("SET file_copy_method = clone")
            assert conn.execute("SHOW file_copy_method").fetchone() == ("clone",)
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute("SET file_copy_method = reflink")


def _refusal(lab: Lab, image: str, volume: Any, target: str) -> str:
    """Start ``image`` with ``volume`` at ``target`` and the default PGDATA; its logs (it must exit 1)."""
    container = lab.start(
        image, None, kind="pg18", environment={"POSTGRES_PASSWORD": PASSWORD},
        volumes={volume.name: {"bind": target, "mode": "rw"}},
    )  # fmt: skip
    try:
        assert container.wait(timeout=120)["StatusCode"] == 1
        return str(container.logs().decode())
    finally:
        container.remove(force=True, v=True)


def test_default_pgdata_refuses_a_volume_at_the_old_path(lab: Lab, pg18_image: str) -> None:
    logs = _refusal(lab, pg18_image, lab.volume(), OLD_PGDATA)
    assert "/var/lib/postgresql/data (unused mount/volume)" in logs and "pg_ctlcluster" in logs


def test_default_pgdata_refuses_an_older_cluster_in_the_volume(lab: Lab, pg18_image: str) -> None:
    volume = lab.volume()
    old = Path(volume.attrs["Mountpoint"]) / "data"
    old.mkdir()
    (old / "PG_VERSION").write_text("15\n")
    logs = _refusal(lab, pg18_image, volume, "/var/lib/postgresql")
    assert "/var/lib/postgresql/data (PG_VERSION 15)" in logs
    assert not (Path(volume.attrs["Mountpoint"]) / "18" / "docker" / "PG_VERSION").exists()  # no initdb


def _fill(pg: Server, db: str, rows: int) -> int:
    """Database ``db`` with one table of ``rows`` rows (about 300 bytes each); its size in bytes."""
    pg.execute(f'CREATE DATABASE "{db}"')
    with pg.connect(db) as conn:
        conn.execute(
            f"CREATE TABLE t AS SELECT i, repeat(md5(i::text), 8) AS pad FROM generate_series(1, {rows}) i"
        )
        conn.execute("VACUUM (FREEZE, ANALYZE) t")  # no hint bits left to write later
        conn.execute("CHECKPOINT")
    return int(pg.value(f"SELECT pg_database_size('{db}')"))


def _clone(pg: Server, name: str, template: str, method: str) -> float:
    """``CREATE DATABASE name TEMPLATE template STRATEGY FILE_COPY`` with ``file_copy_method``; seconds."""
    with pg.connect() as conn:
        conn.execute(f"SET file_copy_method = {method}")
        started = time.monotonic()
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return time.monotonic() - started


def _mib(n: int) -> str:
    return f"{n / 2**20:+.1f} MiB"


def _free_bytes(path: Path) -> int:
    subprocess.run(["sync", "-f", str(path)], check=True)
    st = os.statvfs(path)
    return st.f_bfree * st.f_frsize


def _extents(path: Path) -> list[tuple[int, int, str]]:
    """(first, last physical block, flags) of each written extent of a file (``filefrag -v``).

    Unwritten extents (space PostgreSQL preallocated past its last page, read as zeros) hold no
    data: a clone does not carry them over.
    """
    out = subprocess.run(["filefrag", "-v", str(path)], capture_output=True, text=True, check=True).stdout
    found = [(int(m[1]), int(m[2]), m[3]) for m in map(_EXTENT.match, out.splitlines()) if m]
    assert found, f"no extents parsed from:\n{out}"
    return [extent for extent in found if "unwritten" not in extent[2]]


def _blocks(extents: list[tuple[int, int, str]]) -> set[int]:
    return {b for first, last, _ in extents for b in range(first, last + 1)}


def _table_file(pg: Server, db: str, data_dir: Path) -> Path:
    path = data_dir / str(pg.value("SELECT pg_relation_filepath('t')", db))
    assert path.stat().st_size > 0
    return path


def _same_data(pg: Server, a: str, b: str) -> None:
    """``b`` has ``a``'s rows; a write in ``b`` (checkpointed) does not show in ``a``."""
    digest = "SELECT count(*), sum(hashtext(pad)) FROM t"
    assert pg.query(digest, a) == pg.query(digest, b)
    with pg.connect(b) as conn:
        conn.execute("UPDATE t SET pad = 'changed' WHERE i <= 1000")
        conn.execute("CHECKPOINT")
    assert pg.value("SELECT count(*) FROM t WHERE pad = 'changed'", a) == 0
    assert pg.query(digest, a) != pg.query(digest, b)


def test_clone_on_xfs_shares_the_template_extents(lab: Lab, pg18_image: str, tmp_path: Path) -> None:
    if xfs_unavailable():
        pytest.skip(xfs_unavailable() or "")
    with xfs_loop(tmp_path / "xfs", 2048) as data:
        os.chown(data, POSTGRES_UID, POSTGRES_UID)
        mount = Mount(OLD_PGDATA, str(data), type="bind")
        env = {"PGDATA": OLD_PGDATA}
        with running(lab, pg18_image, env, mounts=[mount], command=QUIET) as pg:
            size = _fill(pg, "a", 800_000)
            assert size > 200 * 2**20
            before = _free_bytes(data)
            seconds = _clone(pg, "b", "a", "clone")
            clone_cost = before - _free_bytes(data)
            before = _free_bytes(data)
            copy_seconds = _clone(pg, "c", "a", "copy")
            copy_cost = before - _free_bytes(data)
            print(
                f"\nXFS, template {size / 2**20:.0f} MiB: clone {seconds * 1000:.0f} ms, "
                f"{_mib(clone_cost)}; copy {copy_seconds * 1000:.0f} ms, {_mib(copy_cost)}"
            )
            assert clone_cost < size * 0.10
            assert copy_cost > size * 0.90
            a_file, b_file, c_file = (_table_file(pg, db, data) for db in ("a", "b", "c"))
            a_ext, b_ext, c_ext = map(_extents, (a_file, b_file, c_file))
            assert all("shared" in flags for _, _, flags in b_ext)
            assert _blocks(b_ext) == _blocks(a_ext)
            assert not any("shared" in flags for _, _, flags in c_ext)
            assert not _blocks(c_ext) & _blocks(a_ext)
            _same_data(pg, "a", "b")
            subprocess.run(["sync", "-f", str(data)], check=True)
            a_ext, b_ext = _extents(a_file), _extents(b_file)
            assert "shared" not in b_ext[0][2]  # b's rewritten first pages are b's own now
            assert not _blocks(b_ext[:1]) & _blocks(a_ext)
            still_shared = _blocks([e for e in a_ext if "shared" in e[2]])
            assert len(still_shared) > 0.9 * len(_blocks(a_ext))  # only what b rewrote was copied


def test_clone_on_ext4_is_a_full_copy(lab: Lab, pg18_image: str) -> None:
    volume = lab.volume()
    data = Path(volume.attrs["Mountpoint"])
    env = {"PGDATA": OLD_PGDATA}
    volumes = {volume.name: {"bind": OLD_PGDATA, "mode": "rw"}}
    with running(lab, pg18_image, env, volumes=volumes, command=QUIET) as pg:
        assert pg.value("SHOW data_directory") == OLD_PGDATA
        assert (data / "PG_VERSION").read_text().strip() == "18"
        assert _mounts(pg.container)["/var/lib/postgresql"]["Type"] == "volume"  # the image's VOLUME still
        fstype = subprocess.run(["stat", "-f", "-c", "%T", str(data)], capture_output=True, text=True).stdout
        assert fstype.strip() not in ("xfs", "btrfs"), f"the Docker volume is on {fstype}: not the ext4 case"
        size = _fill(pg, "a", 80_000)
        before = _free_bytes(data)
        seconds = _clone(pg, "b", "a", "clone")
        cost = before - _free_bytes(data)
        print(f"\next4, template {size / 2**20:.0f} MiB: 'clone' {seconds * 1000:.0f} ms, {_mib(cost)}")
        a_ext, b_ext = (_extents(_table_file(pg, db, data)) for db in ("a", "b"))
        assert not any("shared" in flags for _, _, flags in b_ext)
        assert not _blocks(a_ext) & _blocks(b_ext)
        _same_data(pg, "a", "b")
