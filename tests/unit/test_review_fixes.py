"""Guards found in review: lock per branch slug, stale records, reserved ids, links out of a checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import ConfigError, ConflictError, ValidationError
from oduflow.services import envmodel, runtime
from oduflow.state import EnvRecord


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(parse({"storage": {"data_dir": str(tmp_path / "data")}}))


def test_spellings_of_one_branch_share_one_lock(app: App) -> None:
    spec = catalog.get_tool("delete_environment")
    team = app.config.team("1")
    scopes = {catalog.lock_scope(spec, team, {"branch_name": b}) for b in ("feature/login", "Feature_Login")}
    assert len(scopes) == 1


@pytest.mark.parametrize("team_id", ["template", "pool", "u", "t"])
def test_team_ids_that_collide_with_database_names_are_refused(team_id: str) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        parse({"team": {team_id: {}}})


def test_an_environment_being_created_answers_conflict(app: App) -> None:
    app.store.add_env(EnvRecord(team="1", branch="wip", slug="wip", status="creating", params={}))
    with pytest.raises(ConflictError, match="still being created"):
        envmodel.get_env(app, app.config.team("1"), "wip")


def test_repository_odoo_conf_linking_out_of_the_checkout_is_refused(app: App, tmp_path: Path) -> None:
    secret = tmp_path / "oduflow.toml"
    secret.write_text("[team.1]\nauth_token = 'secret'\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "odoo.conf").symlink_to(secret)
    with pytest.raises(ValidationError, match=r"refused: odoo\.conf is a symlink"):
        runtime.conf_template(app, repo)
    (repo / "odoo.conf").unlink()
    (repo / "odoo.conf").write_text("[options]\nworkers = 2\n")
    assert runtime.conf_template(app, repo) == ("[options]\nworkers = 2\n", "repository")


def test_cleanup_leaves_running_jobs_of_live_operations_alone() -> None:
    import time
    from types import SimpleNamespace

    from oduflow.services.cleanup import _job_in_flight

    def job(status: str, started: float) -> Any:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.123456789Z", time.gmtime(started))
        if status == "created":  # docker create done, start not yet: only Created is set
            return SimpleNamespace(status=status, attrs={"Created": stamp, "State": {"StartedAt": "0001"}})
        return SimpleNamespace(status=status, attrs={"State": {"StartedAt": stamp}})

    now = time.time()
    assert _job_in_flight(job("running", now - 30), timeout=600) is True
    assert _job_in_flight(job("running", now - 3600), timeout=600) is False  # outlived any operation
    assert _job_in_flight(job("exited", now - 30), timeout=600) is False
    assert _job_in_flight(job("created", now - 2), timeout=600) is True  # about to start
    assert _job_in_flight(job("created", now - 3600), timeout=600) is False
