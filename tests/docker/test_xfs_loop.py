"""The XFS loop filesystems of tests/fixtures/xfs.py: reflink works there, and nothing is left behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from oduflow.reflink import filesystem_type, supports_reflink
from tests import conftest as guard
from tests.fixtures import xfs


def _loop_devices_of(image: Path) -> str:
    return subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True, check=True).stdout


def _assert_gone(mountpoint: Path) -> None:
    image = xfs.image_path(mountpoint)
    assert not os.path.ismount(mountpoint)
    assert not image.exists()
    assert _loop_devices_of(image) == ""
    assert f"loop mount {mountpoint}" not in guard.take_snapshot().mounts  # type: ignore[operator]


def test_xfs_dir_clones_extents_and_tmp_path_does_not(xfs_dir: Path, tmp_path: Path) -> None:
    assert filesystem_type(xfs_dir) == "xfs"
    assert supports_reflink(xfs_dir) is True
    assert filesystem_type(tmp_path) not in ("xfs", "btrfs")
    assert supports_reflink(tmp_path) is False
    assert not xfs.image_path(xfs_dir).is_relative_to(xfs_dir)  # the image is beside the mount point


def test_session_dir_is_reflink_capable(xfs_dir_session: Path) -> None:
    assert supports_reflink(xfs_dir_session) is True


def test_everything_is_undone_on_exit_and_the_guard_sees_the_mount(tmp_path: Path) -> None:
    if xfs.xfs_unavailable():
        pytest.skip(xfs.xfs_unavailable() or "")
    mountpoint = tmp_path / "fs"
    with xfs.xfs_loop(mountpoint, size_mb=320) as path:
        assert path == mountpoint and os.path.ismount(path)
        assert xfs.image_path(mountpoint).is_file()
        assert _loop_devices_of(xfs.image_path(mountpoint)) != ""
        assert f"loop mount {mountpoint}" in guard.take_snapshot().mounts  # type: ignore[operator]
        (path / "data").write_bytes(b"x" * 4096)
    _assert_gone(mountpoint)
    assert not mountpoint.exists()  # it did not exist before: removed too


def test_a_busy_filesystem_is_unmounted_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if xfs.xfs_unavailable():
        pytest.skip(xfs.xfs_unavailable() or "")
    monkeypatch.setattr(xfs, "UNMOUNT_TRIES", 2)
    monkeypatch.setattr(xfs, "UNMOUNT_PAUSE_S", 0.05)
    mountpoint = tmp_path / "busy"
    mountpoint.mkdir()
    with xfs.xfs_loop(mountpoint, size_mb=320) as path:
        held = open(path / "held", "w")  # noqa: SIM115 - held open across the unmount on purpose
    try:
        assert not os.path.ismount(mountpoint)
        assert mountpoint.is_dir()  # it existed before: kept
        assert not xfs.image_path(mountpoint).exists()
    finally:
        held.close()


def test_a_failed_mount_undoes_the_loop_device_and_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if xfs.xfs_unavailable():
        pytest.skip(xfs.xfs_unavailable() or "")
    real_run = xfs._run

    def failing_mount(*cmd: str) -> str:
        if cmd[0] == "mount":
            raise RuntimeError("mount refused (test)")
        return real_run(*cmd)

    monkeypatch.setattr(xfs, "_run", failing_mount)
    mountpoint = tmp_path / "never"
    with pytest.raises(RuntimeError, match="mount refused"), xfs.xfs_loop(mountpoint, size_mb=320):
        pytest.fail("must not be reached")
    _assert_gone(mountpoint)
    assert not mountpoint.exists()


def test_mkfs_failure_leaves_nothing(tmp_path: Path) -> None:
    if xfs.xfs_unavailable():
        pytest.skip(xfs.xfs_unavailable() or "")
    mountpoint = tmp_path / "tiny"
    with pytest.raises(RuntimeError, match=r"mkfs\.xfs"), xfs.xfs_loop(mountpoint, size_mb=8):  # too small
        pytest.fail("must not be reached")
    _assert_gone(mountpoint)
