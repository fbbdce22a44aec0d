"""``oduflow cleanup --force`` next to running operations, and what earlier versions named.

A creation in progress holds its branch lock under the branch's slug, an ``init_template`` the
template's lock: cleanup probes exactly those locks and leaves their resources alone. Containers
of environments made by earlier versions (``{prefix}-{team}-{slug}-odoo``) keep working, and
their ``{template_db}__build`` databases are still found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import StepError
from oduflow.naming import branch_slug
from oduflow.services import cleanup, templates, templates_ops
from tests.docker.failure_checks import own_errors
from tests.docker.odoo_env import TEAM, call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import GitRemote, Instance

BUSY = "Cleanup/Busy"  # its slug (cleanup-busy) is not the branch: the lock key is the slug


def wait_for(what: str, check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def unready_app(instance: Instance) -> App:
    """The instance with a short readiness timeout (the repository's Odoo never answers)."""
    path = instance.write_config("cleanup-guards.toml")
    path.write_text(path.read_text().replace("ready_timeout = 120", "ready_timeout = 25"))
    return App(load(path))


def orphan_names(app: App) -> set[str]:
    found = cleanup.cleanup(app, app.config.team(TEAM), force=True)
    assert not own_errors(found)
    return {name for names in found["orphans"].values() for name in names}


def test_cleanup_leaves_a_creation_in_progress_alone(
    instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    app = unready_app(instance)
    # Odoo listens on the container's loopback only: the creation waits for readiness until
    # ready_timeout, long enough to run cleanup with the container there
    remote = git_remote("demo_ok", files={"odoo.conf": "[options]\nhttp_interface = 127.0.0.1\n"})
    slug, names, db = branch_slug(BUSY), app.names, app.db()
    args = {
        "branch_name": BUSY,
        "template_name": "none",
        "repo_url": remote.url,
        "odoo_image": instance.odoo_image,
    }
    with ThreadPoolExecutor(1) as pool:
        creation: Future[Any] = pool.submit(
            catalog.invoke, app, app.config.team(TEAM), "create_environment", args
        )
        wait_for("the creation's database", lambda: db.exists(names.env_db(TEAM, slug)) or creation.done())
        during_init = orphan_names(app)
        wait_for(
            "the creation's container",
            lambda: "container" in leftovers(app, BUSY, slug) or creation.done(),
        )
        if creation.done():  # it must still be running here: say why it ended
            pytest.fail(f"the creation ended before its container was made: {creation.exception()!r}")
        during_start = orphan_names(app)
        rec = app.store.get_env(TEAM, BUSY)
        assert rec is not None and rec.status == "creating"  # both cleanups ran during the creation
        assert set(leftovers(app, BUSY, slug)) >= {
            "container",
            "database",
            "role",
            "workspace",
            "state record",
        }
        with pytest.raises(StepError) as err:
            creation.result(timeout=300)
    mine = {BUSY, names.env_db(TEAM, slug), names.env_role(TEAM, slug), slug, f"env:{slug}"}
    mine.add(names.env_container(TEAM, slug))
    assert not mine & during_init and not mine & during_start
    # it failed where the readiness timeout makes it fail, not where a removed part would
    assert err.value.step == "wait until Odoo serves the database", err.value
    assert leftovers(app, BUSY, slug) == []  # and its own rollback removed everything


def test_cleanup_leaves_a_template_build_alone(app: App, instance: Instance) -> None:
    team = app.config.team(TEAM)
    build = app.names.template_build_db(TEAM, "cl-build")
    with ThreadPoolExecutor(1) as pool:
        init: Future[Any] = pool.submit(
            templates_ops.init_template, app, team, instance.odoo_image, "cl-build", "base"
        )
        try:
            wait_for("the build database", lambda: app.db().exists(build) or init.done())
            found = orphan_names(app)
            assert build not in found
            assert app.db().exists(build), "cleanup dropped the database of a running init_template"
            assert init.result(timeout=300)["status"] == "ready"
        finally:
            init.exception(timeout=300)
            if (templates.templates_root(app, team) / "cl-build").is_dir():
                templates.delete_template(app, team, "cl-build")
    assert not app.db().exists(build)


def test_leftover_builds_are_removed_under_the_template_lock(app: App) -> None:
    """A build database whose template lock nobody holds is a crash's leftover (this version's
    name and the earlier one); a template named like an earlier build name is no leftover."""
    team, db = app.config.team(TEAM), app.db()
    current = app.names.template_build_db(TEAM, "cl-crashed")
    legacy = app.names.template_db(TEAM, "cl-crashed") + "__build"
    real = app.names.template_db(TEAM, "cl-real__build")
    real_dir = templates.templates_root(app, team) / "cl-real__build"
    for name in (current, legacy, real):
        db.create_empty(name)
    real_dir.mkdir(parents=True)
    try:
        with templates.hold_template(app, team, "cl-crashed", "a test holding the template"):
            held = cleanup.cleanup(app, team, force=True)
        assert not {current, legacy} & set(held["orphans"]["databases"])  # its lock is held
        assert db.exists(current) and db.exists(legacy)
        found = cleanup.cleanup(app, team)["orphans"]["databases"]
        assert current in found and legacy in found and real not in found
        removed = cleanup.cleanup(app, team, force=True)
        assert not own_errors(removed) and "busy" not in removed
        assert not db.exists(current) and not db.exists(legacy) and db.exists(real)
    finally:
        for name in (current, legacy, real):
            db.drop(name)
        real_dir.rmdir()


def test_environments_of_earlier_versions_keep_working(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], tmp_path: Path
) -> None:
    remote = git_remote("demo_ok")
    call(app, "create_environment", branch_name="legacy-env", template_name="none",
         repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
    client, names = app.docker(), app.names
    old_name = names.legacy_env_container(TEAM, "legacy-env")
    try:
        client.containers.get(names.env_container(TEAM, "legacy-env")).rename(old_name)  # as made before
        [listed] = [e for e in call(app, "list_environments") if e["branch"] == "legacy-env"]
        assert (listed["container"], listed["status"]) == (old_name, "running")
        assert call(app, "get_environment_info", branch_name="legacy-env")["container_status"] == "running"
        assert call(app, "run_odoo_command", branch_name="legacy-env", command="echo hi")["stdout"] == "hi\n"
        call(app, "stop_environment", branch_name="legacy-env")
        assert client.containers.get(old_name).status == "exited"
        call(app, "start_environment", branch_name="legacy-env")
        assert "legacy-env" not in cleanup.find_orphans(app, app.config.team(TEAM))["workspaces"]
        call(app, "rebuild_environment", branch_name="legacy-env")  # moves it to the current name
        assert client.containers.get(names.env_container(TEAM, "legacy-env")).status == "running"
        assert not client.containers.list(all=True, filters={"name": f"^/{old_name}$"})
    finally:
        call(app, "delete_environment", branch_name="legacy-env")
    assert leftovers(app, "legacy-env", "legacy-env") == []
