"""An environment's names, paths and stored parameters, derived in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import FilestoreSpec, Route, RouteRequest
from oduflow.errors import ConflictError, NotFoundError, OduflowError
from oduflow.giturl import strip_credentials
from oduflow.layout import WorkspaceLayout, team_layout
from oduflow.naming import NO_TEMPLATE, branch_slug
from oduflow.services.runtime import EXTRA_ADDONS_PREFIX, OdooContainerSpec
from oduflow.state import EnvRecord

SECRET_PARAMS = ("db_password",)


@dataclass(frozen=True)
class EnvParams:
    """What the state store keeps for an environment (enough to recreate it)."""

    branch: str
    slug: str
    template: str
    repo_url: str
    odoo_image: str
    run_image: str
    db_name: str
    db_role: str
    db_password: str
    storage: str
    uid: int = 101
    gid: int = 101
    url: str = ""
    sanitize: bool = True
    conf_source: str = ""
    branch_created: bool = False
    extra_addons: list[dict[str, str]] = field(default_factory=list)
    """The mounted extra addons repositories: ``name``, ``branch`` and pinned ``commit`` each."""
    clone_strategy: str = ""
    """How the database was made: ``reflink``, ``pool`` (a spare renamed), ``file_copy``; "" for an
    empty database or an environment made before Oduflow recorded it."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """Parameters safe to show (no secrets)."""
        return {k: v for k, v in asdict(self).items() if k not in SECRET_PARAMS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class EnvPaths:
    """The workspace of an environment (see :class:`oduflow.layout.WorkspaceLayout`)."""

    team: TeamConfig
    slug: str
    layout: WorkspaceLayout

    @property
    def workspace(self) -> Path:
        return self.layout.root

    @property
    def repo(self) -> Path:
        return self.layout.repo

    @property
    def sessions(self) -> Path:
        return self.layout.sessions

    @property
    def conf(self) -> Path:
        return self.layout.conf

    def filestore(self, lower: Path | None, uid: int, gid: int) -> FilestoreSpec:
        return FilestoreSpec(workspace=self.workspace, lower=lower, uid=uid, gid=gid)


def env_paths(app: App, team: TeamConfig, slug: str) -> EnvPaths:
    return EnvPaths(team=team, slug=slug, layout=team_layout(app, team.id).workspace(slug))


def route_request(team: TeamConfig, slug: str) -> RouteRequest:
    return RouteRequest(team=team, owner=f"env:{slug}", slug=slug)


def template_filestore(app: App, team: TeamConfig, template: str) -> Path | None:
    """The template's filestore (the lower layer of an environment's), if it has one."""
    if template in ("", NO_TEMPLATE):
        return None
    path = team_layout(app, team.id).template_filestore(template)
    return path if path.is_dir() else None


@dataclass(frozen=True)
class EnvIdentity:
    """Who an environment is: its branch and everything named after it, derived once."""

    branch: str
    template: str
    repo_url: str
    """Without credentials."""
    odoo_image: str
    db_name: str
    db_role: str
    container_name: str
    paths: EnvPaths
    extra_addons: tuple[str, ...] = ()
    """Names of the extra addons repositories whose worktrees are mounted."""

    @property
    def team(self) -> TeamConfig:
        return self.paths.team

    @property
    def slug(self) -> str:
        return self.paths.slug

    @property
    def route(self) -> RouteRequest:
        return route_request(self.team, self.slug)

    def filestore(self, app: App, uid: int, gid: int) -> FilestoreSpec:
        return self.paths.filestore(template_filestore(app, self.team, self.template), uid, gid)


def new_identity(
    app: App,
    team: TeamConfig,
    branch: str,
    template: str,
    repo_url: str,
    odoo_image: str,
    extra_addons: tuple[str, ...] = (),
) -> EnvIdentity:
    """The identity of a new environment of ``branch`` (names of the current version)."""
    slug, names = branch_slug(branch), app.names
    return EnvIdentity(
        branch=branch,
        template=template,
        repo_url=strip_credentials(repo_url),
        odoo_image=odoo_image,
        db_name=names.env_db(team.id, slug),
        db_role=names.env_role(team.id, slug),
        container_name=names.env_container(team.id, slug),
        paths=env_paths(app, team, slug),
        extra_addons=extra_addons,
    )


def container_spec(app: App, env: EnvIdentity, run_image: str, route: Route) -> OdooContainerSpec:
    """The spec of the environment's serving container (every path that makes one uses it)."""
    labels = app.names.labels("env", env.team.id, env=env.slug, template=env.template, image=env.odoo_image)
    return OdooContainerSpec(
        name=env.container_name,
        image=run_image,
        conf_file=env.paths.conf,
        repo_dir=env.paths.repo,
        filestore_dir=env.paths.filestore(None, 0, 0).merged,
        sessions_dir=env.paths.sessions,
        db_name=env.db_name,
        labels=labels | {"oduflow.repo": env.repo_url} | dict(route.labels),
        ports=route.ports,
        team=env.team.id,
        extra_volumes=extra_volumes(env),
    )


