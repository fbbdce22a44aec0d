"""Attack: fill the server's disk with anonymous volumes. Images declare ``VOLUME``s, and every
container removed without its volumes leaves one behind: a token holder who loops over cheap
tools (tests, shell, installs, create/delete) would leave one per job. Every container Oduflow
removes goes with its volumes, so a whole agent session through the tools leaves none."""

from __future__ import annotations

from collections.abc import Callable

from oduflow.app import App
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance

BRANCH = "volume-loop"


def test_a_session_of_tool_calls_leaves_no_anonymous_volume(
    app: App,
    instance: Instance,
    base_template: str,
    git_remote: Callable[..., GitRemote],
    engine_watch: EngineWatch,
) -> None:
    remote = git_remote("demo_ok", "demo_failtest")
    try:
        for _ in range(2):  # a loop an agent could run forever
            call(app, "create_environment", branch_name=BRANCH, template_name=base_template,
                 repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
            assert call(app, "install_odoo_modules", branch_name=BRANCH, modules="demo_ok")["ok"]
            assert call(app, "run_odoo_tests", branch_name=BRANCH, modules="demo_failtest")["failed"] == 1
            assert call(app, "run_odoo_shell", branch_name=BRANCH, code="print(1)")["ok"]
            call(app, "save_as_template", branch_name=BRANCH, template_name="volume-loop")
            call(app, "delete_environment", branch_name=BRANCH)
        # the jobs really had anonymous volumes (the images declare VOLUMEs) ...
        assert engine_watch.containers and engine_watch.volumes_of_containers()
        engine_watch.assert_clean()  # ... and none of them is left
    finally:
        delete_if_present(app, BRANCH)
        if (app.team_dir("1") / "templates" / "volume-loop").exists():
            call(app, "delete_template", template_name="volume-loop")
