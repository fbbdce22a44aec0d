"""Extra addons repositories on real git remotes, real worktrees and real mounts.

One environment of team 1 mounts repository ``REPO`` (a second remote holding a module the main
repository does not have); the tests run in order on it: install that module, the read-only
mount, deletion refused while used or protected, update + pull (the worktree stays pinned,
the pull reports the newer commits), recreate (the branch's new head), another team, a
failed create with extra addons (no worktree left) and a template's ``extra_addons`` inherited.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from oduflow.app import App
from oduflow.errors import ConflictError, NotFoundError, OduflowError, ProtectedError, StepError
from oduflow.layout import team_layout
from oduflow.services.templates_meta import read_metadata, write_metadata
from tests.docker.failure_checks import nothing_left
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import GitRemote, Instance, make_remote

BRANCH = "extra-tests"
REPO = "extra-ent"
EXTRA_BRANCH = "18.0"
MOUNT = f"/mnt/extra-addons-{REPO}"


def manifest(version: str) -> str:
    return f"{{'name': 'Only Extra', 'version': '{version}', 'depends': ['base'], 'license': 'LGPL-3'}}\n"


ONLY_EXTRA = {"only_extra/__init__.py": "", "only_extra/__manifest__.py": manifest("18.0.1.0.0")}


@dataclass
class Setup:
    app: App
    instance: Instance
    main: GitRemote
    extra: GitRemote
    created: dict[str, Any]

    def info(self) -> dict[str, Any]:
        return dict(call(self.app, "get_environment_info", branch_name=BRANCH))

    def in_container(self, command: str, user: str = "odoo") -> dict[str, Any]:
        return dict(call(self.app, "run_odoo_command", branch_name=BRANCH, command=command, user=user))


def head(remote: GitRemote) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=remote.work, check=True, capture_output=True, text=True
    ).stdout.strip()


def worktrees(app: App, team: str = TEAM) -> str:
    bare = team_layout(app, team).shared_repo(REPO)
    return subprocess.run(
        ["git", "worktree", "list"], cwd=bare, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def setup(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    app = instance.app()
    root = tmp_path_factory.mktemp("extra")
    main, extra = make_remote(root, "demo_ok"), make_remote(root, files=ONLY_EXTRA)
    extra.push("the release branch", branch=EXTRA_BRANCH)
    call(app, "add_extra_repo", name=REPO, repo_url=extra.url)
    try:
        created = call(
            app, "create_environment", branch_name=BRANCH, template_name="none", repo_url=main.url,
            odoo_image=instance.odoo_image, extra_addons=REPO, extra_addons_branch=EXTRA_BRANCH,
        )  # fmt: skip
        yield Setup(app, instance, main, extra, created)
    finally:
        delete_if_present(app, BRANCH)
        with contextlib.suppress(OduflowError):
            call(app, "unprotect_extra_repo", name=REPO)
            call(app, "delete_extra_repo", name=REPO)


def test_a_module_only_in_the_extra_repository_installs(setup: Setup) -> None:
    pinned = {"name": REPO, "branch": EXTRA_BRANCH, "commit": head(setup.extra)}
    assert setup.created["extra_addons"] == [pinned]
    assert setup.info()["extra_addons"] == [{**pinned, "mount": MOUNT}]
    conf = call(setup.app, "read_file_in_odoo", branch_name=BRANCH, path="/etc/odoo/odoo.conf")
    assert f"addons_path = /mnt/extra-addons,{MOUNT}" in conf["content"]
    assert "only_extra" not in setup.in_container("ls /mnt/extra-addons")["stdout"]
    result = call(setup.app, "install_odoo_modules", branch_name=BRANCH, modules="only_extra")
    assert result["ok"] is True, result["summary"]
    assert "only_extra" in result["modules_loaded"]


def test_the_mount_is_read_only(setup: Setup) -> None:
    container = setup.app.docker().containers.get(setup.created["container"])
    (mount,) = [m for m in container.attrs["Mounts"] if m["Destination"] == MOUNT]
    assert mount["RW"] is False
    root = setup.in_container(f"touch {MOUNT}/planted", user="root")
    assert root["exit_code"] != 0 and "Read-only file system" in root["stderr"], root
    assert not (Path(mount["Source"]) / "planted").exists()


def test_delete_is_refused_while_used_and_while_protected(setup: Setup) -> None:
    with pytest.raises(ConflictError, match=BRANCH):
        call(setup.app, "delete_extra_repo", name=REPO)
    call(setup.app, "protect_extra_repo", name=REPO)
    try:
        with pytest.raises(ProtectedError):
            call(setup.app, "delete_extra_repo", name=REPO)
        (listed,) = [r for r in call(setup.app, "list_extra_repos") if r["name"] == REPO]
        assert listed["protected"] is True and listed["used_by"] == [BRANCH]
    finally:
        call(setup.app, "unprotect_extra_repo", name=REPO)


def test_update_fetches_the_environment_stays_pinned_and_pull_reports(setup: Setup) -> None:
    old = head(setup.extra)
    setup.extra.write("only_extra/__manifest__.py", manifest("18.0.1.1.0"))
    new = setup.extra.push("version bump", branch=EXTRA_BRANCH)
    fetched = call(setup.app, "update_extra_repo", name=REPO)
    assert {"branch": EXTRA_BRANCH, "old_commit": old, "new_commit": new} in fetched["updated"]
    pulled = call(setup.app, "pull_and_apply", branch_name=BRANCH)
    (report,) = pulled["extra_addons"]
    assert (report["commit"], report["branch_head"]) == (old, new)
    assert report["plan"]["upgrade"] == ["only_extra"] and "not applied" in pulled["summary"]
    shown = setup.in_container(f"cat {MOUNT}/only_extra/__manifest__.py")["stdout"]
    assert "18.0.1.0.0" in shown  # the worktree did not move
    assert setup.info()["extra_addons"][0]["commit"] == old


def test_recreate_takes_the_branch_new_head(setup: Setup) -> None:
    recreated = call(setup.app, "recreate_environment", branch_name=BRANCH)
    assert recreated["extra_addons"] == [{"name": REPO, "branch": EXTRA_BRANCH, "commit": head(setup.extra)}]
    assert "18.0.1.1.0" in setup.in_container(f"cat {MOUNT}/only_extra/__manifest__.py")["stdout"]
    assert worktrees(setup.app).count("detached") == 1  # the old environment's worktree is gone


def test_another_team_can_neither_see_nor_use_it(setup: Setup) -> None:
    assert REPO not in {r["name"] for r in call(setup.app, "list_extra_repos", team="2")}
    with pytest.raises(NotFoundError, match=REPO):
        call(
            setup.app, "create_environment", team="2", branch_name="extra-other", template_name="none",
            repo_url=setup.main.url, odoo_image=setup.instance.odoo_image, extra_addons=REPO,
        )  # fmt: skip
    assert setup.app.store.get_env("2", "extra-other") is None
    with pytest.raises(NotFoundError):
        call(setup.app, "delete_extra_repo", team="2", name=REPO)


def test_a_failed_create_leaves_no_worktree(setup: Setup, tmp_path: Path) -> None:
    broken = make_remote(tmp_path, "demo_ok")
    os.symlink("/etc/passwd", broken.work / "odoo.conf")  # refused when odoo.conf is written
    broken.push("a linked odoo.conf")
    before = worktrees(setup.app)
    with pytest.raises(StepError) as err:
        call(
            setup.app, "create_environment", branch_name="extra-doomed", template_name="none",
            repo_url=broken.url, odoo_image=setup.instance.odoo_image, extra_addons=f"{REPO}:{EXTRA_BRANCH}",
        )  # fmt: skip
    assert err.value.step == "write odoo.conf", err.value
    assert worktrees(setup.app) == before
    assert nothing_left(setup.app, "extra-doomed", "extra-doomed") == []


@pytest.fixture(scope="module")
def inheriting_template(instance: Instance, setup: Setup) -> Iterator[str]:
    """A template whose metadata names the repository and the main remote."""
    for name in template_fixtures.base_template(instance, "extratpl"):
        directory = team_layout(setup.app, TEAM).template(name)
        meta = read_metadata(directory)
        write_metadata(directory, replace(meta, repo_url=setup.main.url, extra_addons={REPO: EXTRA_BRANCH}))
        yield name


def test_the_template_metadata_extra_addons_are_inherited(setup: Setup, inheriting_template: str) -> None:
    try:
        created = call(
            setup.app, "create_environment", branch_name="extra-inherit", template_name=inheriting_template
        )
        assert created["extra_addons"] == [
            {"name": REPO, "branch": EXTRA_BRANCH, "commit": head(setup.extra)}
        ]
        mounted = call(setup.app, "run_odoo_command", branch_name="extra-inherit", command=f"ls {MOUNT}")
        assert "only_extra" in mounted["stdout"]
    finally:
        delete_if_present(setup.app, "extra-inherit")
