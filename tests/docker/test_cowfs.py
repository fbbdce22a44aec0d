"""The managed copy-on-write filesystem (``[storage].cow_image_size_gb``), on the real engine.

``init`` makes the XFS image and mounts it at the data directory, PostgreSQL keeps its data
there (a bind ``Mount``), a reboot (unmounted) is survived by ``init`` or the server's start,
the database container cannot start on the bare mount point, and every failure leaves nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ConflictError, OduflowError, PrerequisiteNotMetError
from oduflow.services import clonestrategy, cowfs, dbserver, env_create, environments, stats, system
from oduflow.services.envmodel import get_env
from oduflow.surfaces import serve
from tests.docker.failure_checks import serves
from tests.docker.odoo_env import TEAM
from tests.fixtures.cow import COW_IMAGE_GB, CowInstance
from tests.fixtures.instance import GitRemote, Instance
from tests.fixtures.xfs import xfs_unavailable

GIB = 2**30
MARKER_DB = "cowtest_marker"


def _losetup(image: Path) -> str:
    return subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True, check=True).stdout


def _data_mount(container: Container) -> dict[str, str]:
    return next(m for m in container.attrs["Mounts"] if m["Destination"] == dbserver.PGDATA_IN_CONTAINER)


def _db_container(app: App) -> Container:
    container = docker_api.get_container(app.docker(), app.names.db_container)
    assert container is not None
    return container


# --- on the cow_instance ------------------------------------------------------------------------
def test_init_made_mounted_and_reported_the_filesystem(cow_instance: CowInstance) -> None:
    fs = cow_instance.fs
    assert fs.image == cow_instance.root / "data.xfs"  # the default: beside data_dir
    assert cowfs.state(fs) == "mounted" and os.path.ismount(cow_instance.data_dir)
    assert _losetup(fs.image) != ""
    result = cow_instance.init_result
    assert any(str(fs.image) in line and "GiB sparse image" in line for line in result["created"])
    info = result["data_filesystem"]
    assert info["managed"] and info["mounted"] and info["reflink"]
    assert info["fstype"] == "xfs" and info["path"] == str(cow_instance.data_dir)
    assert info["image"] == str(fs.image) and info["image_size_bytes"] == COW_IMAGE_GB * GIB
    assert 0 < info["image_allocated_bytes"] < info["image_size_bytes"]  # sparse
    assert 0.9 * COW_IMAGE_GB * GIB < info["size_bytes"] <= COW_IMAGE_GB * GIB
    assert info["free_bytes"] > 0 and info["used_bytes"] + info["free_bytes"] <= info["size_bytes"]


def test_a_second_init_finds_everything_in_place(cow_app: App) -> None:
    result = system.init(cow_app)
    assert result["changed"] is False, result["created"]
    assert any(line.startswith("copy-on-write filesystem") for line in result["existing"])
    assert result["clone_strategy"]["name"] == "reflink"


def test_the_databases_live_on_it_and_clone_by_reflink(cow_instance: CowInstance, cow_app: App) -> None:
    data = dbserver.host_data_dir(cow_app)
    assert data == cow_instance.data_dir / "postgres" / "data"
    assert (data / "PG_VERSION").read_text().strip() == "18"
    assert data.stat().st_uid != 0  # the image's entrypoint gave it to its postgres user
    mount = _data_mount(_db_container(cow_app))
    assert (mount["Type"], mount["Source"]) == ("bind", str(data))
    assert not cow_app.docker().volumes.list(filters={"name": cow_app.names.db_volume})
    strategy = clonestrategy.detect(cow_app, fresh=True)
    assert (strategy.name, strategy.filesystem, strategy.reflink) == ("reflink", "xfs", True)


def test_a_normal_instance_has_no_reflink(app: App) -> None:
    assert clonestrategy.detect(app, fresh=True).name != "reflink"
    info = cowfs.usage(app.config)
    assert (info["managed"], info["mounted"], info["reflink"], info["image"]) == (False, False, False, "")
    assert info["size_bytes"] > 0 and info["fstype"] not in ("", "xfs", "btrfs")
    assert _data_mount(_db_container(app))["Type"] == "volume"


def test_system_stats_show_size_free_space_and_usage(cow_instance: CowInstance, cow_app: App) -> None:
    team = cow_app.config.team("1")
    before = stats.system_stats(cow_app, team)["data_filesystem"]
    blob = cow_instance.data_dir / f"blob-{secrets.token_hex(3)}"
    try:
        with blob.open("wb") as out:
            out.write(os.urandom(64 * 2**20))
            out.flush()
            os.fsync(out.fileno())
        after = stats.system_stats(cow_app, team)["data_filesystem"]
    finally:
        blob.unlink()
    assert after["used_bytes"] - before["used_bytes"] >= 60 * 2**20
    assert before["free_bytes"] - after["free_bytes"] >= 60 * 2**20
    assert after["image_allocated_bytes"] - before["image_allocated_bytes"] >= 60 * 2**20


@pytest.fixture
def marker_db(cow_app: App) -> Iterator[str]:
    cow_app.db().create_empty(MARKER_DB)
    yield MARKER_DB
    cow_app.db().drop(MARKER_DB)


def _assert_bare_mount_point(inst: CowInstance, app: App) -> None:
    """Unmounted: the db container cannot start, and nothing was written onto the mount point."""
    assert cowfs.state(inst.fs) == "unmounted" and _losetup(inst.image) == ""
    container = _db_container(app)
    with pytest.raises(docker.errors.APIError, match="bind source path does not exist"):
        container.start()
    container.reload()
    assert container.status != "running"
    assert os.listdir(inst.data_dir) == []  # Docker created nothing there
    assert cowfs.usage(app.config)["mounted"] is False


def test_after_a_reboot_init_mounts_it_again_with_the_databases(
    cow_instance: CowInstance, cow_app: App, marker_db: str
) -> None:
    cow_instance.simulate_reboot()
    _assert_bare_mount_point(cow_instance, cow_app)
    result = system.init(cow_instance.app())
    assert any(line.startswith("mounted copy-on-write filesystem") for line in result["created"])
    assert f"started container {cow_app.names.db_container}" in result["created"]
    assert marker_db in cow_instance.app().db().list_databases("cowtest")


def test_after_a_reboot_the_server_start_mounts_it_again(
    cow_instance: CowInstance, cow_app: App, marker_db: str
) -> None:
    cow_instance.simulate_reboot()
    _assert_bare_mount_point(cow_instance, cow_app)
    app = cow_instance.app()
    serve.mount_data(app)
    assert cowfs.state(cow_instance.fs) == "mounted"
    assert _db_container(app).status == "running"
    assert marker_db in app.db().list_databases("cowtest")
    serve.mount_data(app)  # mounted already: nothing to do
    assert len(cowfs.loop_devices(cow_instance.image)) == 1


def test_docker_leaves_environments_to_the_server_start(
    cow_instance: CowInstance, git_remote: Callable[..., GitRemote]
) -> None:
    app, team = cow_instance.app(), cow_instance.app().config.team(TEAM)
    env_create.create_environment(
        app, team, "cow-env", "none", git_remote("demo_ok").url, cow_instance.odoo_image
    )
    try:
        name = get_env(app, team, "cow-env").container_name
        policy = app.docker().containers.get(name).attrs["HostConfig"]["RestartPolicy"]
        assert policy["Name"] == "no"  # Docker would start it on the bare mount point at boot
        app.store.close()
        cow_instance.simulate_reboot()
        app = cow_instance.app()
        serve.mount_data(app)
        report = environments.restore_environments(app)
        assert report.started == [f"{TEAM}/cow-env"] and not report.failed
        serves(app, "cow-env")
        app.store.close()
    finally:
        cleanup = cow_instance.app()
        environments.delete_environment(cleanup, team, "cow-env")
        cleanup.store.close()


def test_switching_a_server_off_the_host_directory_is_refused(cow_instance: CowInstance) -> None:
    path = cow_instance.root / "cow-off.toml"
    path.write_text(Instance.toml(cow_instance))  # the same instance, cow_image_size_gb left out
    app = App(load(path))
    before = _db_container(app).id
    with pytest.raises(PrerequisiteNotMetError, match="holds this server's databases"):
        dbserver.ensure_server(app, system.Report(), lambda _m: None)
    assert _db_container(app).id == before and _db_container(app).status == "running"
    assert not app.docker().volumes.list(filters={"name": app.names.db_volume})


def test_switching_a_volume_server_to_the_host_directory_is_refused(instance: Instance, app: App) -> None:
    path = instance.root / f"host-data-{secrets.token_hex(2)}.toml"
    path.write_text(instance.toml().replace("[database]\n", "[database]\ndata_in_data_dir = true\n", 1))
    switched = App(load(path))
    before = _db_container(app).id
    with pytest.raises(PrerequisiteNotMetError, match=f"the data volume {app.names.db_volume} holds"):
        system.init(switched)
    assert _db_container(app).id == before and _db_container(app).status == "running"
    assert not dbserver.host_data_path(app).exists()


# --- data_in_data_dir on a filesystem the operator made -------------------------------------------
def test_data_in_data_dir_on_an_operator_xfs(instance: Instance, xfs_dir: Path, pg18_image: str) -> None:
    prefix = f"{instance.prefix}-own"
    text = (
        instance.other_instance_toml("own", xfs_dir / "data")
        .replace(instance.pg_image, pg18_image)
        .replace("[database]\n", "[database]\ndata_in_data_dir = true\n", 1)
    )
    path = instance.root / "own-xfs.toml"
    path.write_text(text)
    app = App(load(path))
    assert app.names.prefix == prefix and cowfs.managed(app.config) is None
    try:
        result = system.init(app)
        assert result["clone_strategy"]["name"] == "reflink"
        assert result["data_filesystem"]["fstype"] == "xfs" and not result["data_filesystem"]["managed"]
        assert dbserver.host_data_dir(app) == xfs_dir / "data" / "postgres" / "data"
        assert _data_mount(_db_container(app))["Type"] == "bind"
    finally:
        removed = system.destroy(app)["removed"]
        app.store.close()  # state.db is on xfs_dir, which its fixture unmounts
    assert any("(the server's databases)" in line for line in removed)
    assert not (xfs_dir / "data" / "postgres").exists()


# --- the command line ------------------------------------------------------------------------------
def _oduflow(config: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("oduflow")), *args],
        env={**os.environ, "ODUFLOW_TOML": str(config)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_oduflow_init_and_destroy_on_the_command_line(tmp_path: Path, instance: Instance) -> None:
    if xfs_unavailable():
        pytest.skip(xfs_unavailable() or "")
    config = tmp_path / "oduflow.toml"
    config.write_text(
        instance.other_instance_toml("cli", tmp_path / "data").replace(
            "[storage]\n", "[storage]\ncow_image_size_gb = 1\n", 1
        )
    )
    fs = cowfs.managed(load(config))
    assert fs is not None
    try:
        created = _oduflow(config, "init")  # the lock of the command is taken in data_dir/locks first
        assert created["data_filesystem"]["mounted"] and created["data_filesystem"]["reflink"]
        assert cowfs.state(fs) == "mounted"
        removed = _oduflow(config, "destroy")["removed"]  # unmounts while holding that lock
        assert any(line.startswith(f"mount of {fs.image}") for line in removed)
        assert cowfs.state(fs) == "unmounted"
        cowfs.wait_detached(fs.image)  # the command's exit closed that lock: the kernel detaches the loop
        assert cowfs.loop_devices(fs.image) == []
        assert cowfs.stray_entries(fs.mount_point) == []  # the bare mount point: lock files at most
        again = _oduflow(config, "init")
        assert any(line.startswith("mounted copy-on-write filesystem") for line in again["created"])
        _oduflow(config, "destroy")
    finally:
        cowfs.unmount(fs)
        fs.image.unlink(missing_ok=True)
    assert _losetup(fs.image) == ""


# --- failures leave nothing behind ---------------------------------------------------------------
@pytest.fixture
def cow_root(tmp_path: Path) -> Path:
    reason = xfs_unavailable()
    if reason:
        pytest.skip(reason)
    return tmp_path


def _cow_app(root: Path, data_dir: Path, image: Path | None = None) -> App:
    path = root / "oduflow.toml"
    image_line = f'cow_image = "{image}"\n' if image else ""
    path.write_text(
        f'[server]\nname_prefix = "oduflowtest-{secrets.token_hex(3)}"\n'
        f'[storage]\ndata_dir = "{data_dir}"\ncow_image_size_gb = 1\n{image_line}[team.1]\n'
    )
    return App(load(path))


def _assert_nothing(app: App, image: Path, data_dir: Path) -> None:
    assert not image.exists() and not data_dir.exists()
    assert _losetup(image) == "" and cowfs.loop_devices(image) == []
    assert not app.docker().networks.list(names=[app.names.network])


def test_a_format_that_fails_leaves_nothing(cow_root: Path) -> None:
    fs = cowfs.ManagedFs(cow_root / "nested" / "small.xfs", cow_root / "data", 200 * 2**20)
    with pytest.raises(OduflowError, match="larger than 300MB"):
        cowfs.create(fs)
    assert not (cow_root / "nested").exists() and not fs.mount_point.exists()
    assert cowfs.loop_devices(fs.image) == []


def test_an_init_that_fails_leaves_nothing(cow_root: Path) -> None:
    tiny = cow_root / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(tiny)], check=True)
    try:
        image, data_dir = tiny / "images" / "cow.xfs", cow_root / "srv" / "data"
        app = _cow_app(cow_root, data_dir, image)
        with pytest.raises(OduflowError, match="No space left on device"):
            system.init(app)  # mkfs.xfs cannot write its 1 GiB filesystem's metadata into 4 MB
        _assert_nothing(app, image, data_dir)
        assert os.listdir(tiny) == [] and not (cow_root / "srv").exists()
    finally:
        subprocess.run(["umount", str(tiny)], check=True)


def test_a_data_dir_with_content_is_refused(cow_root: Path) -> None:
    data_dir = cow_root / "data"
    (data_dir / "team_1").mkdir(parents=True)
    app = _cow_app(cow_root, data_dir)
    with pytest.raises(ConflictError, match="is not empty \\(team_1\\)"):
        system.init(app)
    fs = cowfs.managed(app.config)
    assert fs is not None and not fs.image.exists() and cowfs.state(fs) == "unmounted"
    assert os.listdir(data_dir) == ["team_1"]


def test_an_image_that_is_no_xfs_is_not_mounted_and_kept(cow_root: Path) -> None:
    image = cow_root / "garbage.xfs"
    image.write_bytes(b"not a filesystem" * 65536)
    app = _cow_app(cow_root, cow_root / "data", image)
    with pytest.raises(OduflowError, match="mount failed"):
        system.init(app)
    assert image.read_bytes().startswith(b"not a filesystem")  # the operator's file: kept
    assert not (cow_root / "data").exists() and cowfs.loop_devices(image) == []


def test_another_filesystem_at_data_dir_is_refused(cow_root: Path) -> None:
    data_dir = cow_root / "data"
    data_dir.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(data_dir)], check=True)
    try:
        app = _cow_app(cow_root, data_dir)
        with pytest.raises(ConflictError, match="mount point of another filesystem"):
            system.init(app)
        fs = cowfs.managed(app.config)
        assert fs is not None and not fs.image.exists()
    finally:
        subprocess.run(["umount", str(data_dir)], check=True)


def test_the_server_does_not_start_without_its_image(cow_root: Path) -> None:
    data_dir = cow_root / "data"
    app = _cow_app(cow_root, data_dir)
    with pytest.raises(PrerequisiteNotMetError, match="does not exist: run 'oduflow init'"):
        serve.mount_data(app)
    assert not data_dir.exists()
