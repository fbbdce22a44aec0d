"""``pull_and_apply`` on real git pushes: install, upgrade, restart, refresh and dry runs.

The tests run in order on one environment; each pushes one commit to the environment's branch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import docker.errors
import pytest

from oduflow import git
from oduflow.app import App
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import TEAM, call, environment
from tests.fixtures.instance import GitRemote, Instance, make_remote

BRANCH = "pull-tests"

NEW_MODULE = {
    "demo_new/__init__.py": "from . import models\n",
    "demo_new/__manifest__.py": "{'name': 'Demo New', 'version': '18.0.1.0.0', 'depends': ['base'], "
    "'license': 'LGPL-3'}\n",
    "demo_new/models.py": "from odoo import fields, models\n\n\nclass DemoNew(models.Model):\n"
    "    _name = 'demo.new'\n    _description = 'Demo New'\n\n    name = fields.Char()\n",
}
THING = "demo_ok/models/thing.py"
VIEWS = "demo_ok/views/views.xml"


@dataclass
class Setup:
    app: App
    remote: GitRemote
    pushed: str = ""

    def push(self, files: dict[str, str], message: str) -> str:
        for rel, text in files.items():
            self.remote.write(rel, text)
        self.pushed = self.remote.push(message, branch=BRANCH)
        return self.pushed

    def head(self) -> str:
        env = get_env(self.app, self.app.config.team(TEAM), BRANCH)
        return git.head(env.paths.repo, git.workspace_env(env.paths.repo))

    def pull(self, **args: object) -> dict:
        return call(self.app, "pull_and_apply", branch_name=BRANCH, **args)


@pytest.fixture(scope="module")
def setup(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    app = instance.app()
    remote = make_remote(tmp_path_factory.mktemp("pull"), "demo_ok")
    remote.push("branch", branch=BRANCH)
    images: set[str] = set()
    try:
        with environment(app, BRANCH, remote, instance.odoo_image):
            installed = call(app, "install_odoo_modules", branch_name=BRANCH, modules="demo_ok")
            assert installed["ok"], installed["summary"]
            yield Setup(app, remote)
            images.add(get_env(app, app.config.team(TEAM), BRANCH).params.run_image)
    finally:
        for image in images - {instance.odoo_image}:  # the dependency image a rebuild made
            with contextlib.suppress(docker.errors.DockerException):
                app.docker().images.remove(image)


def actions(result: dict) -> list[str]:
    return [a["action"] for a in result["actions"]]


def test_up_to_date_does_nothing(setup: Setup) -> None:
    result = setup.pull()
    assert result["old_commit"] == result["new_commit"] == setup.head()
    assert result["actions"] == [] and "up to date" in result["summary"]


def test_dry_run_plans_without_moving_head(setup: Setup) -> None:
    before = setup.head()
    pushed = setup.push(NEW_MODULE, "add demo_new")
    result = setup.pull(dry_run=True)
    assert result["dry_run"] is True and result["actions"] == []
    assert (result["old_commit"], result["new_commit"]) == (before, pushed)
    assert result["plan"]["install"] == ["demo_new"] and result["plan"]["action"] == "install"
    assert {f["path"] for f in result["changed_files"]} == set(NEW_MODULE)
    assert setup.head() == before
    env = get_env(setup.app, setup.app.config.team(TEAM), BRANCH)
    assert not (env.paths.repo / "demo_new").exists()
    assert result["summary"].startswith("dry run") and "install: demo_new" in result["summary"]


def test_new_module_is_installed(setup: Setup) -> None:
    result = setup.pull()
    assert result["new_commit"] == setup.head() == setup.pushed
    assert result["plan"]["install"] == ["demo_new"]
    assert actions(result) == ["install/upgrade", "restart"], result["summary"]
    op = result["actions"][0]
    assert op["ok"] is True and op["result"]["exit_code"] == 0
    assert "demo_new" in op["result"]["modules_loaded"]
    assert result["actions"][1]["ok"] is True
    assert "install demo_new: OK" in result["summary"] and "server restarted" in result["summary"]
    mods = call(setup.app, "list_installed_modules", branch_name=BRANCH, name_filter="demo_new")
    assert [m["state"] for m in mods["modules"]] == ["installed"]


def test_field_change_upgrades(setup: Setup) -> None:
    thing = (setup.remote.work / THING).read_text() + "    note = fields.Char()\n"
    pushed = setup.push({THING: thing}, "add a field")
    result = setup.pull()
    assert result["new_commit"] == pushed == setup.head()
    assert result["plan"]["upgrade"] == ["demo_ok"] and result["plan"]["install"] == []
    assert actions(result) == ["install/upgrade", "restart"]
    assert result["actions"][0]["result"]["ok"] is True, result["summary"]
    columns = call(
        setup.app,
        "run_db_query",
        branch_name=BRANCH,
        query="SELECT column_name FROM information_schema.columns WHERE table_name = 'demo_thing' "
        "AND column_name = 'note'",
    )
    assert columns["rows"] == [["note"]]


def test_method_change_restarts(setup: Setup) -> None:
    thing = (setup.remote.work / THING).read_text() + "\n    def hello(self):\n        return 'hello'\n"
    setup.push({THING: thing}, "add a method")
    result = setup.pull()
    assert result["plan"]["action"] == "restart", result["plan"]
    assert result["plan"]["install"] == result["plan"]["upgrade"] == []
    assert actions(result) == ["restart"] and result["actions"][0]["ok"] is True
    assert "server restarted" in result["summary"]
    shell = call(setup.app, "run_odoo_shell", branch_name=BRANCH, code="print(env['demo.thing'].hello())")
    assert shell["stdout"].strip() == "hello", shell


def test_view_arch_change_only_refreshes(setup: Setup) -> None:
    views = (
        (setup.remote.work / VIEWS)
        .read_text()
        .replace('<list><field name="name"/></list>', '<list><field name="name"/><field name="note"/></list>')
    )
    assert "note" in views
    before_started = _started_at(setup)
    pushed = setup.push({VIEWS: views}, "show the note")
    result = setup.pull()
    assert result["new_commit"] == pushed == setup.head()
    assert result["plan"]["action"] == "refresh" and result["plan"]["refresh"] is True
    assert result["actions"] == []
    assert "reload the browser" in result["summary"]
    assert _started_at(setup) == before_started  # the server was not restarted


def test_requirements_change_rebuilds_the_container(setup: Setup) -> None:
    setup.push({"requirements.txt": "# already in the image\nlxml\n"}, "declare a dependency")
    result = setup.pull()
    assert result["plan"]["dependencies"] is True
    assert actions(result) == ["rebuild"], result["summary"]
    rebuild = result["actions"][0]
    assert rebuild["ok"] is True, rebuild
    assert "container rebuilt" in result["summary"]
    env = get_env(setup.app, setup.app.config.team(TEAM), BRANCH)
    assert env.params.run_image == rebuild["image"] != env.params.odoo_image
    assert call(setup.app, "http_request_to_odoo", branch_name=BRANCH)["status"] == 200


def test_broken_new_module_reports_the_failure(setup: Setup) -> None:
    broken = {
        "demo_broken/__init__.py": "from odoo import models\n\nclass Broken(models.Model)\n    _name = 'x'\n",
        "demo_broken/__manifest__.py": "{'name': 'Broken', 'version': '18.0.1.0.0', 'depends': ['base']}\n",
    }
    setup.push(broken, "a module that does not compile")
    result = setup.pull()
    op = result["actions"][0]
    assert op["action"] == "install/upgrade" and op["ok"] is False
    assert op["result"]["exit_code"] == 255 and "SyntaxError" in op["result"]["error"]["exception"]
    assert "FAILED (exit code 255)" in result["summary"]


def _started_at(setup: Setup) -> str:
    env = get_env(setup.app, setup.app.config.team(TEAM), BRANCH)
    container = setup.app.docker().containers.get(env.container_name)
    return str(container.attrs["State"]["StartedAt"])


def test_git_config_written_in_the_container_never_runs_on_the_host(
    setup: Setup, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The work tree is writable from the container; its git directory lives outside it."""
    marker = tmp_path_factory.mktemp("pwn") / "pwned"
    env = get_env(setup.app, setup.app.config.team(TEAM), BRANCH)
    assert not (env.paths.repo / ".git").exists()
    evil = f'[core]\n\thooksPath = /tmp\n[filter "x"]\n\tsmudge = touch {marker}\n\tclean = cat\n'
    call(
        setup.app,
        "run_odoo_command",
        branch_name=BRANCH,
        command="mkdir -p /mnt/extra-addons/.git && cat > /mnt/extra-addons/.git/config "
        "&& echo '* filter=x' > /mnt/extra-addons/.gitattributes",
        user="root",
    )
    (env.paths.repo / ".git" / "config").write_text(evil)  # same as the container could write
    setup.push({"README.md": "pulled after tampering\n"}, "docs")
    result = setup.pull()
    assert result["new_commit"] == setup.pushed
    assert not marker.exists()
