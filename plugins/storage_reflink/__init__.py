"""Filestore backend ``reflink``: each environment gets a reflink copy of the template filestore.

On a filesystem that can clone files (XFS made with ``reflink=1``, btrfs), every file of the
copy shares the template's extents until it is written: no data is copied and the environment
costs only its inodes. The copy is a plain directory (no mount, no daemon, nothing to remount
after a reboot, reads without a FUSE hop) and does not depend on the template afterwards.

It never falls back to a byte copy: where the workspace cannot clone from the template,
:meth:`ReflinkStorage.provision` refuses and leaves nothing behind. New templates get it when
the data directory can clone (probed once per path and process) and their filestore is at most
``max_mb`` (``[plugins.storage_reflink]``); above that it ties with ``overlay`` (2), which
wins the tie by name where fuse-overlayfs is usable, and it still beats ``copy``
(``benchmarks/bench_filestore.py`` measured where each one wins; docs/storage.md).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from oduflow import hookimpl
from oduflow.config import Config
from oduflow.contracts import FilestoreSpec, StorageBackend
from oduflow.errors import PrerequisiteNotMetError
from oduflow.fsutil import chown_tree, copy_filestore, copy_tree, rmtree
from oduflow.reflink import clone_fd, filesystem_type, supports_reflink
from oduflow.settings import PluginSettings, Setting

PLUGIN = "storage_reflink"
"""The entry-point name: the name of the settings table."""
SETTINGS = PluginSettings(
    PLUGIN,
    (
        Setting(
            "max_mb",
            256,
            help="template filestores up to this size (MB) are reflink copies where the data directory "
            "can clone; larger ones go to overlay when it is usable; 0: no limit",
            minimum=0,
        ),
    ),
)
PREFERRED = 3
"""Before ``overlay`` (2) and ``copy`` (1)."""
ABOVE_LIMIT = 2
"""The same as ``overlay``: the tie goes to ``overlay`` by name where it takes the filestore,
else ``reflink`` still wins over ``copy``."""

_probed: dict[tuple[str, int], bool] = {}
_probe_lock = threading.Lock()


def can_reflink_at(directory: Path) -> bool:
    """Whether files in ``directory`` can be reflink copies; probed once per path, filesystem
    (a filesystem mounted there later is probed again) and process.

    A directory that does not exist (yet) is not probed and not remembered: False.
    """
    path = os.path.realpath(directory)
    try:
        key = (path, os.stat(path).st_dev)
    except OSError:
        return False
    with _probe_lock:
        if key not in _probed:
            _probed[key] = os.path.isdir(path) and supports_reflink(Path(path))
        return _probed[key]


def _first_file(root: Path) -> Path | None:
    """A regular file below ``root`` (not following links), or ``None``."""
    for current, _dirs, files in os.walk(root):
        for name in files:
            path = Path(current, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                return path
    return None


def _clones_into(src: Path, directory: Path) -> bool:
    """Whether ``src`` can be cloned into a new file in ``directory`` (same filesystem, reflink)."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        out, name = tempfile.mkstemp(prefix=".reflink-probe-", dir=directory)
        try:
            return clone_fd(fd, out)
        finally:
            os.close(out)
            os.unlink(name)
    finally:
        os.close(fd)


def _refusal(where: Path, why: str) -> PrerequisiteNotMetError:
    fstype = filesystem_type(where) or "unknown"
    return PrerequisiteNotMetError(
        f"storage backend 'reflink' cannot clone into {where} ({fstype}): {why}; keep the data "
        "directory on XFS (reflink=1) or btrfs, or give the template another backend "
        '("storage": "copy" in its metadata.json)'
    )


class ReflinkStorage:
    """A directory per environment whose files are reflink copies of the template's."""

    name = "reflink"
    capabilities: frozenset[str] = frozenset()
    """A plain directory: it survives a reboot and outlives its template."""
    legacy_flag = ""

    def preference(self, filestore_mb: float, config: Config) -> int:
        """0 where the data directory cannot clone; 3 up to ``max_mb`` (0: any size), else 2."""
        if not can_reflink_at(config.data_dir):
            return 0
        limit = config.plugin_settings(PLUGIN)["max_mb"]
        return PREFERRED if limit == 0 or filestore_mb <= limit else ABOVE_LIMIT

    def available(self) -> str | None:
        if not sys.platform.startswith("linux"):
            return "reflink copies use the Linux FICLONE ioctl"
        return None

    @staticmethod
    def _require_clone(spec: FilestoreSpec) -> None:
        """Refuse before anything is made unless the workspace can clone the template's files."""
        if not supports_reflink(spec.workspace):
            raise _refusal(spec.workspace, "the filesystem cannot make reflink copies")
        sample = _first_file(spec.lower) if spec.lower is not None and spec.lower.is_dir() else None
        if sample is not None and not _clones_into(sample, spec.workspace):
            raise _refusal(spec.workspace, f"the template filestore {spec.lower} is on another filesystem")

    def provision(self, spec: FilestoreSpec) -> None:
        self._require_clone(spec)
        if spec.merged.exists() or spec.merged.is_symlink():
            raise FileExistsError(f"{spec.merged} exists already")
        try:
            if spec.lower is not None and spec.lower.is_dir():
                copy_tree(spec.lower, spec.merged, clone=True)
            else:
                spec.merged.mkdir()
            chown_tree(spec.merged, spec.uid, spec.gid)
        except BaseException:
            rmtree(spec.merged)
            raise

    def is_healthy(self, spec: FilestoreSpec) -> bool:
        return spec.merged.is_dir()

    def remount(self, spec: FilestoreSpec) -> bool:
        """A plain directory needs no remount; a missing one is made again, empty."""
        if spec.merged.is_dir():
            return False
        spec.merged.mkdir(parents=True)
        chown_tree(spec.merged, spec.uid, spec.gid)
        return True

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None:
        fresh = FilestoreSpec(spec.workspace, lower, spec.uid, spec.gid)
        self._require_clone(fresh)  # refuse before the environment's files are gone
        rmtree(spec.merged)
        self.provision(fresh)

    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None:
        """A reflink copy too (``copy_filestore`` clones where it can)."""
        copy_filestore(spec.merged, dest)

    def release(self, spec: FilestoreSpec) -> None:
        rmtree(spec.merged)


@hookimpl
def oduflow_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Register the ``reflink`` filestore backend."""
    register(ReflinkStorage())


@hookimpl
def oduflow_declare_settings() -> PluginSettings:
    """``[plugins.storage_reflink]``: ``max_mb``."""
    return SETTINGS
