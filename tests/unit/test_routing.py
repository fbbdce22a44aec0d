"""Routers: port routing on the stable registry; Traefik through the labels and static config it produces."""

from __future__ import annotations

from pathlib import Path

from oduflow.config import parse
from oduflow.contracts import RouteRequest, RoutingContext
from oduflow.naming import Names
from oduflow.ports import PortRegistry
from oduflow.state import StateStore
from oduflow_plugins.routing_port import PortRouter
from oduflow_plugins.routing_traefik import TraefikRouter, static_arguments


def context(tmp_path: Path, **routing: str) -> RoutingContext:
    cfg = parse(
        {"routing": routing, "team": {"1": {"hostname": "dev.example.com", "port_range": [56990, 56999]}}}
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


def test_traefik_labels_and_static_configuration(tmp_path: Path) -> None:
    ctx = context(tmp_path, mode="traefik", acme_email="ops@example.com")
    route = TraefikRouter(ctx).route(
        RouteRequest(team=ctx.config.team("1"), owner="env:feat-x", slug="feat-x")
    )
    assert route.url == "https://feat-x.dev.example.com" and route.host_port is None and not route.ports
    key = "oduflowtest-r-1-feat-x"
    assert route.labels == {
        "traefik.enable": "true",
        f"traefik.http.routers.{key}.rule": "Host(`feat-x.dev.example.com`)",
        f"traefik.http.routers.{key}.entrypoints": "websecure",
        f"traefik.http.routers.{key}.tls.certresolver": "le",
        f"traefik.http.services.{key}.loadbalancer.server.port": "8069",
    }
    args = static_arguments(ctx)
    assert "--certificatesresolvers.le.acme.email=ops@example.com" in args
    assert "--certificatesresolvers.le.acme.httpchallenge.entrypoint=web" in args
    assert "--entrypoints.web.http.redirections.entrypoint.to=websecure" in args
    assert "--providers.docker.exposedbydefault=false" in args
    assert "--providers.docker.constraints=Label(`oduflow.instance`,`oduflowtest-r`)" in args
    assert "--providers.docker.network=oduflowtest-r-net" in args
