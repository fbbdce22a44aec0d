"""Failure paths of creations and templates, each followed by a "nothing left" check.

A failed create on an overlay template, a failure after a spare clone was taken, ``init_template``
with an unknown module, ``save_as_template`` failing after the database copy, and
``save_as_template`` over a template that overlay environments are built on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.errors import NotFoundError, StepError
from oduflow.fsutil import fuse_mounts_under
from oduflow.services import dbpool, templates_ops
from oduflow.services.envmodel import get_env
from tests.docker.failure_checks import (
    TEAM,
    fuse_daemons,
    instance_leftovers,
    kill_fuse_daemon,
    nothing_left,
    serves,
)
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance
from tests.fixtures.templates import BIG, BIG_FILE

BAD_SANITIZE = {".odoo_sanitize/01_bad.sql": "UPDATE no_such_table SET x = 1;"}


@pytest.fixture(scope="module")
def base_template(instance: Instance) -> Iterator[str]:
    """A template made by ``init_template`` (base installed), copy storage."""
    yield from template_fixtures.base_template(instance, "fpbase")


@pytest.fixture
def big_template(instance: Instance, base_template: str) -> Iterator[str]:
    """A template whose filestore is above the overlay threshold: overlay storage."""
    yield from template_fixtures.overlay_template(instance, base_template, "fpbig")


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def template_state(app: App, name: str) -> tuple[dict[str, str], int | None]:
    """(files of the template directory, OID of its database): what a failed change must keep."""
    directory = app.team_dir(TEAM) / "templates" / name
    rows = app.db().query(
        "SELECT oid FROM pg_database WHERE datname = %s", [app.names.template_db(TEAM, name)]
    )
    return tree_digest(directory), (int(rows[0][0]) if rows else None)


# --- create ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "step"),
    [("failing sanitize", "sanitize database"), ("never ready", "wait until Odoo serves the database")],
)
def test_failed_create_on_an_overlay_template_releases_the_mount(
    app: App,
    engine_watch: EngineWatch,
    instance: Instance,
    git_remote: Callable[..., GitRemote],
    big_template: str,
    case: str,
    step: str,
) -> None:
    files = BAD_SANITIZE if case == "failing sanitize" else {"odoo.conf": "[options]\nhttp_port = 18069\n"}
    remote = git_remote("demo_ok", files=files)
    target = app
    if case == "never ready":  # the container runs with the overlay mount bound when it fails
        target = App(replace(app.config, limits=replace(app.config.limits, ready_timeout=8)))
    lower = app.team_dir(TEAM) / "templates" / big_template / "filestore"
    before = tree_digest(lower)
    mounted: list[Path] = []

    def progress(message: str) -> None:
        if message == step:  # the filestore is provisioned by then: the overlay is mounted
            mounted.extend(fuse_mounts_under(app.team_dir(TEAM) / "workspaces" / "ov-doomed"))

    with pytest.raises(StepError) as err:
        catalog.invoke(
            target,
            target.config.team(TEAM),
            "create_environment",
            {"branch_name": "ov-doomed", "template_name": big_template, "repo_url": remote.url},
            progress,
        )
    assert err.value.step == step and "rollback incomplete" not in str(err.value), err.value
    assert [m.name for m in mounted] == ["filestore"]  # the failure happened with the overlay mounted
    assert nothing_left(app, "ov-doomed", "ov-doomed") == []
    assert tree_digest(lower) == before  # the lower layer is untouched
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


def test_failure_after_a_spare_clone_was_taken(
    app: App,
    engine_watch: EngineWatch,
    instance: Instance,
    git_remote: Callable[..., GitRemote],
    base_template: str,
) -> None:
    team = app.config.team(TEAM)
    assert app.config.database.pool_size == 1
    dbpool.wait_idle(team, base_template)
    dbpool.fill(app, team, base_template)
    [spare] = dbpool.spares(app, team, base_template)
    remote = git_remote("demo_ok", files=BAD_SANITIZE)
    args = {"template_name": base_template, "repo_url": remote.url, "odoo_image": instance.odoo_image}
    with pytest.raises(StepError) as err:
        call(app, "create_environment", branch_name="pool-doomed", **args)
    assert err.value.step == "sanitize database", err.value
    # the spare became the environment's database (renamed) and went with it: used up, not reused
    assert not app.db().exists(spare) and spare not in dbpool.spares(app, team, base_template)
    assert nothing_left(app, "pool-doomed", "pool-doomed") == []  # waits for the refill too
    [refilled] = dbpool.spares(app, team, base_template)
    assert refilled != spare and app.db().exists(refilled)  # the pool is full again
    good = git_remote("demo_ok")
    try:  # the next creation takes the new spare
        created = call(app, "create_environment", branch_name="pool-next", **{**args, "repo_url": good.url})
        assert created["status"] == "running" and not app.db().exists(refilled)
    finally:
        delete_if_present(app, "pool-next")
    assert nothing_left(app, "pool-next", "pool-next") == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


# --- templates ---------------------------------------------------------------------------------
def test_init_template_with_an_unknown_module(
    app: App, engine_watch: EngineWatch, instance: Instance
) -> None:
    team = app.config.team(TEAM)
    with pytest.raises(StepError) as err:
        templates_ops.init_template(app, team, instance.odoo_image, "fpunknown", "base,no_such_module")
    assert err.value.step == "odoo -i base,no_such_module"
    assert isinstance(err.value.cause, NotFoundError) and "no_such_module" in str(err.value)
    assert not (app.team_dir(TEAM) / "templates" / "fpunknown").exists()
    assert not app.db().exists(app.names.template_db(TEAM, "fpunknown"))
    assert "fpunknown" not in {t["name"] for t in call(app, "list_templates")}
    assert instance_leftovers(app) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


@pytest.mark.parametrize("target", ["fpnew", "fpbig"])
def test_save_as_template_failing_after_the_database_copy(
    app: App,
    engine_watch: EngineWatch,
    git_remote: Callable[..., GitRemote],
    big_template: str,
    target: str,
) -> None:
    """The FUSE daemon of the source's overlay filestore dies once the database is copied and
    dumped: the filestore snapshot fails ("Transport endpoint is not connected")."""
    team = app.config.team(TEAM)
    remote = git_remote("demo_ok")
    branch = "save-doomed"
    created = call(
        app, "create_environment", branch_name=branch, template_name=big_template, repo_url=remote.url
    )
    try:
        env = get_env(app, team, branch)
        assert env.params.storage == "overlay"
        db = app.db()
        db.query(
            "CREATE TABLE public.kept_in_env (v int); INSERT INTO public.kept_in_env VALUES (7)",
            dbname=created["database"],
        )
        (env.filestore(app).merged / "kept-file").write_text("kept")
        before = template_state(app, target)
        seen: list[str] = []

        def progress(message: str) -> None:
            seen.append(message)
            if message == "snapshot the filestore":
                kill_fuse_daemon(env.paths.workspace)

        with pytest.raises(StepError) as err:
            catalog.invoke(
                app, team, "save_as_template", {"branch_name": branch, "template_name": target}, progress
            )
        assert err.value.step == "snapshot the filestore", err.value
        assert seen[:2] == ["copy the environment database", "dump the new template"]
        assert re.search(r"\[Errno (107|103)\]", str(err.value)), err.value  # ENOTCONN, ECONNABORTED
        assert "rollback incomplete" not in str(err.value)
        assert template_state(app, target) == before  # absent stays absent, an existing one unchanged
        assert instance_leftovers(app) == []  # no build database, no staging directory
        # the environment itself: its database untouched, its filestore repaired by a restart
        assert db.query("SELECT v FROM public.kept_in_env", dbname=created["database"]) == [(7,)]
        call(app, "restart_environment", branch_name=branch)
        serves(app, branch)
        container = app.docker().containers.get(env.container_name)
        inside = container.exec_run(["cat", f"/var/lib/odoo/filestore/{env.params.db_name}/kept-file"])
        assert inside.output == b"kept", inside
        call(app, "delete_environment", branch_name=branch)
    finally:
        delete_if_present(app, branch)
    assert nothing_left(app, branch, branch) == []
    dbpool.wait_idle(team, big_template)
    again = call(
        app, "create_environment", branch_name="save-after", template_name=big_template, repo_url=remote.url
    )
    call(app, "delete_environment", branch_name="save-after")  # the template still works
    assert again["status"] == "running" and nothing_left(app, "save-after", "save-after") == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


def test_save_as_template_resets_dependent_overlay_environments(
    app: App,
    engine_watch: EngineWatch,
    instance: Instance,
    git_remote: Callable[..., GitRemote],
    big_template: str,
) -> None:
    team = app.config.team(TEAM)
    remote = git_remote("demo_ok")
    kw = {"template_name": big_template, "repo_url": remote.url}
    lower = app.team_dir(TEAM) / "templates" / big_template / "filestore"
    branches = ("ov-src", "ov-dep")
    try:
        for branch in branches:
            call(app, "create_environment", branch_name=branch, **kw)
        src, dep = (get_env(app, team, b) for b in branches)
        assert src.params.storage == dep.params.storage == "overlay"
        (src.filestore(app).merged / "from-src").write_text("new baseline")
        (dep.filestore(app).merged / "from-dep").write_text("dropped by the reset")
        app.db().query("CREATE TABLE public.saved_from_src (v int)", dbname=src.params.db_name)

        saved = call(app, "save_as_template", branch_name="ov-src", template_name=big_template)
        assert sorted(saved["reset_environments"]) == sorted(branches)
        assert (lower / "from-src").read_text() == "new baseline" and not (lower / "from-dep").exists()
        assert (lower / BIG_FILE[0] / BIG_FILE[1]).stat().st_size == BIG
        for env in (src, dep):
            serves(app, env.branch)
            merged = env.filestore(app).merged
            assert [m for m in fuse_mounts_under(env.paths.workspace)] == [merged]
            assert len(fuse_daemons(env.paths.workspace)) == 1
            assert (merged / "from-src").read_text() == "new baseline"
            assert not (merged / "from-dep").exists()  # the dependant's own files were dropped
            upper = env.paths.workspace / "filestore_upper"
            assert not (upper / "from-dep").exists() and not (upper / "from-src").exists()  # reset
            container = app.docker().containers.get(env.container_name)
            inside = container.exec_run(["cat", f"/var/lib/odoo/filestore/{env.params.db_name}/from-src"])
            assert inside.output == b"new baseline", inside  # the container sees the new mount
        assert instance_leftovers(app) == []
        dbpool.wait_idle(team, big_template)
        call(app, "create_environment", branch_name="ov-new", **kw)  # the new baseline is the template
        new = get_env(app, team, "ov-new")
        assert (new.filestore(app).merged / "from-src").read_text() == "new baseline"
        assert app.db().query(
            "SELECT to_regclass('public.saved_from_src') IS NOT NULL", dbname=new.params.db_name
        ) == [(True,)]
    finally:
        delete_if_present(app, *branches, "ov-new")
    for branch in (*branches, "ov-new"):
        assert nothing_left(app, branch, branch) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image
