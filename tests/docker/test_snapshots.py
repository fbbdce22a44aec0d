"""reset_environment, snapshot_environment and restore_snapshot on the real engine and PostgreSQL.

Each correctness test runs on every storage path: ``copy`` and ``overlay`` filestores on the
session's PostgreSQL 15 instance (full copies), and the copy-on-write instance (PostgreSQL 18 on
Oduflow's XFS image: reflink clones, ``reflink`` filestores). Failure paths fail for real (a
missing snapshot database, a sanitize script that fails after the swap, a database Odoo cannot
serve) and must leave the environment's data, its container and nothing else behind.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ConflictError, NotFoundError, ProtectedError, StepError, ValidationError
from oduflow.fsutil import fuse_mounts_under
from oduflow.services import dbpool, env_snapshots, runtime, templates_ops
from oduflow.services.envmodel import Env, get_env
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import GitRemote, Instance, make_remote

TEAM = "1"
PROBE = "public.snap_probe"


@dataclass(frozen=True)
class Where:
    """One storage path: the instance, the template and what its environments use."""

    name: str
    inst: Instance
    template: str
    storage: str
    cow: bool

    def app(self) -> App:
        return self.inst.app()


@pytest.fixture(scope="module")
def plain_templates(instance: Instance) -> Iterator[None]:
    """Template ``snaps`` (``copy`` filestore) and ``snapsbig`` (``overlay``) on the PG15 instance."""
    app = instance.app()
    templates_ops.init_template(app, app.config.team(TEAM), instance.odoo_image, "snaps", "base")
    try:
        template_fixtures.make_overlay_template(app, "snaps", "snapsbig", instance.odoo_image)
        yield
    finally:
        template_fixtures.delete_template_if_present(app, "snapsbig")
        template_fixtures.delete_template_if_present(app, "snaps")


@pytest.fixture(scope="module")
def cow_template(cow_instance: Instance) -> Iterator[str]:
    """Template ``snaps`` on the copy-on-write instance."""
    yield from template_fixtures.base_template(cow_instance, "snaps")


@pytest.fixture(scope="module", params=["copy", "overlay", "cow"])
def where(request: pytest.FixtureRequest) -> Where:
    if request.param == "cow":
        inst = request.getfixturevalue("cow_instance")
        template = request.getfixturevalue("cow_template")
        return Where("cow", inst, template, "reflink", True)
    request.getfixturevalue("plain_templates")
    inst = request.getfixturevalue("instance")
    template = "snaps" if request.param == "copy" else "snapsbig"
    return Where(request.param, inst, template, request.param, False)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> GitRemote:
    return make_remote(tmp_path_factory.mktemp("snap-remote"), "demo_ok")


# --- helpers --------------------------------------------------------------------------------
def env_of(app: App, branch: str) -> Env:
    return get_env(app, app.config.team(TEAM), branch)


def create(where: Where, remote: GitRemote, branch: str, **kw: Any) -> dict[str, Any]:
    app = where.app()
    created = call(
        app, "create_environment", branch_name=branch, template_name=where.template, repo_url=remote.url, **kw
    )
    assert env_of(app, branch).params.storage == where.storage
    return dict(created)


def as_role(app: App, branch: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL in the environment's database as its own role (as Odoo does)."""
    p = env_of(app, branch).params
    with app.db().connect(p.db_name, user=p.db_role, password=p.db_password) as conn:
        cur = conn.execute(statement.encode() if params is None else statement, params)
        return cur.fetchall() if cur.description else []


