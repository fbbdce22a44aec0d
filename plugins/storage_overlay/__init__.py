"""Filestore backend ``overlay``: fuse-overlayfs with the template filestore as lower layer.

Environments share the template's files; each one writes only to its own upper
directory. Stale mounts (the FUSE daemon died: "Transport endpoint is not connected")
are detected and remounted; mounts do not survive a reboot and are remounted when the
server starts.

Chosen for new templates whose filestore is ``threshold_mb`` or larger
(``[plugins.storage_overlay]``; documented alias ``[storage].overlay_threshold_mb``), when
fuse-overlayfs is usable. Older templates select it with ``"use_overlay": true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from oduflow import hookimpl
from oduflow.config import Config
from oduflow.contracts import NEEDS_REMOUNT, SHARES_TEMPLATE_FILESTORE, FilestoreSpec, StorageBackend
from oduflow.errors import ExternalCommandError
from oduflow.fsutil import chown_tree, copy_filestore, mount_state, rmtree, unmount
from oduflow.settings import PluginSettings, Setting

PLUGIN = "storage_overlay"
"""The entry-point name: the name of the settings table."""
SETTINGS = PluginSettings(
    PLUGIN,
    (
        Setting(
            "threshold_mb",
            50,
            help="template filestores this large or larger (MB) use overlay; 0: every non-empty one",
            minimum=0,
            aliases=("storage.overlay_threshold_mb",),
        ),
    ),
)


class OverlayStorage:
    """fuse-overlayfs per environment: ``lower`` = template, ``upper`` = the branch."""

    name = "overlay"
    capabilities = frozenset({SHARES_TEMPLATE_FILESTORE, NEEDS_REMOUNT})
    """Environments read the template's filestore live; a reboot loses the mount."""
    legacy_flag = "use_overlay"

    def preference(self, filestore_mb: float, config: Config) -> int:
        """2 (before ``copy``) for non-empty filestores of ``threshold_mb`` or more, else 0."""
        threshold = config.plugin_settings(PLUGIN)["threshold_mb"]
        return 2 if filestore_mb > 0 and filestore_mb >= threshold else 0

    def available(self) -> str | None:
        if shutil.which("fuse-overlayfs") is None:
            return "fuse-overlayfs is not installed (apt install fuse-overlayfs)"
        if not os.path.exists("/dev/fuse"):
            return "/dev/fuse is missing (load the fuse module or pass --device /dev/fuse)"
        return None

    @staticmethod
    def _lower(spec: FilestoreSpec) -> Path:
        if spec.lower is not None:
            return spec.lower
        empty = spec.workspace / "filestore_lower"
        empty.mkdir(exist_ok=True)
        return empty

    def _mount(self, spec: FilestoreSpec) -> None:
        for d in (spec.upper, spec.work, spec.merged):
            d.mkdir(parents=True, exist_ok=True)
        chown_tree(spec.upper, spec.uid, spec.gid, recursive=False)
        chown_tree(spec.work, spec.uid, spec.gid, recursive=False)
        # nodev,nosuid: a device node or setuid file that reaches a layer is inert in the mount
        opts = (
            f"lowerdir={self._lower(spec)},upperdir={spec.upper},workdir={spec.work},allow_other,nodev,nosuid"
        )
        argv = ["fuse-overlayfs", "-o", opts, str(spec.merged)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0 or mount_state(spec.merged) != "mounted":
            raise ExternalCommandError(
                "fuse-overlayfs mount failed",
                command=" ".join(argv),
                exit_code=proc.returncode,
                output=proc.stderr,
            )
        # Only the merged root is chowned: a recursive chown would copy every file up.
        os.chown(spec.merged, spec.uid, spec.gid) if os.geteuid() == 0 else None

    def provision(self, spec: FilestoreSpec) -> None:
        self._mount(spec)

    def is_healthy(self, spec: FilestoreSpec) -> bool:
        return mount_state(spec.merged) == "mounted"

    def remount(self, spec: FilestoreSpec) -> bool:
        state = mount_state(spec.merged)
        if state == "mounted":
            return False
        if state == "stale":
            unmount(spec.merged)
        self._mount(spec)
        return True

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None:
        if mount_state(spec.merged) != "unmounted":
            unmount(spec.merged)
        for d in (spec.upper, spec.work):
            rmtree(d)
        self._mount(FilestoreSpec(spec.workspace, lower, spec.uid, spec.gid))

    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None:
        copy_filestore(spec.merged, dest)

    def release(self, spec: FilestoreSpec) -> None:
        if mount_state(spec.merged) != "unmounted":
            unmount(spec.merged)
        for d in (spec.merged, spec.upper, spec.work, spec.workspace / "filestore_lower"):
            rmtree(d)


@hookimpl
def oduflow_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Register the ``overlay`` filestore backend."""
    register(OverlayStorage())


@hookimpl
def oduflow_declare_settings() -> PluginSettings:
    """``[plugins.storage_overlay]``: ``threshold_mb``."""
    return SETTINGS
