"""Filestore backend ``copy``: each environment gets its own copy of the template filestore.

The fallback: its preference is the lowest non-zero one, so it is chosen for empty and small
filestores, for ``template_name="none"`` and where no other backend is available (macOS).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from oduflow import hookimpl
from oduflow.config import Config
from oduflow.contracts import FilestoreSpec, StorageBackend
from oduflow.fsutil import chown_tree, copy_filestore, rmtree


class CopyStorage:
    """A plain directory per environment, filled from the template."""

    name = "copy"
    capabilities: frozenset[str] = frozenset()
    legacy_flag = ""

    def preference(self, filestore_mb: float, config: Config) -> int:
        """1: any filestore, after every backend that wants it more."""
        return 1

    def available(self) -> str | None:
        return None

    def provision(self, spec: FilestoreSpec) -> None:
        if spec.lower is not None and spec.lower.is_dir():
            copy_filestore(spec.lower, spec.merged)
        else:
            spec.merged.mkdir(parents=True)
        chown_tree(spec.merged, spec.uid, spec.gid)

    def is_healthy(self, spec: FilestoreSpec) -> bool:
        return spec.merged.is_dir()

    def remount(self, spec: FilestoreSpec) -> bool:
        if spec.merged.is_dir():
            return False
        spec.merged.mkdir(parents=True)
        chown_tree(spec.merged, spec.uid, spec.gid)
        return True

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None:
        rmtree(spec.merged)
        self.provision(FilestoreSpec(spec.workspace, lower, spec.uid, spec.gid))

    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None:
        copy_filestore(spec.merged, dest)

    def release(self, spec: FilestoreSpec) -> None:
        rmtree(spec.merged)


@hookimpl
def oduflow_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Register the ``copy`` filestore backend."""
    register(CopyStorage())
