"""Tests of the example plugin, written the way a plugin author tests a plugin.

``oduflow_hooks``, ``register_plugin`` and ``builtin_plugins`` are fixtures of
``oduflow.testing`` (installed with Oduflow as a pytest plugin): the plugin manager they
share holds only what the test registers, so the test sees exactly this plugin. The
contract suites of ``oduflow.testing`` run against the backend and the router.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oduflow_example_plugin
import pluggy
import pytest
from oduflow_example_plugin import MARKER_NAME, ExampleHostsRouter, ExampleTmpfsStorage

from oduflow.contracts import FilestoreSpec, RouteRequest, RoutingContext, StorageBackend
from oduflow.errors import ConfigError
from oduflow.naming import Names
from oduflow.plugins import Hooks
from oduflow.testing import RouterContract, StorageBackendContract, bound_config


class TestStorageContract(StorageBackendContract):
    @pytest.fixture
    def backend(self, oduflow_hooks: Hooks, register_plugin: Callable[..., Any]) -> StorageBackend:
        register_plugin(oduflow_example_plugin)
        return oduflow_hooks.storage("example-tmpfs")


class TestRouterContract(RouterContract):
    plugin = oduflow_example_plugin
    router_name = "example-hosts"

    @pytest.fixture
    def routing_config(self) -> dict[str, Any]:
        return {"routing": {"mode": "example-hosts"}, "plugins": {"example": {"scheme": "https"}}}


def test_selected_through_oduflow_toml(
    builtin_plugins: pluggy.PluginManager, oduflow_hooks: Hooks, register_plugin: Callable[..., Any]
) -> None:
    """``[routing].mode`` picks the router, ``[plugins.example]`` configures both."""
    register_plugin(oduflow_example_plugin)
    toml = {
        "routing": {"mode": "example-hosts"},
        "plugins": {"example": {"scheme": "https", "port": 8443, "prefer_for_new_templates": True}},
        "team": {"1": {"hostname": "dev.example.com"}},
    }
    config = oduflow_hooks.configure(bound_config(builtin_plugins, toml))
    ctx = RoutingContext(config=config, names=Names("example"), ports_for=lambda t: None, docker=lambda: None)  # type: ignore[arg-type,return-value]
    router = oduflow_hooks.router(config.routing.mode, ctx)
    assert isinstance(router, ExampleHostsRouter)
    route = router.route(RouteRequest(team=config.team("1"), owner="env:feat", slug="feat"))
    assert route.url == "https://feat.dev.example.com:8443"
    assert oduflow_hooks.preferred_storage(500.0, config) == "example-tmpfs"
    toml["plugins"] = {"example": {"scheme": "gopher"}}
    with pytest.raises(ConfigError, match="key 'scheme' expects"):
        oduflow_hooks.configure(bound_config(builtin_plugins, toml))


@pytest.fixture
def backend(oduflow_hooks: Hooks, register_plugin: Callable[..., Any]) -> StorageBackend:
    register_plugin(oduflow_example_plugin)
    return oduflow_hooks.storage("example-tmpfs")


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A template filestore with one attachment."""
    lower = tmp_path / "template" / "filestore"
    (lower / "ab").mkdir(parents=True)
    (lower / "ab" / "abcdef").write_text("template")
    return lower


@pytest.fixture
def spec(tmp_path: Path, template: Path) -> FilestoreSpec:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return FilestoreSpec(workspace=workspace, lower=template, uid=os.getuid(), gid=os.getgid())


def test_registered_under_its_name(backend: StorageBackend) -> None:
    assert isinstance(backend, ExampleTmpfsStorage)
    assert isinstance(backend, StorageBackend)  # the protocol of oduflow.contracts
    assert backend.name == "example-tmpfs"


def test_unknown_until_the_plugin_is_registered(oduflow_hooks: Hooks) -> None:
    with pytest.raises(ConfigError, match="is the plugin installed"):
        oduflow_hooks.storage("example-tmpfs")


def test_lives_next_to_the_builtin_backends(
    builtin_plugins: object, oduflow_hooks: Hooks, register_plugin: Callable[..., Any]
) -> None:
    register_plugin(oduflow_example_plugin)
    assert {"copy", "overlay", "example-tmpfs"} <= set(oduflow_hooks.storage_backends())
    assert {"port", "traefik", "example-hosts"} <= set(oduflow_hooks.router_factories())


def test_provision_gives_a_private_copy_and_records_it(backend: StorageBackend, spec: FilestoreSpec) -> None:
    backend.provision(spec)
    attachment = spec.merged / "ab" / "abcdef"
    assert attachment.read_text() == "template"
    assert backend.is_healthy(spec)
    marker = ExampleTmpfsStorage().read_marker(spec)
    assert marker is not None
    assert marker["backend"] == "example-tmpfs" and marker["lower"] == str(spec.lower)
    attachment.write_text("changed in the environment")
    assert spec.lower is not None
    assert (spec.lower / "ab" / "abcdef").read_text() == "template"


def test_without_template_the_filestore_starts_empty(backend: StorageBackend, tmp_path: Path) -> None:
    spec = FilestoreSpec(workspace=tmp_path, lower=None, uid=os.getuid(), gid=os.getgid())
    backend.provision(spec)
    assert spec.merged.is_dir() and not any(spec.merged.iterdir())


def test_snapshot_reset_remount_release(backend: StorageBackend, spec: FilestoreSpec, tmp_path: Path) -> None:
    backend.provision(spec)
    (spec.merged / "new").write_text("made in the environment")

    backend.snapshot(spec, tmp_path / "snapshot")
    assert sorted(p.name for p in (tmp_path / "snapshot").iterdir()) == ["ab", "new"]  # no marker

    backend.reset(spec, spec.lower)
    assert not (spec.merged / "new").exists() and (spec.merged / "ab" / "abcdef").is_file()

    shutil.rmtree(spec.merged)  # the volatile disk was emptied
    assert not backend.is_healthy(spec)
    assert backend.remount(spec) is True
    assert backend.is_healthy(spec) and (spec.merged / "ab" / "abcdef").is_file()
    assert backend.remount(spec) is False

    backend.release(spec)
    assert not spec.merged.exists() and not (spec.workspace / MARKER_NAME).exists()
    backend.release(spec)  # idempotent
