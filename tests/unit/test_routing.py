"""Routers: port routing on the stable registry; Traefik's static configuration."""

from __future__ import annotations

from pathlib import Path

from oduflow.contracts import RouteRequest, RoutingContext
from oduflow.naming import Names
from oduflow.plugins import new_plugin_manager
from oduflow.ports import PortRegistry
from oduflow.state import StateStore
from oduflow.testing import bound_config, register_builtins
from oduflow_plugins.routing_port import PortRouter
from oduflow_plugins.routing_traefik import TraefikRouter, published_ports, static_arguments


def context(tmp_path: Path, **routing: object) -> RoutingContext:
    cfg = bound_config(
        register_builtins(new_plugin_manager()),
        {"routing": routing, "team": {"1": {"hostname": "dev.example.com", "port_range": [56990, 56999]}}},
    )
    store = StateStore(tmp_path / "s.db")
    return RoutingContext(
        config=cfg,
        names=Names("oduflowtest-r"),
        ports_for=lambda team: PortRegistry(store, team.id, team.port_range),
        docker=lambda: None,
    )


def test_port_router_is_stable_and_releases(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    router = PortRouter(ctx)
    req = RouteRequest(team=ctx.config.team("1"), owner="env:feat", slug="feat")
    first = router.route(req)
    assert first.url == f"http://dev.example.com:{first.host_port}" and first.ports == {
        "8069/tcp": first.host_port
    }
    assert router.route(req) == first
    router.release(req)
    assert ctx.ports_for(ctx.config.team("1")).get("env:feat") is None


def test_traefik_static_configuration(tmp_path: Path) -> None:
    """What requests cannot show: the ACME settings and where the entry points are published.

    Routing itself (router labels, constraints, redirect) is tested through the real Traefik in
    tests/docker/test_routing_traefik.py and tests/security/test_image_labels.py."""
    ctx = context(tmp_path, mode="traefik", acme_email="ops@example.com")
    route = TraefikRouter(ctx).route(
        RouteRequest(team=ctx.config.team("1"), owner="env:feat-x", slug="feat-x")
    )
    assert route.url == "https://feat-x.dev.example.com" and route.host_port is None and not route.ports
    args = static_arguments(ctx)
    assert "--certificatesresolvers.le.acme.email=ops@example.com" in args
    assert "--certificatesresolvers.le.acme.httpchallenge.entrypoint=web" in args
    assert not any(a.startswith("--certificatesresolvers.le.acme.caserver=") for a in args)
    assert published_ports(ctx) == {"80/tcp": 80, "443/tcp": 443}
    staging = "https://acme-staging.example.com/directory"
    ctx = context(
        tmp_path, mode="traefik", acme_email="o@e.com", acme_ca_server=staging,
        bind_address="127.0.0.1", http_port=8080, https_port=8443,
    )  # fmt: skip
    assert f"--certificatesresolvers.le.acme.caserver={staging}" in static_arguments(ctx)
    assert published_ports(ctx) == {"80/tcp": ("127.0.0.1", 8080), "443/tcp": ("127.0.0.1", 8443)}
