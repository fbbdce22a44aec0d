"""Example third-party Oduflow plugin: the ``example-tmpfs`` filestore backend and the
``example-hosts`` router, with settings in ``[plugins.example]``.

Each environment gets a private copy of its template's filestore (like the built-in
``copy`` backend) plus a marker file next to it that records which backend made the
filestore and from which template directory. A filestore kept on a volatile disk (a
``tmpfs`` emptied by a reboot) is rebuilt from the template by :meth:`remount`.

A template uses the backend when its ``metadata.json`` says ``"storage": "example-tmpfs"``;
with ``prefer_for_new_templates = true`` every new template does.

The router serves ``{scheme}://{slug}.{hostname}[:{port}]`` through a proxy the operator
runs (``[routing].mode = "example-hosts"``); it labels each container with its host name.

```toml
[routing]
mode = "example-hosts"

[plugins.example]
scheme = "https"
port = 8443
prefer_for_new_templates = true
```
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oduflow import hookimpl
from oduflow.config import Config
from oduflow.contracts import (
    FilestoreSpec,
    Route,
    RouteRequest,
    RouterFactory,
    RoutingContext,
    StorageBackend,
)
from oduflow.errors import ConfigError
from oduflow.fsutil import chown_tree
from oduflow.settings import PluginSettings, Setting

__version__ = "0.1.0"

MARKER_NAME = "filestore.example-tmpfs.json"
"""The marker file, in the environment's workspace next to the filestore."""
PLUGIN = "example"
"""The entry-point name (pyproject.toml), hence the settings table ``[plugins.example]``."""


def _check(config: Config) -> None:
    if config.plugin_settings(PLUGIN)["scheme"] not in ("http", "https"):
        raise ConfigError(f'{config.where} [plugins.{PLUGIN}]: key \'scheme\' expects "http" or "https"')


SETTINGS = PluginSettings(
    PLUGIN,
    (
        Setting("scheme", "http", help="scheme of the URLs example-hosts gives"),
        Setting("port", 0, help="port of those URLs (0: the scheme's default)", minimum=0),
        Setting("prefer_for_new_templates", False, help="new templates use example-tmpfs"),
    ),
    check=_check,
)


class ExampleTmpfsStorage:
    """A plain directory per environment, filled from the template, with a provenance marker."""

    name = "example-tmpfs"
    capabilities: frozenset[str] = frozenset()  # a private copy: nothing the core must protect
    legacy_flag = ""

    def preference(self, filestore_mb: float, config: Config) -> int:
        """10 (before the built-ins) when ``prefer_for_new_templates`` is set, else 0."""
        return 10 if config.plugin_settings(PLUGIN)["prefer_for_new_templates"] else 0

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


class ExampleHostsRouter:
    """``{scheme}://{slug}.{hostname}[:{port}]``, served by a proxy the operator runs."""

    name = "example-hosts"
    LABEL = "org.example.host"

    def __init__(self, ctx: RoutingContext) -> None:
        self.ctx = ctx
        self.settings = ctx.config.plugin_settings(PLUGIN)

    def init_infrastructure(self) -> None:
        """The proxy is the operator's: nothing to create."""

    def destroy_infrastructure(self) -> None:
        """Nothing was created."""

    def route(self, request: RouteRequest) -> Route:
        host = f"{request.slug}.{request.team.hostname}"
        port = self.settings["port"]
        url = f"{self.settings['scheme']}://{host}" + (f":{port}" if port else "")
        return Route(url=url, labels={self.LABEL: host})

    def release(self, request: RouteRequest) -> None:
        """The label goes away with the container."""


@hookimpl
def oduflow_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Register the ``example-tmpfs`` filestore backend (under its ``name``)."""
    register(ExampleTmpfsStorage())


@hookimpl
def oduflow_register_routing(register: Callable[[RouterFactory], None]) -> None:
    """Register the ``example-hosts`` router (under its ``name``)."""
    register(ExampleHostsRouter)


@hookimpl
def oduflow_declare_settings() -> PluginSettings:
    """``[plugins.example]``: ``scheme``, ``port``, ``prefer_for_new_templates``."""
    return SETTINGS
