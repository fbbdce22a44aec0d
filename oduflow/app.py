"""The application object: configuration plus lazily opened resources.

Surfaces build one :class:`App` and hand it to the service layer.
"""

from __future__ import annotations

import threading
from functools import cached_property
from importlib import resources
from pathlib import Path

import pluggy
from docker.models.containers import Container

from oduflow import docker_api
from oduflow.catalog import Catalog, build_catalog
from oduflow.config import Config, TeamConfig
from oduflow.contracts import Router, RoutingContext
from oduflow.database import Database, DbEndpoint
from oduflow.errors import PrerequisiteNotMetError
from oduflow.fsutil import private_dir
from oduflow.locks import LockManager
from oduflow.naming import Names
from oduflow.plugins import Hooks, get_plugin_manager
from oduflow.ports import PortRegistry
from oduflow.services.outputs import OutputStore
from oduflow.state import StateStore

PG_SOCKET_IN_CONTAINER = "/var/run/postgresql"
"""Where the database container keeps its Unix socket; bind-mounted from :attr:`App.db_socket_dir`."""
UNIX_SOCKET_PATH_MAX = 107
"""Longest Unix socket path the kernel takes (``sun_path`` less its terminating NUL)."""


def mount_sources(container: Container) -> dict[str, str]:
    """A container's mounts: host source by destination inside the container."""
    return {m.get("Destination"): m.get("Source") for m in container.attrs.get("Mounts") or []}


def resource_path(*parts: str) -> Path:
    """A file bundled in ``oduflow/resources``."""
    return Path(str(resources.files("oduflow").joinpath("resources", *parts)))


class App:
    """Configuration, plugins and the shared resources of one Oduflow instance."""

    def __init__(self, config: Config, pm: pluggy.PluginManager | None = None) -> None:
        self.hooks = Hooks(pm if pm is not None else get_plugin_manager())
        self.config = self.hooks.configure(config)  # plugin settings validated and bound
        self.names = Names(config.server.name_prefix)
        self._lock = threading.Lock()
        self._docker: docker_api.DockerClient | None = None

    # --- paths ---------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def team_dir(self, team_id: str) -> Path:
        """The team's directory, made (or kept) mode 0700 whoever creates it first."""
        return private_dir(self.config.team_dir(team_id))

    @property
    def db_dir(self) -> Path:
        """``<data_dir>/postgres`` (mode 0700): the server's conf files, socket and password."""
        return self.data_dir.absolute() / "postgres"

    @property
    def db_socket_dir(self) -> Path:
        """Host side of the database container's ``/var/run/postgresql``."""
        return self.db_dir / "run"

    @property
    def superuser_password_file(self) -> Path:
        return self.db_dir / "superuser.password"

    def superuser_password(self) -> str:
        """``[database].password``, or the random one ``oduflow init`` wrote (mode 0600)."""
        if self.config.database.password:
            return self.config.database.password
        try:
            password = self.superuser_password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            password = ""
        except OSError as exc:
            raise PrerequisiteNotMetError(
                f"cannot read {self.superuser_password_file}: {exc.strerror}"
            ) from None
        if not password:
            raise PrerequisiteNotMetError(
                f"no PostgreSQL superuser password in {self.superuser_password_file}: "
                "ask the operator to run 'oduflow init'"
            )
        return password

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
        """The shared server through its Unix socket, as the superuser.

        The superuser never connects over the network (``pg_hba.conf`` refuses it there): the
        socket directory of the database container is bind-mounted on the host.
        """
        c = docker_api.get_container(self.docker(), self.names.db_container)
        if c is None or c.status != "running":
            state = "missing" if c is None else c.status
            raise PrerequisiteNotMetError(
                f"the database container '{self.names.db_container}' is {state}: "
                "ask the operator to run 'oduflow init'"
            )
        if mount_sources(c).get(PG_SOCKET_IN_CONTAINER) != str(self.db_socket_dir):
            raise PrerequisiteNotMetError(
                f"the database container '{self.names.db_container}' does not share its socket "
                f"directory {self.db_socket_dir}: ask the operator to run 'oduflow init' (it recreates "
                "the container "
                "and keeps its data volume)"
            )
        return DbEndpoint(
            host=str(self.db_socket_dir),
            port=5432,
            user=self.config.database.user,
            password=self.superuser_password(),
        )

    def db(self) -> Database:
        return Database(self.db_endpoint())

    def ports(self, team: TeamConfig) -> PortRegistry:
        return PortRegistry(self.store, team.id, team.port_range)

    @cached_property
    def router(self) -> Router:
        ctx = RoutingContext(
            config=self.config,
            names=self.names,
            ports_for=self.ports,
            docker=self.docker,
            team_network=self._team_network,
        )
        return self.hooks.router(self.config.routing.mode, ctx)

    def _team_network(self, team_id: str) -> str:
        from oduflow.services import runtime  # the service layer builds on the app, not the reverse

        return runtime.team_network(self, team_id)

    @cached_property
    def outputs(self) -> OutputStore:
        return OutputStore(self.data_dir / "outputs")

    @cached_property
    def catalog(self) -> Catalog:
        """The tools of this instance: the built-in ones and those its plugins register."""
        return build_catalog(self.hooks)
