"""Example third-party Oduflow plugin: the ``example-tmpfs`` filestore backend.

Each environment gets a private copy of its template's filestore (like the built-in
``copy`` backend) plus a marker file next to it that records which backend made the
filestore and from which template directory. A filestore kept on a volatile disk (a
``tmpfs`` emptied by a reboot) is rebuilt from the template by :meth:`remount`.

A template uses the backend when its ``metadata.json`` says ``"storage": "example-tmpfs"``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oduflow import hookimpl
from oduflow.contracts import FilestoreSpec, StorageBackend
from oduflow.fsutil import chown_tree

__version__ = "0.1.0"

MARKER_NAME = "filestore.example-tmpfs.json"
"""The marker file, in the environment's workspace next to the filestore."""


class ExampleTmpfsStorage:
    """A plain directory per environment, filled from the template, with a provenance marker."""

    name = "example-tmpfs"

    @staticmethod
    def marker(spec: FilestoreSpec) -> Path:
        return spec.workspace / MARKER_NAME

    def read_marker(self, spec: FilestoreSpec) -> dict[str, Any] | None:
        """What :meth:`provision` recorded, or ``None`` when there is no marker."""
        path = self.marker(spec)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def _write_marker(self, spec: FilestoreSpec) -> None:
        record = {
            "backend": self.name,
            "lower": str(spec.lower) if spec.lower is not None else None,
            "provisioned_at": time.time(),
        }
        self.marker(spec).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    def available(self) -> str | None:
        return None  # plain directories work everywhere

    def provision(self, spec: FilestoreSpec) -> None:
        if spec.lower is not None and spec.lower.is_dir():
            shutil.copytree(spec.lower, spec.merged, symlinks=True)
        else:
            spec.merged.mkdir(parents=True)
        chown_tree(spec.merged, spec.uid, spec.gid)
        self._write_marker(spec)

    def is_healthy(self, spec: FilestoreSpec) -> bool:
        return spec.merged.is_dir() and self.marker(spec).is_file()

    def remount(self, spec: FilestoreSpec) -> bool:
        if self.is_healthy(spec):
            return False
        if spec.merged.is_dir():  # the data is there, only the marker is gone
            self._write_marker(spec)
            return False
        self.provision(spec)
        return True

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None:
        self.release(spec)
        self.provision(FilestoreSpec(spec.workspace, lower, spec.uid, spec.gid))

    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None:
        shutil.copytree(spec.merged, dest, symlinks=True)

    def release(self, spec: FilestoreSpec) -> None:
        if spec.merged.is_dir():
            shutil.rmtree(spec.merged)
        self.marker(spec).unlink(missing_ok=True)


@hookimpl
def oduflow_register_storage(register: Callable[[str, StorageBackend], None]) -> None:
    """Register the ``example-tmpfs`` filestore backend."""
    register(ExampleTmpfsStorage.name, ExampleTmpfsStorage())
