"""Nothing leaked on the engine: anonymous volumes and untagged images, which carry no label.

The images declare ``VOLUME``s (as the official ``odoo`` and ``postgres`` ones do), so every
container that is removed without its volumes leaves some behind; a dependency build that fails
after a first step leaves the committed image. :class:`~tests.fixtures.engine.EngineWatch` follows
this instance's containers through the engine's events, so that other sessions on the same engine
do not disturb the checks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from oduflow import catalog, docker_api
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import StepError
from oduflow.services import cleanup, pgjobs, system, templates, templates_ops
from oduflow.surfaces.cli import cli
from tests.docker.odoo_env import TEAM, bare_job, call, delete_if_present
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance

runner = CliRunner()


def image_volumes(client: docker.DockerClient, image: str) -> set[str]:
    """The mount points ``image`` declares as ``VOLUME``s."""
    return set((client.images.get(image).attrs["Config"].get("Volumes") or {}).keys())


def leave_anonymous_volumes(client: docker.DockerClient, image: str, prefix: str) -> set[str]:
    """What an older Oduflow did: run a job and remove its container without the volumes."""
    container = client.containers.create(
        image,
        name=f"{prefix}-old-job-{secrets.token_hex(3)}",
        entrypoint=["sh", "-c", "mkdir -p /var/lib/odoo/sessions /var/lib/postgresql/data/x"],
        labels={"oduflow.instance": prefix, "oduflow.role": "job"},
    )
    container.start()
    container.wait(timeout=60)
    container.reload()
    names = {m["Name"] for m in container.attrs["Mounts"] if m.get("Type") == "volume"}
    container.remove()  # no v=True: the anonymous volumes stay
    return names


def leave_untagged_image(client: docker.DockerClient, app: App, image: str) -> str:
    """What a failed dependency build of an older Oduflow left: a committed, untagged image."""
    container = client.containers.create(image, entrypoint=["true"], labels=app.names.labels("deps-build"))
    try:
        committed = container.commit(conf={"Labels": app.names.labels("deps-image")})
    finally:
        container.remove(v=True)
    return str(committed.id)


@pytest.fixture
def data_volumes(docker_client: docker.DockerClient, instance: Instance) -> Iterator[dict[str, str]]:
    """Volumes cleanup must never touch: one named like an anonymous one but holding a file, and
    an empty named one without labels. Removed at teardown."""
    holding = secrets.token_hex(32)
    named = f"{instance.prefix}-user-volume"
    docker_client.volumes.create(holding)
    docker_client.volumes.create(named)
    writer = docker_client.containers.create(
        instance.pg_image,
        entrypoint=["sh", "-c", "echo data > /v/file"],
        user="root",
        volumes={holding: {"bind": "/v", "mode": "rw"}},
        labels={"oduflow.test": "true"},
    )
    try:
        writer.start()
        assert writer.wait(timeout=60)["StatusCode"] == 0
    finally:
        writer.remove(v=True)
    yield {"holding": holding, "named": named}
    for name in (holding, named):
        docker_api.remove_volume(docker_client, name)


# --- every container goes with its volumes ---------------------------------------------------
def test_probes_and_jobs_go_with_their_volumes(
    app: App, instance: Instance, engine_watch: EngineWatch, tmp_path: Path
) -> None:
    client = app.docker()
    assert image_volumes(client, instance.odoo_image) and image_volumes(client, instance.pg_image)
    uid, _gid = docker_api.image_user(
        client, instance.odoo_image, app.names.job_container("sys", "id"), app.names.labels("job")
    )
    assert uid != 0
    assert templates_ops.odoo_version(app, instance.odoo_image).startswith("18.0")
    pgjobs.dump(app, "postgres", tmp_path / "postgres.pgdump")
    assert (tmp_path / "postgres.pgdump").stat().st_size > 0
    code, logs = bare_job(
        app, instance.odoo_image, tmp_path, "leak-check", ["sh", "-c", "echo job-ran; exit 3"]
    )
    assert (code, logs.strip()) == (3, "job-ran")
    engine_watch.assert_clean()
    # not vacuous: the containers did mount anonymous volumes (4 of them, at least)
    assert len(engine_watch.volumes_of_containers()) >= 4, engine_watch.volumes_of_containers()


def test_run_job_logs_are_bounded_and_timeout_kills(app: App, instance: Instance, tmp_path: Path) -> None:
    client = app.docker()
    res = docker_api.run_to_completion(
        client,
        instance.odoo_image,
        name=app.names.job_container("sys", "bounded"),
        labels=app.names.labels("job"),
        timeout=60,
        max_output=1000,
        entrypoint=["sh", "-c", "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done"],
    )
    assert res.exit_code == 0 and res.truncated and len(res.logs.encode()) <= 1000
    assert res.logs.endswith("line-499\n")
    slow = docker_api.run_to_completion(
        client,
        instance.odoo_image,
        name=app.names.job_container("sys", "slow"),
        labels=app.names.labels("job"),
        timeout=2,
        entrypoint=["sleep", "60"],
    )
    assert slow.timed_out and slow.exit_code == 124
    assert not docker_api.list_containers(client, {"name": f"{app.names.prefix}_sys_job.slow"})


def test_failed_dependency_build_leaves_no_image(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], engine_watch: EngineWatch
) -> None:
    # the first step (apt) succeeds and is committed, the second (pip) fails
    remote = git_remote(
        "demo_ok",
        files={"apt_packages.txt": "python3\n", "requirements.txt": "/mnt/repo/no-such-wheel.whl\n"},
    )
    messages: list[str] = []
    try:
        with pytest.raises(StepError) as err:
            catalog.invoke(
                app,
                app.config.team(TEAM),
                "create_environment",
                {
                    "branch_name": "deps-fail",
                    "template_name": "none",
                    "repo_url": remote.url,
                    "odoo_image": instance.odoo_image,
                },
                messages.append,
            )
    finally:
        delete_if_present(app, "deps-fail")
    assert err.value.step.startswith("prepare image") and "python requirements" in str(err.value)
    assert messages.index("dependencies: apt packages") < messages.index("dependencies: python requirements")
    engine_watch.assert_clean()
    assert engine_watch.commits, "the apt step should have been committed before pip failed"
    assert not docker_api.untagged_images(app.docker(), app.names.labels("deps-image"))


# --- cleanup and destroy find what older versions left -----------------------------------------
def test_cleanup_reports_then_removes_what_older_versions_left(
    app: App, instance: Instance, data_volumes: dict[str, str]
) -> None:
    client = app.docker()
    team = app.config.team(TEAM)
    volumes = leave_anonymous_volumes(client, instance.odoo_image, app.names.prefix)
    assert len(volumes) == len(image_volumes(client, instance.odoo_image))
    image = leave_untagged_image(client, app, instance.odoo_image)
    try:
        found = cleanup.cleanup(app, team)["orphans"]
        assert volumes <= set(found["volumes"])
        assert data_volumes["holding"] not in found["volumes"]
        assert data_volumes["named"] not in found["volumes"]
        assert found["untagged_images"] == [image]
        assert client.images.get(image)  # a dry run removes nothing
        assert all(client.volumes.get(v) for v in volumes)
        removed = cleanup.cleanup(app, team, force=True)
        assert "errors" not in removed, removed
        left = {v.name for v in client.volumes.list()}
        assert not volumes & left
        assert {data_volumes["holding"], data_volumes["named"]} <= left
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get(image)
        assert not cleanup.leftover_images(app)
    finally:
        docker_api.remove_image(client, image)
        for name in volumes:
            docker_api.remove_volume(client, name)


def test_cleanup_keeps_images_of_stopped_containers(app: App, instance: Instance) -> None:
    client = app.docker()
    image = leave_untagged_image(client, app, instance.odoo_image)
    user = client.containers.create(image, entrypoint=["true"], labels={"oduflow.test": "true"})
    try:
        assert image not in cleanup.leftover_images(app)
    finally:
        user.remove(v=True)
        docker_api.remove_image(client, image)


def test_destroy_removes_what_older_versions_left(
    instance: Instance, tmp_path: Path, docker_client: docker.DockerClient, data_volumes: dict[str, str]
) -> None:
    cfg = tmp_path / "oduflow.toml"
    cfg.write_text(instance.other_instance_toml("old", tmp_path / "data"))
    env = {"ODUFLOW_TOML": str(cfg)}
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    app = App(load(cfg))
    volumes = leave_anonymous_volumes(docker_client, instance.pg_image, app.names.prefix)
    assert volumes
    image = leave_untagged_image(docker_client, app, instance.odoo_image)
    try:
        report = system.destroy(app)
        assert {f"anonymous volume {v}" for v in volumes} <= set(report["removed"])
        assert any(image.split(":")[1][:10] in item for item in report["removed"]), report["removed"]
        left = {v.name for v in docker_client.volumes.list()}
        assert not volumes & left
        assert {data_volumes["holding"], data_volumes["named"]} <= left
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(image)
    finally:
        docker_api.remove_image(docker_client, image)
        for name in volumes:
            docker_api.remove_volume(docker_client, name)
        for c in docker_api.list_containers(docker_client, app.names.instance_filter()):
            c.remove(force=True, v=True)
        system.destroy(app)


# --- the Done-when line ---------------------------------------------------------------------------
def labelled(client: docker.DockerClient, prefix: str) -> tuple[set[str], set[str]]:
    """Volumes and images labelled for the instance ``prefix``."""
    label = {"label": f"oduflow.instance={prefix}"}
    return {v.name for v in client.volumes.list(filters=label)}, {
        i.id for i in client.images.list(filters=label)
    }


def test_cycle_reload_and_test_run_leave_the_engine_unchanged(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], engine_watch: EngineWatch
) -> None:
    client = app.docker()
    team = app.config.team(TEAM)
    before = labelled(client, app.names.prefix)
    remote = git_remote("demo_ok")
    templates_ops.init_template(app, team, instance.odoo_image, "leakcheck", "base")
    try:
        templates.reload_template(app, team, "leakcheck")
        call(
            app,
            "create_environment",
            branch_name="leak-cycle",
            template_name="leakcheck",
            repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )
        try:
            result = call(app, "run_odoo_tests", branch_name="leak-cycle", modules="demo_ok")
            assert result["passed"] >= 1 and result["failed"] == 0, result["summary"]
        finally:
            call(app, "delete_environment", branch_name="leak-cycle")
    finally:
        templates.delete_template(app, team, "leakcheck")
    engine_watch.assert_clean()
    assert labelled(client, app.names.prefix) == before
    # the cycle ran job, probe and environment containers, all with anonymous volumes
    assert len(engine_watch.containers) >= 4 and engine_watch.volumes_of_containers()
