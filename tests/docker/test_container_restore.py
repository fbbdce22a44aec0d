"""Environments whose filestore is an overlay mount: ``save_as_template`` takes their branch
locks before stopping them; Docker never restarts them on an empty mount point (restart policy
``no``); the server start remounts and starts each of them, and one that fails stops no other."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from docker.models.containers import Container

from oduflow.app import App
from oduflow.errors import BusyError
from oduflow.fsutil import mount_state, unmount
from oduflow.locks import LockScope
from oduflow.services import environments
from tests.docker.failure_checks import instance_leftovers, serves
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.fixtures.instance import GitRemote, Instance
from tests.fixtures.templates import delete_template_if_present, make_overlay_template
from tests.security.container_helpers import env_of


@pytest.fixture(scope="module")
def overlay_template(instance: Instance) -> Iterator[str]:
    from oduflow.services import templates_ops

    app = instance.app()
    team = app.config.team(TEAM)
    templates_ops.init_template(app, team, instance.odoo_image, "rs-base", "base")
    try:
        yield make_overlay_template(app, "rs-base", "rs-big", instance.odoo_image)
    finally:
        delete_template_if_present(app, "rs-big")
        delete_template_if_present(app, "rs-base")


@pytest.fixture
def two_overlays(
    app: App, overlay_template: str, git_remote: Callable[..., GitRemote]
) -> Iterator[tuple[str, str]]:
    remote = git_remote("demo_ok")
    branches = ("rs-a", "rs-b")
    try:
        for branch in branches:
            call(
                app,
                "create_environment",
                branch_name=branch,
                template_name=overlay_template,
                repo_url=remote.url,
            )
        yield branches
    finally:
        for branch in branches:  # a test may have broken an upper layer: put it back first
            upper = app.team_dir(TEAM) / "workspaces" / branch / "filestore_upper"
            if upper.is_file():
                upper.unlink()
                upper.with_name("filestore_upper.saved").rename(upper)
        delete_if_present(app, *branches)


def digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def container(app: App, branch: str) -> Container:
    c = app.docker().containers.get(env_of(app, branch).container_name)
    c.reload()
    return c


@pytest.mark.parametrize("held", ["dependant", "source"])
def test_save_as_template_refuses_while_a_branch_lock_is_held(
    app: App, overlay_template: str, two_overlays: tuple[str, str], held: str
) -> None:
    source, dependant = two_overlays
    busy = dependant if held == "dependant" else source
    tdir = app.team_dir(TEAM) / "templates" / overlay_template
    before = digest(tdir)
    (env_of(app, dependant).filestore(app).merged / "own.txt").write_text("the dependant's own file")
    assert container(app, source).attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
    lock = app.locks.hold(LockScope.branch(TEAM, busy), "run_odoo_tests")
    with lock, pytest.raises(BusyError) as err:
        call(app, "save_as_template", branch_name=source, template_name=overlay_template)
    assert f"'{busy}'" in str(err.value) and "run_odoo_tests" in str(err.value)
    assert digest(tdir) == before  # nothing changed: template, environments, mounts
    for branch in two_overlays:
        env = env_of(app, branch)
        assert container(app, branch).status == "running"
        assert mount_state(env.filestore(app).merged) == "mounted"
    assert (
        env_of(app, dependant).filestore(app).merged / "own.txt"
    ).read_text() == "the dependant's own file"
    assert instance_leftovers(app) == []
    # once the lock is free the same call goes through and resets both
    saved = call(app, "save_as_template", branch_name=source, template_name=overlay_template)
    assert sorted(saved["reset_environments"]) == sorted(two_overlays)


def reboot(app: App, branches: tuple[str, ...]) -> None:
    """What a reboot leaves: stopped containers (restart policy ``no``) and no FUSE mount."""
    for branch in branches:
        c = container(app, branch)
        if c.status == "running":
            c.stop(timeout=10)
        merged = env_of(app, branch).filestore(app).merged
        unmount(merged)
        assert mount_state(merged) == "unmounted"


def test_one_failed_remount_at_start_leaves_the_others_remounted_and_running(
    app: App, two_overlays: tuple[str, str]
) -> None:
    bad, good = two_overlays  # the store lists "rs-a" first: its failure comes before the other
    reboot(app, two_overlays)
    upper = env_of(app, bad).paths.workspace / "filestore_upper"
    upper.rename(upper.with_name("filestore_upper.saved"))
    upper.write_text("not a directory")  # fuse-overlayfs cannot mount on it
    report = environments.restore_environments(app)
    assert f"{TEAM}/{good}" in report.repaired and f"{TEAM}/{good}" in report.started
    assert list(report.failed) == [f"{TEAM}/{bad}"]
    serves(app, good)
    assert (env_of(app, good).filestore(app).merged / "ab" / "abcdef").stat().st_size == 2 << 20
    assert container(app, bad).status == "exited"  # never started on an empty mount point
    assert mount_state(env_of(app, bad).filestore(app).merged) == "unmounted"

    # repaired, the next start restores it; one stopped with stop_environment stays stopped
    upper.unlink()
    upper.with_name("filestore_upper.saved").rename(upper)
    call(app, "stop_environment", branch_name=good)
    reboot(app, two_overlays)
    report = environments.restore_environments(app)
    assert report.failed == {} and f"{TEAM}/{bad}" in report.started
    assert f"{TEAM}/{good}" in report.repaired and f"{TEAM}/{good}" not in report.started
    serves(app, bad)
    assert container(app, good).status == "exited"
    call(app, "start_environment", branch_name=good)
    serves(app, good)
