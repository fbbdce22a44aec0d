"""Port routing: every environment gets a stable host port from its team's range.

URL: ``http://{hostname}:{port}``. The port stays assigned for as long as the
environment exists (across container and server restarts).
"""

from __future__ import annotations

from collections.abc import Callable

from oduflow import hookimpl
from oduflow.config import Config, check_port_ranges
from oduflow.contracts import Route, RouteRequest, RouterFactory, RoutingContext
from oduflow.settings import PluginSettings


class PortRouter:
    """Publishes the container port on a host port of the team's ``port_range``."""

    name = "port"

    def __init__(self, ctx: RoutingContext) -> None:
        self.ctx = ctx

    def init_infrastructure(self) -> None:
        """Nothing shared is needed for port routing."""

    def destroy_infrastructure(self) -> None:
        """Nothing shared to remove."""

    def route(self, request: RouteRequest) -> Route:
        port = self.ctx.ports_for(request.team).assign(request.owner)
        return Route(
            url=f"http://{request.team.hostname}:{port}",
            host_port=port,
            ports={f"{request.container_port}/tcp": port},
        )

    def release(self, request: RouteRequest) -> None:
        self.ctx.ports_for(request.team).release(request.owner)


@hookimpl
def oduflow_register_routing(register: Callable[[RouterFactory], None]) -> None:
    """Register the ``port`` routing mode."""
    register(PortRouter)


def check(config: Config) -> None:
    """In port mode, teams' port ranges must not overlap (one would take the other's ports)."""
    if config.routing.mode == PortRouter.name:
        check_port_ranges(config, config.where)


@hookimpl
def oduflow_declare_settings() -> PluginSettings:
    """No key of its own; checks the teams' port ranges."""
    return PluginSettings("routing_port", (), check=check)