def write(app: App, branch: str, value: int, name: str, data: bytes) -> None:
    """A row in the probe table and a file in the filestore."""
    as_role(app, branch, f"CREATE TABLE IF NOT EXISTS {PROBE} (v int)")
    as_role(app, branch, f"INSERT INTO {PROBE} VALUES (%s)", [value])
    folder = env_of(app, branch).filestore(app).merged / "zz"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` with its content (links not followed)."""
    out: dict[str, bytes] = {}
    for current, dirs, files in os.walk(root):
        for name in files:
            path = Path(current, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                out[str(path.relative_to(root))] = path.read_bytes()
        dirs.sort()
    return out


def tables(app: App, dbname: str) -> list[str]:
    rows = app.db().query(
        "SELECT relname FROM pg_class WHERE relkind = 'r' "
        "AND relnamespace = 'public'::regnamespace ORDER BY 1",
        dbname=dbname,
    )
    return [r[0] for r in rows]


def state(app: App, branch: str) -> tuple[list[str], list[Any], dict[str, bytes]]:
    """What a reset or a restore must give back: the tables, the probe's rows, the files."""
    env = env_of(app, branch)
    db_name = env.params.db_name
    names = tables(app, db_name)
    rows = (
        [r[0] for r in as_role(app, branch, f"SELECT v FROM {PROBE} ORDER BY v")]
        if "snap_probe" in names
        else []
    )
    return names, rows, tree(env.filestore(app).merged)


def template_state(app: App, template: str) -> tuple[list[str], dict[str, bytes]]:
    db, team = app.db(), app.config.team(TEAM)
    tdb = app.names.template_db(TEAM, template)
    dbpool.wait_idle(team, template)
    db.set_template(tdb, False)
    try:
        names = tables(app, tdb)
    finally:
        db.set_template(tdb, True)
    return names, tree(app.team_dir(TEAM) / "templates" / template / "filestore")


def drop_big_file(app: App, branch: str) -> bool:
    """Delete the template's big file in the environment (an overlay records a whiteout)."""
    big = (
        env_of(app, branch).filestore(app).merged
        / template_fixtures.BIG_FILE[0]
        / template_fixtures.BIG_FILE[1]
    )
    if big.exists():
        big.unlink()
        return True
    return False


def container_sees(app: App, branch: str, rel: str) -> bytes | None:
    env = env_of(app, branch)
    container = app.docker().containers.get(env.container_name)
    out = container.exec_run(["cat", f"/var/lib/odoo/filestore/{env.params.db_name}/{rel}"])
    return out.output if out.exit_code == 0 else None


def started_at(app: App, branch: str) -> str:
    container = app.docker().containers.get(env_of(app, branch).container_name)
    return str(container.attrs["State"]["StartedAt"])


def assert_serving(app: App, branch: str) -> None:
    env = env_of(app, branch)
    container = app.docker().containers.get(env.container_name)
    assert container.status == "running"
    runtime.wait_ready(app, container, env.params.db_name, timeout=60)


def assert_no_switch_leftovers(app: App, branch: str) -> None:
    env = env_of(app, branch)
    db, slug = app.db(), env.paths.slug
    assert not db.exists(app.names.env_next_db(TEAM, slug))
    assert not db.exists(app.names.env_prev_db(TEAM, slug))
    layout = env.paths.layout
    assert not layout.next_filestore.exists() and not layout.prev_filestore.exists()
    assert [m for m in fuse_mounts_under(layout.root) if m != layout.root / "filestore"] == []


def assert_strategy(where: Where, result: dict[str, Any]) -> None:
    if where.cow:
        assert result["clone_strategy"] == "reflink", result
    else:
        assert result["clone_strategy"] in ("file_copy", "pool"), result


# --- correctness ----------------------------------------------------------------------------
def test_reset_gives_back_the_template_and_touches_nothing_else(where: Where, remote: GitRemote) -> None:
    app = where.app()
    a, b = f"rs-{where.name}-a", f"rs-{where.name}-b"
    try:
        create(where, remote, a)
        create(where, remote, b)
        fresh, template_before = state(app, a), template_state(app, where.template)
        write(app, a, 1, "a.txt", b"from a")
        dropped = drop_big_file(app, a)
        assert dropped == (where.storage == "overlay")
        write(app, b, 2, "b.txt", b"from b")
        b_before = state(app, b)

        result = call(app, "reset_environment", branch_name=a)

        assert result["status"] == "running" and result["template"] == where.template
        assert result["sanitized"] is True and result["seconds"]["total"] >= 0
        assert_strategy(where, result)
        assert state(app, a) == fresh
        assert container_sees(app, a, "zz/a.txt") is None
        assert state(app, b) == b_before
        assert template_state(app, where.template) == template_before
        assert_serving(app, a)
        assert_no_switch_leftovers(app, a)
        assert env_of(app, a).params.clone_strategy == result["clone_strategy"]
    finally:
        delete_if_present(app, a, b)


def test_snapshot_then_restore_gives_back_exactly_the_snapshot_twice(where: Where, remote: GitRemote) -> None:
    app = where.app()
    a, b = f"sn-{where.name}-a", f"sn-{where.name}-b"
    try:
        create(where, remote, a)
        create(where, remote, b)
        write(app, a, 1, "one.txt", b"first")
        drop_big_file(app, a)
        saved = state(app, a)

        taken = call(app, "snapshot_environment", branch_name=a, snapshot_name="s1")

        assert taken["status"] == "ready" and taken["snapshots"] == 1 and taken["limit"] == 10
        assert_strategy(where, taken)
        assert_sealed(app, a, "s1")
        assert_serving(app, a)  # Odoo reconnected once the database accepted connections again
        assert state(app, a) == saved
        b_before = state(app, b)
        for value in (2, 3):
            write(app, a, value, f"{value}.txt", b"later")
            (env_of(app, a).filestore(app).merged / "zz" / "one.txt").unlink()
            as_role(app, a, f"CREATE TABLE public.later_{value} (v int)")

            restored = call(app, "restore_snapshot", branch_name=a, snapshot_name="s1")

            assert restored["status"] == "running" and restored["snapshot"] == "s1"
            assert_strategy(where, restored)
            assert state(app, a) == saved
            assert container_sees(app, a, "zz/one.txt") == b"first"
            assert_no_switch_leftovers(app, a)
        assert state(app, b) == b_before
        assert [s["snapshot"] for s in call(app, "list_snapshots", branch_name=a)] == ["s1"]
        assert call(app, "list_snapshots", branch_name=b) == []

        deleted = call(app, "delete_snapshot", branch_name=a, snapshot_name="s1")

        assert deleted == {"branch": a, "snapshot": "s1", "deleted": True, "snapshots": 0}
        assert not app.db().exists(app.names.env_snapshot_db(TEAM, env_of(app, a).paths.slug, "s1"))
        assert not env_of(app, a).paths.layout.snapshot("s1").exists()
        assert call(app, "list_snapshots", branch_name=a) == []
    finally:
        delete_if_present(app, a, b)


def assert_sealed(app: App, branch: str, name: str) -> None:
    """Nobody reaches a snapshot database: no connections at all, no CONNECT for the role."""
    env = env_of(app, branch)
    snap_db = app.names.env_snapshot_db(TEAM, env.paths.slug, name)
    db, role = app.db(), env.params.db_role
    assert db.query("SELECT datallowconn FROM pg_database WHERE datname = %s", [snap_db]) == [(False,)]
    assert db.query("SELECT has_database_privilege(%s, %s, 'CONNECT')", [role, snap_db]) == [(False,)]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host=db.ep.host, port=db.ep.port, dbname=snap_db, user=role, password=env.params.db_password
        ).close()


# --- failure paths ----------------------------------------------------------------------------
def test_a_restore_whose_clone_fails_changes_nothing(where: Where, remote: GitRemote) -> None:
    app = where.app()
    a = f"fc-{where.name}"
    try:
        create(where, remote, a)
        call(app, "snapshot_environment", branch_name=a, snapshot_name="gone")
        write(app, a, 7, "kept.txt", b"kept")
        before, started = state(app, a), started_at(app, a)
        app.db().drop(app.names.env_snapshot_db(TEAM, env_of(app, a).paths.slug, "gone"))

        with pytest.raises(StepError, match="clone database from snapshot 'gone'") as err:
            call(app, "restore_snapshot", branch_name=a, snapshot_name="gone")

        assert "rollback incomplete" not in str(err.value)
        assert state(app, a) == before
        assert started_at(app, a) == started  # never stopped
        assert_serving(app, a)
        assert_no_switch_leftovers(app, a)
    finally:
        delete_if_present(app, a)


def test_a_reset_whose_sanitize_fails_after_the_swap_puts_everything_back(
    where: Where, remote: GitRemote
) -> None:
    app = where.app()
    a = f"fs-{where.name}"
    try:
        create(where, remote, a)
        write(app, a, 5, "mine.txt", b"mine")
        drop_big_file(app, a)
        before = state(app, a)
        scripts = env_of(app, a).paths.repo / ".odoo_sanitize"
        scripts.mkdir()
        (scripts / "99_fail.sql").write_text("SELECT 1 / 0;")

        with pytest.raises(StepError, match="sanitize database") as err:
            call(app, "reset_environment", branch_name=a)

        assert "rollback incomplete" not in str(err.value) and "division by zero" in str(err.value)
        assert state(app, a) == before
        assert_serving(app, a)
        assert container_sees(app, a, "zz/mine.txt") == b"mine"
        assert_no_switch_leftovers(app, a)
    finally:
        delete_if_present(app, a)


def short_ready_app(inst: Instance) -> App:
    """The same instance with ``[limits].ready_timeout`` of a few seconds."""
    path = inst.root / "short-ready.toml"
    path.write_text(inst.toml().replace("ready_timeout = 120", "ready_timeout = 8"))
    return App(load(path))


def test_a_restore_that_odoo_cannot_serve_puts_everything_back(where: Where, remote: GitRemote) -> None:
    app = where.app()
    a = f"fw-{where.name}"
    try:
        create(where, remote, a)
        call(app, "snapshot_environment", branch_name=a, snapshot_name="broken")
        snap_db = app.names.env_snapshot_db(TEAM, env_of(app, a).paths.slug, "broken")
        db = app.db()
        db.query(f'ALTER DATABASE "{snap_db}" WITH ALLOW_CONNECTIONS true')
        db.query("ALTER TABLE public.ir_module_module RENAME TO ir_module_module_hidden", dbname=snap_db)
        env_snapshots.seal(db, snap_db)  # Odoo cannot load a registry from it: 500 on every page
        write(app, a, 9, "after.txt", b"after")
        before = state(app, a)

        with pytest.raises(StepError, match="wait until Odoo serves the database") as err:
            call(short_ready_app(where.inst), "restore_snapshot", branch_name=a, snapshot_name="broken")

        assert "rollback incomplete" not in str(err.value)
        assert state(app, a) == before
        assert_serving(app, a)
        assert container_sees(app, a, "zz/after.txt") == b"after"
        assert_no_switch_leftovers(app, a)
    finally:
        delete_if_present(app, a)


# --- rules (one storage path is enough) --------------------------------------------------------
@pytest.fixture
def plain(instance: Instance, plain_templates: None) -> Where:
    return Where("copy", instance, "snaps", "copy", False)


def test_names_limits_protection_and_delete(
    plain: Where, remote: GitRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = plain.app()
    a = "snap-rules"
    try:
        create(plain, remote, a)
        with pytest.raises(ValidationError, match="invalid snapshot name"):
            call(app, "snapshot_environment", branch_name=a, snapshot_name="../x")
        call(app, "snapshot_environment", branch_name=a, snapshot_name="one")
        with pytest.raises(ConflictError, match="already has a snapshot 'one'"):
            call(app, "snapshot_environment", branch_name=a, snapshot_name="one")
        monkeypatch.setattr(env_snapshots, "MAX_SNAPSHOTS", 2)
        call(app, "snapshot_environment", branch_name=a, snapshot_name="two")
        with pytest.raises(ConflictError, match="2 snapshots, the limit"):
            call(app, "snapshot_environment", branch_name=a, snapshot_name="three")
        with pytest.raises(NotFoundError, match=r"no snapshot 'nope' \(its snapshots: one, two"):
            call(app, "restore_snapshot", branch_name=a, snapshot_name="nope")
        call(app, "protect_environment", branch_name=a)
        for tool, args in (("reset_environment", {}), ("restore_snapshot", {"snapshot_name": "one"})):
            with pytest.raises(ProtectedError):
                call(app, tool, branch_name=a, **args)
        call(app, "unprotect_environment", branch_name=a)
        slug = env_of(app, a).paths.slug

        deleted = call(app, "delete_environment", branch_name=a)

        assert "snapshots" in deleted["deleted"]
        assert app.db().list_databases(f"oduflow.snap_{TEAM}_{slug}_") == []
        assert [k for k in app.store.items(TEAM, env_snapshots.KIND) if k.startswith(f"{slug}/")] == []
    finally:
        delete_if_present(app, a)


def test_reset_without_template_installs_base_again(instance: Instance, remote: GitRemote) -> None:
    app = instance.app()
    a = "snap-none"
    try:
        call(
            app, "create_environment", branch_name=a, template_name="none", repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )  # fmt: skip
        fresh = tables(app, env_of(app, a).params.db_name)
        as_role(app, a, f"CREATE TABLE {PROBE} (v int)")

        result = call(app, "reset_environment", branch_name=a)

        assert result["clone_strategy"] == "" and result["template"] == "none"
        assert "initialise" in result["seconds"]
        assert tables(app, env_of(app, a).params.db_name) == fresh
        assert as_role(app, a, "SELECT state FROM public.ir_module_module WHERE name = 'base'") == [
            ("installed",)
        ]
        assert_no_switch_leftovers(app, a)
    finally:
        delete_if_present(app, a)


def test_cleanup_drops_the_snapshots_of_gone_environments_only(plain: Where, remote: GitRemote) -> None:
    from oduflow.services import cleanup

    app = plain.app()
    team, db = app.config.team(TEAM), app.db()
    gone = app.names.env_snapshot_db(TEAM, "gone-env", "kept")
    record = env_snapshots.Snapshot("gone-env", "gone-env", "kept", gone, env_created_at=1.0, status="ready")
    a = "snap-live"
    try:
        create(plain, remote, a)
        call(app, "snapshot_environment", branch_name=a, snapshot_name="live")
        live = app.names.env_snapshot_db(TEAM, env_of(app, a).paths.slug, "live")
        db.create_empty(gone)
        app.store.put(TEAM, env_snapshots.KIND, record.key, record.to_dict())

        found = cleanup.find_orphans(app, team)["databases"]
        assert gone in found and live not in found
        cleanup.cleanup(app, team, force=True)

        assert not db.exists(gone) and db.exists(live)
        assert app.store.get(TEAM, env_snapshots.KIND, record.key) is None
        assert [s["snapshot"] for s in call(app, "list_snapshots", branch_name=a)] == ["live"]
    finally:
        db.drop(gone)
        app.store.delete(TEAM, env_snapshots.KIND, record.key)
        delete_if_present(app, a)
