"""Failure paths of operations on a running environment, each followed by a "nothing left" check.

``pull_and_apply`` after a force-push and after the remote branch was deleted; an install and a
test run that outlive ``[limits].command_timeout``. After each, the environment still serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from oduflow import git
from oduflow.app import App
from oduflow.errors import ExternalCommandError
from oduflow.services.envmodel import get_env
from tests.docker.failure_checks import TEAM, nothing_left, serves
from tests.docker.odoo_env import call, environment
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance
from tests.fixtures.instance import git as run_git

TIMEOUT_S = 15
SLEEPY_INSTALL = {  # importing the module (at install) outlives the timeout
    "fp_sleepy/__init__.py": "import time\n\ntime.sleep(600)\n",
    "fp_sleepy/__manifest__.py": "{'name': 'Sleepy', 'version': '18.0.1.0.0', 'depends': ['base'], "
    "'license': 'LGPL-3'}\n",
}
SLOW_TEST = {  # installs at once; its test outlives the timeout
    "fp_slowtest/__init__.py": "",
    "fp_slowtest/__manifest__.py": "{'name': 'Slow test', 'version': '18.0.1.0.0', 'depends': ['base'], "
    "'license': 'LGPL-3'}\n",
    "fp_slowtest/tests/__init__.py": "from . import test_slow\n",
    "fp_slowtest/tests/test_slow.py": "import time\n\nfrom odoo.tests.common import TransactionCase\n\n\n"
    "class TestSlow(TransactionCase):\n    def test_sleeps(self):\n        time.sleep(600)\n",
}


def head(app: App, branch: str) -> str:
    env = get_env(app, app.config.team(TEAM), branch)
    return git.head(env.paths.repo, git.workspace_env(env.paths.repo))


def processes(app: App, branch: str, needle: str) -> list[str]:
    """Command lines in the environment's container that contain ``needle``."""
    env = get_env(app, app.config.team(TEAM), branch)
    container = app.docker().containers.get(env.container_name)
    script = 'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline"; echo; done 2>/dev/null'
    out = container.exec_run(["sh", "-c", script]).output.decode(errors="replace")
    return [ln for ln in out.splitlines() if needle in ln and "/proc/" not in ln]


# --- pull_and_apply ----------------------------------------------------------------------------
def test_pull_after_a_force_push_is_refused_and_changes_nothing(
    app: App, engine_watch: EngineWatch, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    branch = "fp-forced"
    remote = git_remote("demo_ok")
    remote.push("branch", branch=branch)
    with environment(app, branch, remote, instance.odoo_image):
        remote.write("NOTES.md", "first\n")
        kept = remote.push("a commit the environment gets", branch=branch)
        assert call(app, "pull_and_apply", branch_name=branch)["new_commit"] == kept == head(app, branch)
        run_git("reset", "-q", "--hard", "HEAD~1", cwd=remote.work)  # history rewritten
        remote.write("NOTES.md", "rewritten\n")
        run_git("add", "-A", cwd=remote.work)
        run_git("commit", "-qm", "rewritten", cwd=remote.work)
        run_git("push", "-q", "--force", "origin", f"HEAD:{branch}", cwd=remote.work)
        for _ in range(2):  # refused each time, the same way
            with pytest.raises(ExternalCommandError, match="diverged") as err:
                call(app, "pull_and_apply", branch_name=branch)
            assert "recreate the environment" in str(err.value)
            assert head(app, branch) == kept
        env = get_env(app, app.config.team(TEAM), branch)
        assert (env.paths.repo / "NOTES.md").read_text() == "first\n"  # the checkout is untouched
        serves(app, branch)
        with pytest.raises(ExternalCommandError, match="diverged"):  # a dry run says so too
            call(app, "pull_and_apply", branch_name=branch, dry_run=True)
    assert nothing_left(app, branch, branch) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


def test_pull_after_the_remote_branch_was_deleted(
    app: App, engine_watch: EngineWatch, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    branch = "fp-deleted"
    remote = git_remote("demo_ok")  # the branch is not on the remote: created from main
    with environment(app, branch, remote, instance.odoo_image):
        start = head(app, branch)
        not_yet = call(app, "pull_and_apply", branch_name=branch)
        assert not_yet["remote_branch"] == "not pushed" and not_yet["actions"] == []
        assert "not on the remote yet" in not_yet["summary"]
        remote.write("NOTES.md", "pushed\n")
        pushed = remote.push("push the branch", branch=branch)
        assert call(app, "pull_and_apply", branch_name=branch)["new_commit"] == pushed == head(app, branch)
        assert pushed != start
        run_git("push", "-q", "origin", "--delete", branch, cwd=remote.work)
        for _ in range(2):
            gone = call(app, "pull_and_apply", branch_name=branch)
            assert gone["remote_branch"] == "deleted" and gone["actions"] == [], gone
            assert gone["old_commit"] == gone["new_commit"] == pushed == head(app, branch)
            assert "no longer on the remote" in gone["summary"] and "nothing done" in gone["summary"]
        serves(app, branch)
        remote.write("NOTES.md", "pushed again\n")
        again = remote.push("the branch is back", branch=branch)
        back = call(app, "pull_and_apply", branch_name=branch)
        assert back["new_commit"] == again == head(app, branch) and "remote_branch" not in back
    assert nothing_left(app, branch, branch) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


# --- timeouts ----------------------------------------------------------------------------------
def test_install_and_test_run_timeouts(
    app: App, engine_watch: EngineWatch, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    branch = "fp-timeouts"
    remote = git_remote("demo_ok", files={**SLEEPY_INSTALL, **SLOW_TEST})
    short = App(replace(app.config, limits=replace(app.config.limits, command_timeout=TIMEOUT_S)))
    with environment(app, branch, remote, instance.odoo_image):
        run = call(short, "run_odoo_tests", branch_name=branch, modules="fp_slowtest")
        assert run["timed_out"] is True and run["ok"] is False, run["summary"]
        assert run["summary"].endswith("TIMED OUT"), run["summary"]
        assert any(f"timed out after {TIMEOUT_S} s" in e["message"] for e in run["load_errors"]), run
        assert "test_sleeps" in run["log"] or "fp_slowtest" in run["log"], run["log"][-3000:]
        assert processes(app, branch, "--test-enable") == []  # killed inside the container too
        serves(app, branch)

        op = call(short, "install_odoo_modules", branch_name=branch, modules="fp_sleepy")
        assert op["timed_out"] is True and op["ok"] is False, op["summary"]
        assert f"timed out after {TIMEOUT_S} s" in op["error"]["message"], op["error"]
        assert op["exit_code"] != 0 and "FAILED" in op["summary"], op["summary"]
        assert op["restart"]["ok"] is True and "server restarted" in op["summary"]
        assert processes(app, branch, "fp_sleepy") == []
        serves(app, branch)
        mods = call(app, "list_installed_modules", branch_name=branch, name_filter="fp_sleepy")
        assert mods["modules"] == []  # not installed
        assert call(app, "http_request_to_odoo", branch_name=branch, path="/web/login")["status"] == 200
    assert nothing_left(app, branch, branch) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image
