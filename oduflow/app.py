"""The application object: configuration plus lazily opened resources.

Surfaces build one :class:`App` and hand it to the service layer.
"""

from __future__ import annotations

import threading
from functools import cached_property
from importlib import resources
from pathlib import Path

import pluggy

from oduflow import docker_api
from oduflow.config import Config, TeamConfig
from oduflow.contracts import Router, RoutingContext
from oduflow.database import Database, DbEndpoint
from oduflow.errors import PrerequisiteNotMetError
from oduflow.locks import LockManager
from oduflow.naming import Names
from oduflow.plugins import Hooks, get_plugin_manager
from oduflow.ports import PortRegistry
from oduflow.services.outputs import OutputStore
from oduflow.state import StateStore


def resource_path(*parts: str) -> Path:
    """A file bundled in ``oduflow/resources``."""
    return Path(str(resources.files("oduflow").joinpath("resources", *parts)))


class App:
    """Configuration, plugins and the shared resources of one Oduflow instance."""

    def __init__(self, config: Config, pm: pluggy.PluginManager | None = None) -> None:
        self.config = config
        self.names = Names(config.server.name_prefix)
        self.hooks = Hooks(pm if pm is not None else get_plugin_manager())
        self._lock = threading.Lock()
        self._docker: docker_api.DockerClient | None = None

    # --- paths ---------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def team_dir(self, team_id: str) -> Path:
        return self.config.team_dir(team_id)

    def config_file(self, name: str) -> Path:
        """``name`` from the config directory when present, else the bundled one."""
        custom = self.config.config_dir / name
        return custom if custom.is_file() else resource_path(name)

    # --- lazily opened resources ---------------------------------------------------------
    @cached_property
    def locks(self) -> LockManager:
        return LockManager(self.data_dir / "locks")

    @cached_property
    def store(self) -> StateStore:
        try:
            return StateStore(self.data_dir / "state.db")
        except OSError as exc:
            raise PrerequisiteNotMetError(
                f"cannot use the data directory {self.data_dir}: {exc.strerror}. "
                "Set [storage].data_dir in oduflow.toml to a writable directory."
            ) from None

    def docker(self) -> docker_api.DockerClient:
        with self._lock:
            if self._docker is None:
                self._docker = docker_api.connect()
            return self._docker

    def db_endpoint(self) -> DbEndpoint:
        c = docker_api.get_container(self.docker(), self.names.db_container)
        if c is None or c.status != "running":
            state = "missing" if c is None else c.status
            raise PrerequisiteNotMetError(
                f"the database container '{self.names.db_container}' is {state}: run 'oduflow init'"
            )
        binding = (c.ports.get("5432/tcp") or [{}])[0]
        if not binding.get("HostPort"):
            raise PrerequisiteNotMetError(f"'{self.names.db_container}' publishes no port 5432")
        return DbEndpoint(
            host="127.0.0.1",
            port=int(binding["HostPort"]),
            user=self.config.database.user,
            password=self.config.database.password,
        )

    def db(self) -> Database:
        return Database(self.db_endpoint())

    def ports(self, team: TeamConfig) -> PortRegistry:
        return PortRegistry(self.store, team.id, team.port_range)

    @cached_property
    def router(self) -> Router:
        ctx = RoutingContext(config=self.config, names=self.names, ports_for=self.ports, docker=self.docker)
        return self.hooks.router(self.config.routing.mode, ctx)

    @cached_property
    def outputs(self) -> OutputStore:
        return OutputStore(self.data_dir / "outputs")
