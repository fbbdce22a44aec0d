"""The built-in storage backends and routers pass the contract suites of ``oduflow.testing``
(overlay needs FUSE: tests/docker/test_storage_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from oduflow.contracts import Router, RoutingContext, StorageBackend
from oduflow.plugins import Hooks
from oduflow.testing import RouterContract, StorageBackendContract
from oduflow_plugins import routing_port, routing_traefik, storage_copy


class TestCopyStorage(StorageBackendContract):
    @pytest.fixture
    def backend(self, oduflow_hooks: Hooks, register_plugin: Callable[..., Any]) -> StorageBackend:
        register_plugin(storage_copy)
        return oduflow_hooks.storage("copy")


class TestPortRouter(RouterContract):
    plugin = routing_port
    router_name = "port"

    def test_ports_come_from_the_team_range(self, router: Router, routing_context: RoutingContext) -> None:
        route = router.route(self.request(routing_context, "2", "feat"))
        assert route.host_port is not None and 56910 <= route.host_port < 56920
        assert route.ports == {"8069/tcp": route.host_port}


class TestTraefikRouter(RouterContract):
    plugin = routing_traefik
    router_name = "traefik"

    @pytest.fixture
    def routing_config(self) -> dict[str, Any]:
        return {"routing": {"mode": "traefik", "acme_email": "ops@example.com"}}

    def test_routes_by_subdomain_over_https(self, router: Router, routing_context: RoutingContext) -> None:
        route = router.route(self.request(routing_context, "1", "feat"))
        assert route.url == "https://feat.dev.example.com" and route.host_port is None
