"""Disk accounting on the real server: what environments and templates hold on disk.

On the session's instance (PostgreSQL 15, data on ext4) every environment database is a full
copy: its bytes are all its own. On the copy-on-write instance (PostgreSQL 18, data on a managed
XFS) a fresh environment shares its template's blocks and owns only what it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg import sql

from oduflow.app import App
from oduflow.errors import NotFoundError
from oduflow.fsutil import dir_size
from oduflow.services import clonestrategy, dbpool, dbserver, disk
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.cow import CowInstance
from tests.fixtures.instance import GitRemote, Instance

TEAM = "1"
MB = 1 << 20
ROWS_SQL = (
    "CREATE TABLE public.{} AS SELECT i, "
    "(SELECT string_agg(md5(random()::text || i || j), '') FROM generate_series(1, 24) j) AS v "
    "FROM generate_series(1, %s) i"
)
"""About 800 bytes of hex per row, too short to be compressed or moved to TOAST."""


def add_rows(app: App, db_name: str, rows: int, table: str = "disk_rows") -> None:
    """``rows`` rows of about 800 bytes into ``db_name``, written to its files (a checkpoint)."""
    db = app.db()
    db.query(sql.SQL(ROWS_SQL).format(sql.Identifier(table)), [rows], dbname=db_name)
    db.query("CHECKPOINT")


def template_disk(app: App, name: str) -> dict[str, Any]:
    listed = {t["name"]: t for t in call(app, "list_templates")}
    return dict(listed[name]["disk"])


def add_template_rows(app: App, template: str, rows: int) -> None:
    """``rows`` rows into template ``template``'s database, frozen (hint bits set) and checkpointed,
    so that reading them in a clone writes nothing."""
    db, tdb = app.db(), app.names.template_db(TEAM, template)
    db.set_template(tdb, False)
    try:
        add_rows(app, tdb, rows, "template_rows")
        db.query("VACUUM (FREEZE) public.template_rows", dbname=tdb)
        db.query("CHECKPOINT")
    finally:
        db.set_template(tdb, True)


@pytest.fixture
def remote(git_remote: Callable[..., GitRemote]) -> GitRemote:
    return git_remote("demo_ok")


@pytest.fixture(scope="module")
def default_template(instance: Instance) -> Iterator[str]:
    yield from template_fixtures.base_template(instance, "disk-default")


@pytest.fixture(scope="module")
def big_template(instance: Instance, default_template: str) -> Iterator[str]:
    """A filestore above the tests' overlay threshold: environments read it through overlay."""
    yield from template_fixtures.overlay_template(instance, default_template, "disk-big")


def test_a_template_is_measured_on_its_files(app: App, default_template: str) -> None:
    found = template_disk(app, default_template)
    db_name = app.names.template_db(TEAM, default_template)
    database = found["database"]
    # pg_database_size adds up the apparent sizes of the same files (no connection: they stay put)
    assert database["logical_bytes"] == app.db().size_bytes(db_name) > 5 * MB
    assert database["shared_bytes"] == 0 and database["exclusive_bytes"] == database["allocated_bytes"]
    assert database["complete"] and database["files"] > 100
    directory = app.team_dir(TEAM) / "templates" / default_template
    assert found["dump"]["logical_bytes"] == (directory / "dump.pgdump").stat().st_size > 0
    assert found["filestore"]["logical_bytes"] == dir_size(directory / "filestore")
    parts = (database, found["filestore"], found["dump"])
    assert found["exclusive_bytes"] == sum(p["exclusive_bytes"] for p in parts)
    assert disk.template_usage(app, app.config.team(TEAM), default_template) == found
    with pytest.raises(NotFoundError):
        disk.template_usage(app, app.config.team(TEAM), "no-such-template")


def test_a_database_full_copy_is_all_its_own_and_grows_with_its_rows(
    app: App, remote: GitRemote, default_template: str
) -> None:
    branch, team = "disk/copy", app.config.team(TEAM)
    call(app, "create_environment", branch_name=branch, template_name=default_template, repo_url=remote.url)
    try:
        info = call(app, "get_environment_info", branch_name=branch)
        found, template = info["disk"], template_disk(app, default_template)
        database = found["database"]
        assert database["shared_bytes"] == 0
        assert database["exclusive_bytes"] == database["allocated_bytes"]
        assert database["allocated_bytes"] >= 0.9 * template["database"]["allocated_bytes"]
        assert found["filestore_scope"] == "merged"
        assert found["filestore"]["logical_bytes"] == template["filestore"]["logical_bytes"]
        assert found["exclusive_bytes"] == database["exclusive_bytes"] + found["filestore"]["exclusive_bytes"]
        add_rows(app, info["db_name"], 6000)
        grown = disk.environment_usage(app, team, branch)["database"]
        assert grown["exclusive_bytes"] - database["exclusive_bytes"] >= 4 * MB
    finally:
        delete_if_present(app, branch)