def extra_volumes(env: EnvIdentity) -> dict[str, dict[str, str]]:
    """The read-only mounts of the environment's extra addons worktrees."""
    return {
        str(env.paths.layout.extra(name)): {"bind": EXTRA_ADDONS_PREFIX + name, "mode": "ro"}
        for name in env.extra_addons
    }


@dataclass(frozen=True)
class Env:
    """A stored environment with its derived names and paths."""

    record: EnvRecord
    params: EnvParams
    paths: EnvPaths
    container_name: str

    @property
    def branch(self) -> str:
        return self.record.branch

    @property
    def identity(self) -> EnvIdentity:
        p = self.params
        return EnvIdentity(
            branch=self.branch,
            template=p.template,
            repo_url=p.repo_url,
            odoo_image=p.odoo_image,
            db_name=p.db_name,
            db_role=p.db_role,
            container_name=self.container_name,
            paths=self.paths,
            extra_addons=tuple(x["name"] for x in p.extra_addons),
        )

    def filestore(self, app: App) -> FilestoreSpec:
        return self.identity.filestore(app, self.params.uid, self.params.gid)


def get_env(app: App, team: TeamConfig, branch: str) -> Env:
    """The environment of ``branch`` or :class:`NotFoundError`."""
    rec = app.store.get_env(team.id, branch)
    if rec is None:
        rec = app.store.get_env_by_slug(team.id, branch_slug(branch))
    if rec is None:
        raise NotFoundError(
            f"no environment for branch '{branch}' (list_environments shows "
            "the existing ones; create_environment makes one)"
        )
    if rec.status == "creating":
        raise ConflictError(
            f"the environment of '{rec.branch}' is still being created (or its creation crashed: "
            "ask the operator to run 'oduflow cleanup')"
        )
    params = EnvParams.from_dict(rec.params)
    return Env(
        record=rec,
        params=params,
        paths=env_paths(app, team, rec.slug),
        container_name=container_name(app, team.id, rec.slug),
    )


def owned_by(app: App, labels: dict[str, str], role: str, team_id: str, **extra: str) -> bool:
    """Whether ``labels`` mark a container of this instance with ``role`` of ``team_id`` (and ``extra``)."""
    wanted = app.names.labels(role, team_id, **extra)
    return all(labels.get(k) == v for k, v in wanted.items())


def container_name(app: App, team_id: str, slug: str) -> str:
    """The name of the environment's container.

    Environments made by earlier versions keep their container under the old, non-injective name
    ``{prefix}-{team}-{slug}-odoo``: it is used only when no container has the current name and
    the old one carries this team's and slug's labels (a rebuild moves it to the current name).
    """
    name = app.names.env_container(team_id, slug)
    try:
        client = app.docker()
        if docker_api.get_container(client, name) is not None:
            return name
        legacy = docker_api.get_container(client, app.names.legacy_env_container(team_id, slug))
    except OduflowError:  # Docker unreachable: the operation says so when it needs the container
        return name
    if legacy is not None and owned_by(app, legacy.labels, "env", team_id, env=slug):
        return str(legacy.name)
    return name
