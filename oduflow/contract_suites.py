"""Contract test suites for storage backends and routers (re-exported by :mod:`oduflow.testing`).

Subclass one in a test module, named ``Test...``, and provide the object under test as a
fixture; every test of the suite runs against it::

    class TestS3Storage(StorageBackendContract):
        @pytest.fixture
        def backend(self, oduflow_hooks, register_plugin):
            register_plugin(oduflow_s3)
            return oduflow_hooks.storage_backends()["s3"]

    class TestMyRouter(RouterContract):
        @pytest.fixture
        def router(self, routing_context):
            return MyRouter(routing_context)

A backend whose ``available()`` gives a reason is skipped with that reason. Override
``routing_config`` (a dict of ``oduflow.toml`` content) when the router needs settings.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pluggy
import pytest

from oduflow.config import Config, parse
from oduflow.contracts import (
    SHARES_TEMPLATE_FILESTORE,
    FilestoreSpec,
    Router,
    RouteRequest,
    RoutingContext,
    StorageBackend,
)
from oduflow.naming import Names
from oduflow.plugins import Hooks
from oduflow.ports import PortRegistry
from oduflow.settings import bind
from oduflow.state import StateStore


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> content of every file below ``root``."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


class StorageBackendContract:
    """What the core relies on from every :class:`~oduflow.contracts.StorageBackend`.

    Subclasses provide the ``backend`` fixture. ``lower`` is a template filestore with two
    attachments; ``spec`` an environment workspace on it, owned by the current user.
    """

    @pytest.fixture(autouse=True)
    def _usable(self, backend: StorageBackend) -> None:
        reason = backend.available()
        if reason:
            pytest.skip(f"storage backend '{backend.name}' cannot run here: {reason}")

    @pytest.fixture
    def lower(self, tmp_path: Path) -> Path:
        lower = tmp_path / "template" / "filestore"
        (lower / "ab").mkdir(parents=True)
        (lower / "ab" / "abcdef").write_text("template")
        (lower / "cd").mkdir()
        (lower / "cd" / "cdef01").write_text("second")
        return lower

    @pytest.fixture
    def spec(self, tmp_path: Path, lower: Path, backend: StorageBackend) -> Iterator[FilestoreSpec]:
        workspace = tmp_path / "workspace"
        workspace.mkdir()
        spec = FilestoreSpec(workspace=workspace, lower=lower, uid=os.getuid(), gid=os.getgid())
        yield spec
        backend.release(spec)  # never leave a mount behind

    def test_declares_name_capabilities_and_preference(
        self, backend: StorageBackend, oduflow_pm: pluggy.PluginManager
    ) -> None:
        assert isinstance(backend, StorageBackend)
        assert isinstance(backend.name, str) and backend.name
        assert isinstance(backend.capabilities, frozenset)
        assert isinstance(backend.legacy_flag, str)
        config = bind(parse({}), Hooks(oduflow_pm).settings_declarations())
        for size in (0.0, 1.0, 1e6):
            assert isinstance(backend.preference(size, config), int)

    def test_provision_shows_the_template(
        self, backend: StorageBackend, spec: FilestoreSpec, lower: Path
    ) -> None:
        backend.provision(spec)
        assert backend.is_healthy(spec)
        assert _tree(spec.merged) == _tree(lower)

    def test_changes_stay_in_the_environment(
        self, backend: StorageBackend, spec: FilestoreSpec, lower: Path
    ) -> None:
        before = _tree(lower)
        backend.provision(spec)
        (spec.merged / "ab" / "abcdef").write_text("changed")
        (spec.merged / "new").write_text("made here")
        (spec.merged / "cd" / "cdef01").unlink()
        assert _tree(lower) == before
        assert _tree(spec.merged) == {"ab/abcdef": "changed", "new": "made here"}

    def test_without_template_starts_empty(self, backend: StorageBackend, tmp_path: Path) -> None:
        spec = FilestoreSpec(workspace=tmp_path, lower=None, uid=os.getuid(), gid=os.getgid())
        backend.provision(spec)
        try:
            assert backend.is_healthy(spec) and _tree(spec.merged) == {}
            (spec.merged / "x").write_text("x")
        finally:
            backend.release(spec)

    def test_snapshot_is_the_merged_view(
        self, backend: StorageBackend, spec: FilestoreSpec, tmp_path: Path
    ) -> None:
        backend.provision(spec)
        (spec.merged / "new").write_text("made here")
        backend.snapshot(spec, tmp_path / "snapshot")
        expected = _tree(spec.merged)
        assert _tree(tmp_path / "snapshot") == expected
        (spec.merged / "later").write_text("after the snapshot")
        assert _tree(tmp_path / "snapshot") == expected

    def test_reset_drops_the_changes(
        self, backend: StorageBackend, spec: FilestoreSpec, lower: Path, tmp_path: Path
    ) -> None:
        backend.provision(spec)
        (spec.merged / "new").write_text("made here")
        backend.reset(spec, lower)
        assert backend.is_healthy(spec) and _tree(spec.merged) == _tree(lower)
        other = tmp_path / "other"
        other.mkdir()
        (other / "only").write_text("other template")
        backend.reset(spec, other)
        assert _tree(spec.merged) == {"only": "other template"}

    def test_remount_repairs_and_is_a_noop_when_healthy(
        self, backend: StorageBackend, spec: FilestoreSpec
    ) -> None:
        backend.provision(spec)
        assert backend.remount(spec) is False
        backend.release(spec)
        assert not backend.is_healthy(spec)
        assert backend.remount(spec) is True
        assert backend.is_healthy(spec) and backend.remount(spec) is False

    def test_release_is_idempotent(self, backend: StorageBackend, spec: FilestoreSpec) -> None:
        backend.provision(spec)
        backend.release(spec)
        assert not spec.merged.exists() and not backend.is_healthy(spec)
        backend.release(spec)

    def test_without_the_sharing_capability_the_template_may_go(
        self, backend: StorageBackend, spec: FilestoreSpec, lower: Path
    ) -> None:
        """The core deletes or replaces a template under environments whose backend does not
        declare ``shares_template_filestore``: their filestore must not depend on it."""
        if SHARES_TEMPLATE_FILESTORE in backend.capabilities:
            pytest.skip(f"'{backend.name}' shares its template's filestore: the core keeps the template")
        backend.provision(spec)
        expected = _tree(spec.merged)
        shutil.rmtree(lower)
        assert backend.is_healthy(spec) and _tree(spec.merged) == expected


class RouterContract:
    """What the core relies on from every :class:`~oduflow.contracts.Router`.

    Subclasses set ``plugin`` (the plugin that registers the router) and ``router_name``; the
    router is built through the hooks from a configuration bound to that plugin. Override
    ``routing_config`` (``oduflow.toml`` content) for the router's settings, or ``router`` to
    build it otherwise. Infrastructure (``init_infrastructure``) is not exercised: it may need
    Docker.
    """

    plugin: ClassVar[object]
    router_name: ClassVar[str]

    @pytest.fixture
    def routing_config(self) -> Mapping[str, Any]:
        return {}

    @pytest.fixture
    def contract_config(
        self,
        routing_config: Mapping[str, Any],
        oduflow_pm: pluggy.PluginManager,
        register_plugin: Callable[..., Any],
    ) -> Config:
        if not oduflow_pm.is_registered(self.plugin):
            register_plugin(self.plugin)
        teams = {
            "1": {"hostname": "dev.example.com", "port_range": [56900, 56910]},
            "2": {"hostname": "two.example.com", "port_range": [56910, 56920]},
        }
        raw = {"team": teams, **routing_config}
        return Hooks(oduflow_pm).configure(bind(parse(raw), Hooks(oduflow_pm).settings_declarations()))

    @pytest.fixture
    def routing_context(self, tmp_path: Path, contract_config: Config) -> RoutingContext:
        store = StateStore(tmp_path / "routes.db")

        def no_docker() -> object:
            raise AssertionError("the router contract runs without Docker: route() must not need it")

        return RoutingContext(
            config=contract_config,
            names=Names("oduflowtest-contract"),
            ports_for=lambda team: PortRegistry(store, team.id, team.port_range),
            docker=no_docker,
        )

    @pytest.fixture
    def router(self, oduflow_pm: pluggy.PluginManager, routing_context: RoutingContext) -> Router:
        return Hooks(oduflow_pm).router(self.router_name, routing_context)

    @staticmethod
    def request(ctx: RoutingContext, team: str, slug: str) -> RouteRequest:
        return RouteRequest(team=ctx.config.team(team), owner=f"env:{slug}", slug=slug)

    def test_is_a_router_with_a_name(self, router: Router) -> None:
        assert isinstance(router, Router) and isinstance(router.name, str) and router.name

    def test_route_is_stable_across_calls(self, router: Router, routing_context: RoutingContext) -> None:
        req = self.request(routing_context, "1", "feat-x")
        assert router.route(req) == router.route(req)

    def test_distinct_owners_get_distinct_routes(
        self, router: Router, routing_context: RoutingContext
    ) -> None:
        a = router.route(self.request(routing_context, "1", "feat-a"))
        b = router.route(self.request(routing_context, "1", "feat-b"))
        other_team = router.route(self.request(routing_context, "2", "feat-a"))
        assert len({a.url, b.url, other_team.url}) == 3

    def test_url_is_well_formed(self, router: Router, routing_context: RoutingContext) -> None:
        route = router.route(self.request(routing_context, "1", "feat-x"))
        parts = urlsplit(route.url)
        assert parts.scheme in ("http", "https") and parts.hostname
        assert parts.hostname.endswith("dev.example.com") and parts.path in ("", "/")
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in route.labels.items())

    def test_release_is_idempotent_and_frees_the_route(
        self, router: Router, routing_context: RoutingContext
    ) -> None:
        req = self.request(routing_context, "1", "feat-x")
        router.route(req)
        router.release(req)
        router.release(req)
        assert urlsplit(router.route(req).url).hostname
