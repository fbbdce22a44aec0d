"""Traefik v3 routing: ``https://{slug}.{hostname}`` with Let's Encrypt HTTP-01 certificates.

``oduflow init`` runs one Traefik container (``[routing]`` ``http_port``/``https_port`` on
``bind_address``, HTTP redirected to HTTPS). Its Docker provider reads only the environment and
template-editor containers of this instance; each of them gets router labels and publishes no
port on the host. Those containers carry no ``traefik.*`` label but Oduflow's own: images that
bring one along are refused (:mod:`oduflow.images`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import docker.errors

from oduflow import docker_api, hookimpl
from oduflow.contracts import Route, RouteRequest, RouterFactory, RoutingContext

ROUTED_ROLES = ("env", "template-editor")
"""``oduflow.role`` of the containers Traefik may route to (jobs and probes never are)."""


def constraints(ctx: RoutingContext) -> str:
    """The Docker provider's constraint: this instance's environment and template-editor containers."""
    names = ctx.names
    roles = " || ".join(f"Label(`{names.label_role}`,`{role}`)" for role in ROUTED_ROLES)
    return f"Label(`{names.label_instance}`,`{names.prefix}`) && ({roles})"


def static_arguments(ctx: RoutingContext) -> list[str]:
    """Traefik's static configuration as command-line arguments."""
    names = ctx.names
    routing = ctx.config.routing
    ca_server = [f"--certificatesresolvers.le.acme.caserver={routing.acme_ca_server}"]
    return [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        f"--providers.docker.network={names.network}",
        f"--providers.docker.constraints={constraints(ctx)}",
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        "--entrypoints.websecure.address=:443",
        f"--certificatesresolvers.le.acme.email={ctx.config.routing.acme_email}",
        "--certificatesresolvers.le.acme.storage=/acme/acme.json",
        "--certificatesresolvers.le.acme.httpchallenge=true",
        "--certificatesresolvers.le.acme.httpchallenge.entrypoint=web",
        *(ca_server if routing.acme_ca_server else []),
    ]


def published_ports(ctx: RoutingContext) -> dict[str, Any]:
    """``ports`` of the Traefik container: its entry points on the configured host address and ports."""
    routing = ctx.config.routing

    def host(port: int) -> Any:
        return (routing.bind_address, port) if routing.bind_address else port

    return {"80/tcp": host(routing.http_port), "443/tcp": host(routing.https_port)}


def router_labels(ctx: RoutingContext, request: RouteRequest, host: str) -> dict[str, str]:
    """The labels that make Traefik route ``host`` to the container."""
    key = ctx.names.router(request.team.id, request.slug)  # one per team and slug, never shared
    return {
        "traefik.enable": "true",
        f"traefik.http.routers.{key}.rule": f"Host(`{host}`)",
        f"traefik.http.routers.{key}.entrypoints": "websecure",
        f"traefik.http.routers.{key}.tls.certresolver": "le",
        f"traefik.http.services.{key}.loadbalancer.server.port": str(request.container_port),
    }


class TraefikRouter:
    """Routes by subdomain through a shared Traefik container."""

    name = "traefik"

    def __init__(self, ctx: RoutingContext) -> None:
        self.ctx = ctx

    def _client(self) -> docker_api.DockerClient:
        return self.ctx.docker()

    def init_infrastructure(self) -> None:
        client = self._client()
        names = self.ctx.names
        existing = docker_api.get_container(client, names.traefik_container)
        if existing is not None:
            if existing.status != "running":
                existing.start()
            return
        image = self.ctx.config.routing.traefik_image
        docker_api.ensure_image(client, image)
        if not client.volumes.list(filters={"name": names.traefik_volume}):
            client.volumes.create(names.traefik_volume, labels=names.labels("traefik-acme"))
        docker_api.start_service(
            client,
            image,
            name=names.traefik_container,
            command=static_arguments(self.ctx),
            network=names.network,
            ports=published_ports(self.ctx),
            volumes={
                "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"},
                names.traefik_volume: {"bind": "/acme", "mode": "rw"},
            },
            labels=names.labels("traefik"),
            restart_policy={"Name": "unless-stopped"},
        )

    def destroy_infrastructure(self) -> None:
        client = self._client()
        docker_api.remove_container(client, self.ctx.names.traefik_container)
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(self.ctx.names.traefik_volume).remove(force=True)

    def route(self, request: RouteRequest) -> Route:
        host = f"{request.slug}.{request.team.hostname}"
        return Route(url=f"https://{host}", labels=router_labels(self.ctx, request, host))

    def release(self, request: RouteRequest) -> None:
        """Labels go away with the container; nothing else to free."""


@hookimpl
def oduflow_register_routing(register: Callable[[str, RouterFactory], None]) -> None:
    """Register the ``traefik`` routing mode."""
    register("traefik", TraefikRouter)
