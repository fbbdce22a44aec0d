"""Attacks through names a team picks for its templates and branches.

Earlier versions built template ``x`` in the database ``{template_db(x)}__build``: exactly the
database of a template named ``x__build``, so reloading ``x`` (or ``oduflow cleanup --force``)
dropped that template, and saving ``x__build`` swapped away ``x``'s build. The editor container
of template ``foo`` was named like the container of branch ``template-foo``. Build, old and editor
names now hold a separator that no template or branch name can.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oduflow.app import App
from oduflow.services import cleanup, templates, templates_ops
from tests.docker.failure_checks import own_errors
from tests.docker.odoo_env import TEAM, call
from tests.fixtures.instance import Instance, make_remote

BRANCH = "template-isofoo"
EDITED = "isofoo"


@pytest.fixture(scope="module")
def env(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Team 1's environment of branch ``template-isofoo``."""
    app = instance.app()
    remote = make_remote(tmp_path_factory.mktemp("isotemplates"), "demo_ok")
    call(app, "create_environment", branch_name=BRANCH, template_name="none",
         repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
    try:
        yield BRANCH
    finally:
        call(app, "delete_environment", branch_name=BRANCH)


def template_dbs(app: App) -> dict[str, str]:
    return {t["name"]: t["status"] for t in templates.list_templates(app, app.config.team(TEAM))}


def oid(app: App, db_name: str) -> int | None:
    """The database's identity (template databases take no connections): None when it is gone."""
    rows = app.db().query("SELECT oid FROM pg_catalog.pg_database WHERE datname = %s", [db_name])
    return int(rows[0][0]) if rows else None


def test_template_x_build_and_the_build_of_x_are_apart(app: App, env: str, base_template: str) -> None:
    team = app.config.team(TEAM)
    shadow = f"{base_template}__build"
    call(app, "save_as_template", branch_name=env, template_name=shadow)
    try:
        shadow_db, base_db = app.names.template_db(TEAM, shadow), app.names.template_db(TEAM, base_template)
        assert shadow_db != app.names.template_build_db(TEAM, base_template)
        saved = oid(app, shadow_db)
        templates.reload_template(app, team, base_template)  # builds base_template aside, swaps it in
        assert template_dbs(app)[shadow] == "ready" and oid(app, shadow_db) == saved
        report = cleanup.cleanup(app, team)["orphans"]["databases"]
        assert shadow_db not in report
        forced = cleanup.cleanup(app, team, force=True)
        assert shadow_db not in forced["orphans"]["databases"]
        assert not own_errors(forced)
        assert template_dbs(app)[shadow] == "ready" and oid(app, shadow_db) == saved
        # and the other way: saving x__build again leaves x's database whole
        reloaded = oid(app, base_db)
        call(app, "save_as_template", branch_name=env, template_name=shadow)
        assert template_dbs(app)[base_template] == "ready" and oid(app, base_db) == reloaded
        assert oid(app, shadow_db) not in (None, saved)  # the shadow template was replaced
    finally:
        templates.delete_template(app, team, shadow)


def test_branch_template_foo_and_the_editor_of_foo_coexist(app: App, instance: Instance, env: str) -> None:
    team = app.config.team(TEAM)
    call(app, "save_as_template", branch_name=env, template_name=EDITED)
    try:
        env_container = call(app, "get_environment_info", branch_name=env)["container"]
        templates_ops.template_up(app, team, EDITED, instance.odoo_image)
        try:
            editor = app.docker().containers.get(app.names.template_container(TEAM, EDITED))
            assert editor.name != env_container and editor.status == "running"
            assert editor.labels["oduflow.role"] == "template-editor"
            assert app.docker().containers.get(env_container).status == "running"
            answer = call(app, "http_request_to_odoo", branch_name=env, path="/web/health")
            assert answer["status"] == 200
        finally:
            templates_ops.template_down(app, team, EDITED)
        assert app.docker().containers.get(env_container).status == "running"
        assert call(app, "list_environments")[0]["status"] == "running"
    finally:
        templates.delete_template(app, team, EDITED)
