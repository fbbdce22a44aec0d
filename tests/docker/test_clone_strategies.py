"""Every clone strategy makes correct environments: the template's data, and isolation.

``reflink`` on the copy-on-write instance (PostgreSQL 18 on Oduflow's XFS image), with a spare
renamed and with a clone made on the spot; ``pool`` and ``file_copy`` on the session's
PostgreSQL 15 instance (ext4). For each: a marker row of the template is in every new
environment; a row one environment writes is never seen by another one or by the template.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from psycopg import sql

from oduflow.app import App
from oduflow.config import load
from oduflow.services import clonestrategy, dbpool
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import GitRemote, Instance, make_remote

TEAM = "1"
TEMPLATE = "clonest"
MARKER = "public.clone_marker"


def _app(inst: Instance, strategy: str, pool_size: int) -> App:
    cfg = load(inst.config_path)
    return App(replace(cfg, database=replace(cfg.database, clone_strategy=strategy, pool_size=pool_size)))


def _mark_template(app: App) -> None:
    """A table with one row in the template database, owned by the team's template role."""
    db, tdb = app.db(), app.names.template_db(TEAM, TEMPLATE)
    dbpool.wait_idle(app.config.team(TEAM), TEMPLATE)
    db.set_template(tdb, False)
    try:
        db.query(f"CREATE TABLE {MARKER} (v text)", dbname=tdb)
        db.query(f"INSERT INTO {MARKER} VALUES ('from the template')", dbname=tdb)
        owner = sql.Identifier(app.names.template_role(TEAM))
        db.query(sql.SQL(f"ALTER TABLE {MARKER} OWNER TO {{}}").format(owner), dbname=tdb)
    finally:
        db.set_template(tdb, True)
    dbpool.drain(app, app.config.team(TEAM), TEMPLATE)  # spares made before the marker


def _rows(app: App, branch: str) -> list[str]:
    p = get_env(app, app.config.team(TEAM), branch).params
    with app.db().connect(p.db_name, user=p.db_role, password=p.db_password) as conn:
        return [r[0] for r in conn.execute(f"SELECT v FROM {MARKER} ORDER BY v").fetchall()]


def _template_rows(app: App) -> list[str]:
    db, tdb = app.db(), app.names.template_db(TEAM, TEMPLATE)
    db.set_template(tdb, False)
    try:
        return [r[0] for r in db.query(f"SELECT v FROM {MARKER} ORDER BY v", dbname=tdb)]
    finally:
        db.set_template(tdb, True)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> GitRemote:
    return make_remote(tmp_path_factory.mktemp("clonest-remote"), "demo_ok")


@pytest.fixture(scope="module")
def plain_template(instance: Instance) -> Iterator[Instance]:
    for _ in template_fixtures.base_template(instance, TEMPLATE):
        _mark_template(instance.app())
        yield instance


@pytest.fixture(scope="module")
def cow_template(cow_instance: Instance) -> Iterator[Instance]:
    for _ in template_fixtures.base_template(cow_instance, TEMPLATE):
        _mark_template(cow_instance.app())
        yield cow_instance


CASES = {
    # case: (instance fixture, [database].clone_strategy, pool_size, spare ready, strategy recorded)
    "reflink-spare": ("cow_template", "reflink", 1, True, "reflink"),
    "reflink-clone": ("cow_template", "reflink", 0, False, "reflink"),
    "pool": ("plain_template", "pool", 1, True, "pool"),
    "file_copy": ("plain_template", "file_copy", 0, False, "file_copy"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_clones_have_the_template_data_and_never_share_writes(
    case: str, request: pytest.FixtureRequest, remote: GitRemote
) -> None:
    fixture, strategy, pool_size, spare, recorded = CASES[case]
    inst: Instance = request.getfixturevalue(fixture)
    app = _app(inst, strategy, pool_size)
    team = app.config.team(TEAM)
    assert clonestrategy.detect(app, fresh=True).name == strategy
    if spare:
        dbpool.wait_idle(team, TEMPLATE)
        dbpool.fill(app, team, TEMPLATE)
        assert dbpool.spares(app, team, TEMPLATE)
    branches = [f"clonest-{case}-a", f"clonest-{case}-b"]
    args: dict[str, Any] = {"template_name": TEMPLATE, "repo_url": remote.url}
    try:
        made = [call(app, "create_environment", branch_name=b, **args) for b in branches]
        assert made[0]["clone_strategy"] == recorded
        info = call(app, "get_environment_info", branch_name=branches[0])
        assert info["clone_strategy"] == recorded
        assert [_rows(app, b) for b in branches] == [["from the template"]] * 2
        p = get_env(app, team, branches[0]).params
        with app.db().connect(p.db_name, user=p.db_role, password=p.db_password) as conn:
            conn.execute(f"INSERT INTO {MARKER} VALUES ('only in a')")
        assert _rows(app, branches[0]) == ["from the template", "only in a"]
        assert _rows(app, branches[1]) == ["from the template"]
        assert _template_rows(app) == ["from the template"]
    finally:
        delete_if_present(app, *branches)
        dbpool.wait_idle(team, TEMPLATE)
        dbpool.drain(app, team, TEMPLATE)
