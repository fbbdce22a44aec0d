"""The ``reflink`` filestore backend on a real XFS (reflink=1) loop filesystem: it passes the
storage contract suite, its copies share the template's extents, it refuses a template on
another filesystem, and new templates get it where the data directory can clone."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pluggy
import pytest

from oduflow import diskusage
from oduflow.contracts import FilestoreSpec, StorageBackend
from oduflow.errors import PrerequisiteNotMetError
from oduflow.plugins import Hooks
from oduflow.reflink import supports_reflink
from oduflow.testing import StorageBackendContract, bound_config
from oduflow_plugins import storage_reflink
from oduflow_plugins.storage_reflink import ReflinkStorage, can_reflink_at
from tests.fixtures.xfs import xfs_loop, xfs_unavailable

MB = 2**20


class TestReflinkStorage(StorageBackendContract):
    @pytest.fixture
    def tmp_path(self, xfs_dir_session: Path) -> Iterator[Path]:  # the suite's files go on XFS
        path = Path(tempfile.mkdtemp(prefix="reflink-contract-", dir=xfs_dir_session))
        yield path
        shutil.rmtree(path)

    @pytest.fixture
    def backend(self, oduflow_hooks: Hooks, register_plugin: Callable[..., object]) -> StorageBackend:
        register_plugin(storage_reflink)
        return oduflow_hooks.storage("reflink")


def _free_bytes(path: Path) -> int:
    os.sync()
    st = os.statvfs(path)
    return st.f_bfree * st.f_frsize


def _template(root: Path, files: int, size: int) -> Path:
    """A filestore of ``files`` files of ``size`` random bytes, written back to the disk."""
    for i in range(files):
        (root / f"{i % 16:02x}").mkdir(parents=True, exist_ok=True)
        (root / f"{i % 16:02x}" / f"file{i}").write_bytes(os.urandom(size))
    os.sync()
    return root


def _spec(workspace: Path, lower: Path | None) -> FilestoreSpec:
    workspace.mkdir()
    return FilestoreSpec(workspace=workspace, lower=lower, uid=os.getuid(), gid=os.getgid())


def test_a_50_mb_copy_shares_every_extent_and_costs_only_metadata(xfs_dir: Path) -> None:
    lower = _template(xfs_dir / "template", 50, MB)
    spec = _spec(xfs_dir / "ws", lower)
    free = _free_bytes(xfs_dir)
    ReflinkStorage().provision(spec)
    used = free - _free_bytes(xfs_dir)
    copied = diskusage.usage([spec.merged])
    assert copied.files == 50 and copied.logical_bytes == 50 * MB
    assert copied.shared_bytes == copied.allocated_bytes >= 50 * MB  # every data block is the template's
    assert used < 2 * MB, f"{used} bytes of the filesystem used by a 50 MB reflink copy"
    (spec.merged / "00" / "file0").write_bytes(b"changed")  # written: no longer shared
    assert diskusage.usage([spec.merged / "00" / "file0"]).shared_bytes == 0
    assert diskusage.usage([lower / "00" / "file0"]).logical_bytes == MB


def test_snapshots_are_reflink_copies_too(xfs_dir: Path) -> None:
    spec = _spec(xfs_dir / "ws", _template(xfs_dir / "template", 4, MB))
    backend = ReflinkStorage()
    backend.provision(spec)
    backend.snapshot(spec, xfs_dir / "snapshot")
    snap = diskusage.usage([xfs_dir / "snapshot"])
    assert snap.logical_bytes == 4 * MB and snap.shared_bytes == snap.allocated_bytes


def test_a_template_on_another_filesystem_is_refused_and_nothing_is_left(
    xfs_dir: Path, tmp_path: Path
) -> None:
    lower = _template(tmp_path / "template", 2, 4096)  # ext4: cannot be cloned onto the XFS
    spec = _spec(xfs_dir / "ws", lower)
    with pytest.raises(PrerequisiteNotMetError, match="is on another filesystem"):
        ReflinkStorage().provision(spec)
    assert list(spec.workspace.iterdir()) == []


def test_new_templates_get_reflink_where_the_data_directory_clones(
    xfs_dir: Path, builtin_plugins: pluggy.PluginManager
) -> None:
    config = bound_config(builtin_plugins, {"storage": {"data_dir": str(xfs_dir)}})
    limit = config.plugin_settings("storage_reflink")["max_mb"]
    backend, hooks = ReflinkStorage(), Hooks(builtin_plugins)
    assert backend.preference(0.0, config) == backend.preference(limit, config) == 3
    assert hooks.preferred_storage(0.0, config) == hooks.preferred_storage(limit, config) == "reflink"
    overlay_usable = hooks.storage_backends()["overlay"].available() is None
    above = "overlay" if overlay_usable else "reflink"  # never a byte copy where reflink works
    assert hooks.preferred_storage(limit + 1, config) == above


def test_a_filesystem_mounted_on_the_data_directory_later_is_probed_again(tmp_path: Path) -> None:
    if xfs_unavailable() or supports_reflink(tmp_path):
        pytest.skip(xfs_unavailable() or "tmp_path clones already")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert can_reflink_at(data_dir) is False  # the bare mount point, on ext4
    with xfs_loop(data_dir, 320):
        assert can_reflink_at(data_dir) is True  # as after the managed image is mounted again
    assert can_reflink_at(data_dir) is False
