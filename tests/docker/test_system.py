"""`oduflow init` / `destroy` on the real engine, and prerequisites reported without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ConflictError, PrerequisiteNotMetError
from oduflow.services import system
from oduflow.state import EnvRecord
from oduflow.surfaces.cli import cli
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import Instance

runner = CliRunner()


def test_second_init_changes_nothing(instance: Instance) -> None:
    result = runner.invoke(cli, ["init"], env={"ODUFLOW_TOML": str(instance.config_path)})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["changed"] is False and report["created"] == []
    team_dir = instance.root / "data" / "team_1"
    for sub in ("workspaces", "templates", "shared_repos", "agent_guides", "odoo_sanitize"):
        assert (team_dir / sub).is_dir()
    assert (team_dir / "odoo_sanitize" / "01_disable_mail.sql").is_file()
    assert (team_dir / "agent_guides" / "agent_guide.md").is_file()


def test_postgres_uses_bundled_conf_and_accepts_connections(app: App) -> None:
    db = app.db()
    assert db.query("SHOW shared_buffers")[0][0] == "1GB"
    assert db.query("SHOW max_connections")[0][0] == "200"


def test_destroy_refuses_while_environments_exist(app: App) -> None:
    app.store.add_env(EnvRecord(team="1", branch="keep-me", slug="keep-me", status="ready"))
    try:
        with pytest.raises(ConflictError, match="keep-me"):
            system.destroy(app)
    finally:
        app.store.remove_env("1", "keep-me")
    assert app.docker().containers.get(app.names.db_container).status == "running"


def test_full_cycle_with_own_prefix_leaves_nothing(
    instance: Instance, tmp_path: Path, docker_client: docker.DockerClient, engine_watch: EngineWatch
) -> None:
    cfg = tmp_path / "oduflow.toml"
    cfg.write_text(instance.other_instance_toml("cycle", tmp_path / "data"))
    env = {"ODUFLOW_TOML": str(cfg)}
    first = runner.invoke(cli, ["init"], env=env)
    assert first.exit_code == 0, first.output
    app = App(load(cfg))
    label = f"oduflow.instance={app.names.prefix}"
    assert docker_client.networks.list(names=[app.names.network])
    assert docker_client.containers.get(app.names.db_container).status == "running"
    assert docker_client.volumes.list(filters={"label": label})
    second = runner.invoke(cli, ["init"], env=env)
    assert json.loads(second.stdout)["changed"] is False
    gone = runner.invoke(cli, ["destroy"], env=env)
    assert gone.exit_code == 0, gone.output
    assert not docker_client.containers.list(all=True, filters={"label": label})
    assert not docker_client.volumes.list(filters={"label": label})
    assert not docker_client.networks.list(names=[app.names.network])
    engine_watch.assert_clean()  # the watch covers "<prefix>-cycle": no anonymous volume left
    assert engine_watch.containers  # the database container was seen


def test_missing_image_is_a_prerequisite_error_and_creates_nothing(
    instance: Instance, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    cfg = tmp_path / "oduflow.toml"
    cfg.write_text(
        instance.toml()
        .replace(instance.prefix, instance.prefix + "-noimg")
        .replace(instance.pg_image, "oduflowtest-no-such-image:15")
    )
    result = runner.invoke(cli, ["init"], env={"ODUFLOW_TOML": str(cfg)})
    assert result.exit_code == 1
    assert "PrerequisiteNotMetError" in result.output and "oduflowtest-no-such-image:15" in result.output
    assert "Traceback" not in result.output
    assert not docker_client.networks.list(names=[f"{instance.prefix}-noimg-net"])


def test_docker_unreachable_says_what_to_do(instance: Instance) -> None:
    env = {"ODUFLOW_TOML": str(instance.config_path), "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = runner.invoke(cli, ["init"], env=env)
    assert result.exit_code == 1
    assert "Docker is not reachable" in result.output and "Start the Docker engine" in result.output
    assert "Traceback" not in result.output


def test_missing_fuse_overlayfs_is_a_prerequisite_error(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteNotMetError, match="fuse-overlayfs is not installed"):
        app.hooks.storage("overlay")
