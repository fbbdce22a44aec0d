"""Types that plugins and the core exchange (backends, contexts, results).

Kept free of Docker and database code so that plugins can be tested without either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from oduflow.config import Config, TeamConfig
from oduflow.naming import Names

Progress = Callable[[str], None]


def no_progress(message: str) -> None:
    """A progress callback that drops messages."""


# --- storage -----------------------------------------------------------------------
@dataclass(frozen=True)
class FilestoreSpec:
    """The filestore of one environment.

    ``lower`` is the template's filestore (``None``: start empty). The backend makes
    :attr:`merged` the directory bound into the container as the database's filestore,
    owned by ``uid:gid``.
    """

    workspace: Path
    lower: Path | None
    uid: int = 101
    gid: int = 101

    @property
    def merged(self) -> Path:
        return self.workspace / "filestore"

    @property
    def upper(self) -> Path:
        return self.workspace / "filestore_upper"

    @property
    def work(self) -> Path:
        return self.workspace / "filestore_work"


SHARES_TEMPLATE_FILESTORE = "shares_template_filestore"
"""Capability: the environment reads its template's filestore live (copy-on-write). Deleting the
template is refused while such environments exist, and ``save_as_template`` releases and
provisions them again on the new filestore."""
NEEDS_REMOUNT = "needs_remount"
"""Capability: the filestore is a mount a reboot loses. Docker must not restart the container by
itself; Oduflow remounts the filestore and then starts it."""


@runtime_checkable
class StorageBackend(Protocol):
    """A filestore backend, registered through ``oduflow_register_storage`` under its ``name``."""

    name: str
    capabilities: frozenset[str]
    """What the core must know about the backend (:data:`SHARES_TEMPLATE_FILESTORE`,
    :data:`NEEDS_REMOUNT`); unknown capabilities are ignored."""
    legacy_flag: str
    """A boolean ``metadata.json`` key that older templates set to pick this backend (or "")."""

    def preference(self, filestore_mb: float, config: Config) -> int:
        """How much a new template whose filestore is that large should use this backend.

        The available backend with the highest preference wins (ties: by name); 0 means never
        chosen by itself (templates can still name it in ``metadata.json``).
        """

    def available(self) -> str | None:
        """``None`` when usable here, else the reason it is not (shown to the user)."""

    def provision(self, spec: FilestoreSpec) -> None:
        """Create ``spec.merged`` with the content of ``spec.lower``."""

    def is_healthy(self, spec: FilestoreSpec) -> bool:
        """True when ``spec.merged`` is usable (for overlays: mounted and not stale)."""

    def remount(self, spec: FilestoreSpec) -> bool:
        """Repair after a reboot or a dead daemon; True when something was remounted."""

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None:
        """Drop the environment's own changes and start again from ``lower``."""

    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None:
        """Copy the merged view of the filestore to the new directory ``dest``."""

    def release(self, spec: FilestoreSpec) -> None:
        """Unmount and remove everything :meth:`provision` made. Idempotent."""


# --- routing ----------------------------------------------------------------------
@dataclass(frozen=True)
class RouteRequest:
    """What a router needs to expose one container (``owner`` is unique per team)."""

    team: TeamConfig
    owner: str
    slug: str
    container_port: int = 8069
    host: str = ""
    """A hostname asked for (an auxiliary service's); a router that routes by host may use it."""


@dataclass(frozen=True)
class Route:
    """How a container is reached: its URL plus what to add to the container."""

    url: str
    host_port: int | None = None
    ports: Mapping[str, object] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


class PortAllocator(Protocol):
    def assign(self, owner: str) -> int: ...
    def get(self, owner: str) -> int | None: ...
    def release(self, owner: str) -> None: ...


@dataclass(frozen=True)
class RoutingContext:
    """Handed to router factories: configuration, names and the team port registries."""

    config: Config
    names: Names
    ports_for: Callable[[TeamConfig], PortAllocator]
    docker: Callable[[], object]
    """Returns a docker-py ``DockerClient`` (routers that run a proxy container use it)."""
    team_network: Callable[[str], str] | None = None
    """Returns the name of a team's own network, created when missing: the team's services are
    on it alone, so a proxy that routes to them joins it."""


@runtime_checkable
class Router(Protocol):
    """Routes HTTP to environment containers, registered via ``oduflow_register_routing``."""

    name: str

    def init_infrastructure(self) -> None:
        """Create shared pieces (a proxy container...) at ``oduflow init``. Idempotent."""

    def destroy_infrastructure(self) -> None:
        """Remove what :meth:`init_infrastructure` made. Idempotent."""

    def route(self, request: RouteRequest) -> Route:
        """Allocate (or find again) the route of ``request.owner``; stable across calls."""

    def release(self, request: RouteRequest) -> None:
        """Free what :meth:`route` allocated. Idempotent."""


class RouterFactory(Protocol):
    """Builds a router (a :class:`Router` class is one): registered under its ``name``,
    which ``[routing].mode`` selects."""

    name: str

    def __call__(self, ctx: RoutingContext) -> Router: ...


# --- sanitize -------------------------------------------------------------------------
@dataclass(frozen=True)
class SanitizeContext:
    """A freshly cloned database about to be served for the first time.

    ``run_sql(name, sql)`` runs SQL in the environment database; ``run_python(name, code)``
    runs Python in a container of the environment's image with ``ODOO_DB``, ``DB_HOST``,
    ``DB_USER`` and ``DB_PASSWORD`` set. Both raise on failure.
    """

    team_id: str
    team_dir: Path
    repo_dir: Path
    db_name: str
    run_sql: Callable[[str, str], None]
    run_python: Callable[[str, str], None]
    progress: Progress = no_progress


# --- dependencies -----------------------------------------------------------------
@dataclass(frozen=True)
class DependencyContext:
    """The repository of a new environment and the image it will run."""

    repo_dir: Path
    odoo_image: str


@dataclass(frozen=True)
class DependencyStep:
    """One command run as root in the image (repository mounted at ``/mnt/repo``).

    ``inputs`` are the repository files whose content decides the step: the image
    built from the steps is cached under a hash of base image, commands and inputs.
    """

    name: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...] = ()