def test_a_database_the_host_cannot_see_is_not_guessed(
    app: App, default_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbserver, "host_data_dir", lambda _app: None)
    found = disk.template_usage(app, app.config.team(TEAM), default_template)
    db_name = app.names.template_db(TEAM, default_template)
    assert found["database"] is None and found["exclusive_bytes"] is None
    assert found["database_unavailable"] == disk.UNSEEN_DATA_DIR
    assert found["database_server_bytes"] == app.db().size_bytes(db_name)
    assert found["dump"]["logical_bytes"] > 0  # the parts on this host are still measured


def test_a_missing_database_is_said_so(app: App) -> None:
    files = disk.locate_databases(app, ["oduflow_no_such_db"])
    assert files.paths == {} and files.unavailable == {
        "oduflow_no_such_db": "database oduflow_no_such_db does not exist"
    }


def test_an_overlay_environment_owns_only_its_upper_layer(
    app: App, remote: GitRemote, big_template: str
) -> None:
    branch, team = "disk/overlay", app.config.team(TEAM)
    call(app, "create_environment", branch_name=branch, template_name=big_template, repo_url=remote.url)
    try:
        env = get_env(app, team, branch)
        assert env.params.storage == "overlay"
        before = disk.environment_usage(app, team, branch)
        assert before["filestore_scope"] == "upper"
        assert before["filestore"]["logical_bytes"] < MB  # the template's 2 MB file is the template's
        assert template_disk(app, big_template)["filestore"]["logical_bytes"] >= template_fixtures.BIG
        (env.filestore(app).merged / "written-by-env").write_bytes(b"\2" * MB)
        after = disk.environment_usage(app, team, branch)["filestore"]
        assert after["logical_bytes"] - before["filestore"]["logical_bytes"] == MB
        assert after["exclusive_bytes"] - before["filestore"]["exclusive_bytes"] >= MB
    finally:
        delete_if_present(app, branch)


# --- on the copy-on-write instance (PostgreSQL 18, data on Oduflow's XFS) -------------------------
@pytest.fixture(scope="module")
def cow_template(cow_instance: CowInstance) -> Iterator[str]:
    """A template with about 20 MB of rows of its own, on the copy-on-write instance."""
    for name in template_fixtures.base_template(cow_instance, "disk-cow"):
        add_template_rows(cow_instance.app(), name, 25000)
        yield name


def no_spares(app: App, template: str) -> None:
    team = app.config.team(TEAM)
    dbpool.wait_idle(team, template)
    dbpool.drain(app, team, template)


def test_a_reflink_clone_owns_only_what_it_writes(
    cow_app: App, git_remote: Callable[..., GitRemote], cow_template: str
) -> None:
    assert clonestrategy.detect(cow_app).name == "reflink"
    branch, team = "disk/cow", cow_app.config.team(TEAM)
    no_spares(cow_app, cow_template)  # spares are reflink clones: they share the template's blocks
    template = template_disk(cow_app, cow_template)["database"]
    assert template["exclusive_bytes"] == template["allocated_bytes"] > 20 * MB  # no clone yet
    remote = git_remote("demo_ok")
    call(cow_app, "create_environment", branch_name=branch, template_name=cow_template, repo_url=remote.url)
    try:
        info = call(cow_app, "get_environment_info", branch_name=branch)
        assert info["clone_strategy"] == "reflink"
        database = info["disk"]["database"]
        assert database["logical_bytes"] >= template["logical_bytes"]  # what pg_database_size sees
        assert database["exclusive_bytes"] < 0.1 * template["allocated_bytes"]
        # ownership handed over and sanitized: the catalogue pages it rewrote are its own
        assert database["shared_bytes"] > 0.8 * template["allocated_bytes"]
        shared = template_disk(cow_app, cow_template)["database"]
        assert shared["exclusive_bytes"] < 0.15 * template["allocated_bytes"]  # its clone holds the rest
        add_rows(cow_app, info["db_name"], 6000)
        grown = disk.environment_usage(cow_app, team, branch)["database"]
        assert grown["exclusive_bytes"] - database["exclusive_bytes"] >= 4 * MB
        assert grown["shared_bytes"] > 0.8 * template["allocated_bytes"]
    finally:
        delete_if_present(cow_app, branch)
    no_spares(cow_app, cow_template)  # the create's refill made one again
    alone = template_disk(cow_app, cow_template)["database"]
    assert alone["exclusive_bytes"] == alone["allocated_bytes"]  # the clone's blocks are freed
