"""Traefik v3 routing: ``https://{slug}.{hostname}`` with Let's Encrypt HTTP-01 certificates.

``oduflow init`` runs one Traefik container (``http_port``/``https_port`` on ``bind_address``,
HTTP redirected to HTTPS). Its Docker provider reads only the environment, template-editor and
service containers of this instance; each of them gets router labels and publishes no port on
the host. Traefik joins each team's own network (the only one a team's services are on) and
reaches the team's containers over it (``traefik.docker.network``). Those containers carry no
``traefik.*`` label but Oduflow's own: images that bring one along are refused (:mod:`oduflow.images`).

Settings (``[plugins.routing_traefik]``; each key is also read from ``[routing]``, where the
reference documents ``acme_email``): ``acme_email`` (required when ``[routing].mode = "traefik"``),
``acme_ca_server``, ``traefik_image``, ``http_port``, ``https_port``, ``bind_address``.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import docker.errors

from oduflow import docker_api, hookimpl
from oduflow.config import Config
from oduflow.contracts import Route, RouteRequest, RouterFactory, RoutingContext
from oduflow.errors import ConfigError
from oduflow.settings import PluginSettings, Setting

PLUGIN = "routing_traefik"
"""The entry-point name: the name of the settings table."""

ROUTED_ROLES = ("env", "template-editor", "service")
"""``oduflow.role`` of the containers Traefik may route to (jobs and probes never are)."""


def constraints(ctx: RoutingContext) -> str:
    """The Docker provider's constraint: this instance's environment, template-editor and service
    containers."""
    names = ctx.names
    roles = " || ".join(f"Label(`{names.label_role}`,`{role}`)" for role in ROUTED_ROLES)
    return f"Label(`{names.label_instance}`,`{names.prefix}`) && ({roles})"


def static_arguments(ctx: RoutingContext) -> list[str]:
    """Traefik's static configuration as command-line arguments."""
    names = ctx.names
    ca = str(settings(ctx.config)["acme_ca_server"])
    return [
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        f"--providers.docker.network={names.network}",
        f"--providers.docker.constraints={constraints(ctx)}",
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        "--entrypoints.websecure.address=:443",
        f"--certificatesresolvers.le.acme.email={settings(ctx.config)['acme_email']}",
        "--certificatesresolvers.le.acme.storage=/acme/acme.json",
        "--certificatesresolvers.le.acme.httpchallenge=true",
        "--certificatesresolvers.le.acme.httpchallenge.entrypoint=web",
        *([f"--certificatesresolvers.le.acme.caserver={ca}"] if ca else []),
    ]


def settings(config: Config) -> Mapping[str, Any]:
    """This plugin's settings (``[plugins.routing_traefik]``, aliases in ``[routing]``)."""
    return config.plugin_settings(PLUGIN)


def published_ports(ctx: RoutingContext) -> dict[str, Any]:
    """``ports`` of the Traefik container: its entry points on the configured host address and ports."""
    values = settings(ctx.config)
    address = str(values["bind_address"])

    def host(port: int) -> Any:
        return (address, port) if address else port

    return {"80/tcp": host(int(values["http_port"])), "443/tcp": host(int(values["https_port"]))}


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
        else:
            self._start_proxy(client)
        for network in client.networks.list(filters=names.instance_filter(role="team-network")):
            self._join(network.name)  # teams that have services or environments already

    def _start_proxy(self, client: docker_api.DockerClient) -> None:
        names = self.ctx.names
        image = str(settings(self.ctx.config)["traefik_image"])
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
        host = request.host or f"{request.slug}.{request.team.hostname}"
        labels = router_labels(self.ctx, request, host)
        if self.ctx.team_network is not None:
            # the team's services are on its own network alone: Traefik joins it and reaches
            # every container of the team there
            network = self.ctx.team_network(request.team.id)
            self._join(network)
            labels["traefik.docker.network"] = network
        return Route(url=f"https://{host}", labels=labels)

    def _join(self, network: str) -> None:
        """Connect the Traefik container (when it runs) to ``network``; idempotent."""
        client = self._client()
        proxy = docker_api.get_container(client, self.ctx.names.traefik_container)
        if proxy is None or network in (proxy.attrs.get("NetworkSettings", {}).get("Networks") or {}):
            return
        try:
            client.networks.get(network).connect(proxy)
        except docker.errors.APIError as exc:
            if "already exists" not in str(exc.explanation or ""):
                raise

    def release(self, request: RouteRequest) -> None:
        """Labels go away with the container; nothing else to free."""


@hookimpl
def oduflow_register_routing(register: Callable[[RouterFactory], None]) -> None:
    """Register the ``traefik`` routing mode."""
    register(TraefikRouter)


def check(config: Config) -> None:
    """``acme_email`` is required in traefik mode; two distinct ports; an IP address to bind."""
    values, where = settings(config), f"{config.where} [plugins.{PLUGIN}]"
    if config.routing.mode == TraefikRouter.name and not values["acme_email"]:
        raise ConfigError(
            f"{where}: key 'acme_email' (or [routing].acme_email) is required when mode = "
            f'"{TraefikRouter.name}"'
        )
    for key in ("http_port", "https_port"):
        if not 1 <= int(values[key]) <= 65535:
            raise ConfigError(f"{where}: key '{key}' expects a port number (1-65535)")
    if values["http_port"] == values["https_port"]:
        raise ConfigError(f"{where}: keys 'http_port' and 'https_port' must differ")
    if values["bind_address"]:
        try:
            ipaddress.ip_address(str(values["bind_address"]))
        except ValueError:
            raise ConfigError(
                f"{where}: key 'bind_address' expects an IP address, got {values['bind_address']!r}"
            ) from None


def _setting(key: str, default: str | int, help: str) -> Setting:
    return Setting(key, default, help=help, aliases=(f"routing.{key}",))


SETTINGS = PluginSettings(
    PLUGIN,
    (
        _setting("acme_email", "", "Let's Encrypt account e-mail (required in traefik mode)"),
        _setting("acme_ca_server", "", "ACME directory URL (empty: Let's Encrypt's production CA)"),
        _setting("traefik_image", "traefik:v3.1", "the Traefik image"),
        _setting("http_port", 80, "host port of the HTTP entry point (redirects, ACME HTTP-01)"),
        _setting("https_port", 443, "host port of the HTTPS entry point"),
        _setting("bind_address", "", "host address the ports are published on (empty: every interface)"),
    ),
    check=check,
)


@hookimpl
def oduflow_declare_settings() -> PluginSettings:
    """``[plugins.routing_traefik]``: ACME account and server, Traefik image, ports, bind address."""
    return SETTINGS
