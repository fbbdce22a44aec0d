"""``create_environment``: a git branch becomes a running Odoo, all or nothing.

:func:`make_plan` checks the request and derives the environment's identity once (a frozen
:class:`CreatePlan`; the image is pulled when missing and refused when it brings reserved
labels along, see :mod:`oduflow.images`). :func:`step_list` turns the plan into named steps,
run through :class:`oduflow.rollback.Steps` (each registers its undo, undone in reverse order
when a later one fails): reserve the name, clone the repository, the extra addons worktrees
(when asked for, :mod:`oduflow.services.extra_repos`), prepare the image
(dependencies), route (port), database role and database (clone of the template, or empty +
``-i base``), filestore (storage backend), ``odoo.conf``, sanitisation, then one container
start and the readiness check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from docker.models.containers import Container

from oduflow import docker_api, git, images
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import FilestoreSpec, Progress, Route, StorageBackend, no_progress
from oduflow.database import Database
from oduflow.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from oduflow.fsutil import chown_tree, rmtree, write_private
from oduflow.layout import team_layout
from oduflow.locks import LockScope
from oduflow.naming import NO_TEMPLATE, branch_slug, validate_branch, validate_template_name
from oduflow.rollback import Steps
from oduflow.services import clonestrategy, dbpool, env_jobs, extra_repos, runtime
from oduflow.services.envmodel import EnvIdentity, EnvParams, container_spec, new_identity
from oduflow.services.templates_meta import read_metadata
from oduflow.state import EnvRecord

DEFAULT_TEMPLATE = "default"


def resolve_inputs(
    app: App, team: TeamConfig, template_name: str, repo_url: str, odoo_image: str
) -> tuple[str, str, str, str, dict[str, str]]:
    """(template, repo_url, odoo_image, storage, extra_addons) with template metadata as defaults
    (``extra_addons``: the template's, used when the call names none)."""
    template = template_name or DEFAULT_TEMPLATE
    storage = ""  # no template: the backend preferred for an empty filestore (below)
    extra: dict[str, str] = {}
    if template != NO_TEMPLATE:
        validate_template_name(template)
        tdir = team_layout(app, team.id).template(template)
        db_name = app.names.template_db(team.id, template)
        if not tdir.is_dir() or not app.db().exists(db_name):
            state = "is not loaded (oduflow reload-template)" if tdir.is_dir() else "does not exist"
            raise NotFoundError(
                f"template '{template}' {state}; list_templates shows the "
                "templates, or use template_name='none' for a fresh database"
            )
        meta = read_metadata(tdir)
        repo_url = repo_url or meta.repo_url
        odoo_image = odoo_image or meta.odoo_image
        storage = app.hooks.template_storage(meta.storage, meta.extra, app.config)
        extra = dict(meta.extra_addons)
    storage = storage or app.hooks.preferred_storage(0.0, app.config)
    if not repo_url:
        raise ValidationError("repo_url is required (the template's metadata has none)")
    if not odoo_image:
        raise ValidationError("odoo_image is required (the template's metadata has none)")
    return template, repo_url, odoo_image, storage, extra


@dataclass(frozen=True)
class CreatePlan:
    """What :func:`create_environment` makes, decided before anything is made."""

    env: EnvIdentity
    repo_url: str
    """As given (credentials included: they go to the team's store, never to git's config)."""
    storage: StorageBackend
    access: git.GitAccess
    sanitize: bool
    extra_addons: tuple[extra_repos.WorktreeRequest, ...] = ()
    """The extra addons repositories to mount, each resolved to its branch's commit."""

    @property
    def fresh(self) -> bool:
        """No template: an empty database initialised with ``-i base``."""
        return self.env.template == NO_TEMPLATE


@dataclass
class Creation:
    """A creation in progress: its plan and what the steps have made so far."""

    app: App
    db: Database
    plan: CreatePlan
    steps: Steps
    progress: Progress
    branch_created: bool = False
    uid: int = 101
    gid: int = 101
    run_image: str = ""
    route: Route = field(default_factory=lambda: Route(url=""))
    password: str = ""
    conf_source: str = ""
    container: Container | None = None
    clone_strategy: str = ""

    @property
    def filestore(self) -> FilestoreSpec:
        return self.plan.env.filestore(self.app, self.uid, self.gid)

    def spec(self) -> runtime.OdooContainerSpec:
        return container_spec(self.app, self.plan.env, self.run_image, self.route)


def create_environment(
    app: App,
    team: TeamConfig,
    branch_name: str,
    template_name: str = "",
    repo_url: str = "",
    odoo_image: str = "",
    sanitize: bool = True,
    progress: Progress = no_progress,
    extra_addons: str | Mapping[str, str] = "",
    extra_addons_branch: str = "",
) -> dict[str, Any]:
    """Create the environment of ``branch_name`` and return its details once it is ready.

    ``extra_addons``: ``"enterprise,themes:main"`` or ``{"enterprise": "17.0"}``; a name without
    a branch takes ``extra_addons_branch`` (else the repository's default branch).
    """
    plan = make_plan(
        app, team, branch_name, template_name, repo_url, odoo_image, sanitize, progress,
        extra=extra_addons, extra_branch=extra_addons_branch,
    )  # fmt: skip
    template, db = plan.env.template, app.db()
    template_lock = (
        app.locks.hold(LockScope.template(team.id, template), "create_environment", shared=True)
        if not plan.fresh
        else contextlib.nullcontext()
    )
    with template_lock, Steps("create_environment", progress) as steps:
        run = Creation(app, db, plan, steps, progress)
        for name, action in step_list(plan):
            steps.begin(name)
            action(run)
        app.store.update_env(team.id, branch_name, status="ready", params=_params(run).to_dict())
    if not plan.fresh:
        dbpool.refill_later(app, team, template)
    return _result(run)


def make_plan(
    app: App,
    team: TeamConfig,
    branch_name: str,
    template_name: str,
    repo_url: str,
    odoo_image: str,
    sanitize: bool,
    progress: Progress,
    *,
    extra: str | Mapping[str, str] = "",
    extra_branch: str = "",
) -> CreatePlan:
    """Check the request and derive the environment's identity (nothing is made yet).

    The image is pulled when missing and refused when it brings reserved labels along.
    """
    validate_branch(branch_name)
    slug = branch_slug(branch_name)
    if app.store.get_env(team.id, branch_name) is not None:
        raise ConflictError(f"an environment for branch '{branch_name}' already exists")
    other = app.store.get_env_by_slug(team.id, slug)
    if other is not None:
        raise ConflictError(
            f"branch '{branch_name}' maps to the same name as existing branch "
            f"'{other.branch}' ({slug}); delete that environment or use another name"
        )
    check_quota(app, team)
    client = app.docker()
    template, repo_url, odoo_image, storage_name, meta_extra = resolve_inputs(
        app, team, template_name, repo_url, odoo_image
    )
    worktrees = extra_repos.resolve(app, team, extra_repos.parse_request(extra or meta_extra, extra_branch))
    access = git.team_access(app, team)
    git.check_repo_url(repo_url, access.policy)
    progress(f"checking image {odoo_image}")
    docker_api.ensure_image(client, odoo_image)
    images.check_image(client, odoo_image)  # before anything is made: its labels reach every container
    return CreatePlan(
        env=new_identity(
            app, team, branch_name, template, repo_url, odoo_image, tuple(w.name for w in worktrees)
        ),
        repo_url=repo_url,
        storage=app.hooks.storage(storage_name),
        access=access,
        sanitize=sanitize,
        extra_addons=worktrees,
    )


Step = tuple[str, Callable[[Creation], None]]


def step_list(plan: CreatePlan) -> list[Step]:
    """The named steps of ``plan`` in order; each registers its own undo."""
    env = plan.env
    database: Step = (
        ("create empty database", _create_empty_database)
        if plan.fresh
        else (f"clone database from template '{env.template}'", _clone_database)
    )
    steps: list[Step] = [
        ("reserve name", _reserve_name),
        ("clone repository", _clone_repository),
        *([("extra addons worktrees", _add_worktrees)] if plan.extra_addons else []),
        (f"prepare image {env.odoo_image}", _prepare_image),
        ("allocate route", _allocate_route),
        ("create database role", _create_role),
        database,
        (f"provision filestore ({plan.storage.name})", _provision_filestore),
        ("write odoo.conf", _write_conf),
    ]
    if plan.fresh:
        steps.append(("initialise database (odoo -i base)", _init_base))
    elif plan.sanitize:
        steps.append(("sanitize database", _sanitize))
    steps += [("start Odoo", _start), ("wait until Odoo serves the database", _wait_ready)]
    return steps


def _reserve_name(run: Creation) -> None:
    app, env = run.app, run.plan.env
    if (
        docker_api.get_container(app.docker(), env.container_name)
        or run.db.exists(env.db_name)
        or env.paths.workspace.exists()
    ):
        raise ConflictError(
            f"leftovers of an earlier '{env.branch}' exist (container, database "
            "or workspace): ask the operator to run 'oduflow cleanup --force'"
        )
    params = {
        "template": env.template,
        "repo_url": env.repo_url,
        "odoo_image": env.odoo_image,
        "extra_addons": [w.to_dict() for w in run.plan.extra_addons],  # users of the repositories
    }
    app.store.add_env(
        EnvRecord(team=env.team.id, branch=env.branch, slug=env.slug, status="creating", params=params),
        limit=env.team.max_environments,
    )
    run.steps.undo(lambda: app.store.remove_env(env.team.id, env.branch))


def _clone_repository(run: Creation) -> None:
    paths = run.plan.env.paths
    paths.workspace.mkdir(parents=True)
    run.steps.undo(lambda: rmtree(paths.workspace))
    # git sees the clean URL only; the URL's credentials go to the team's store (0600)
    run.branch_created = git.clone_branch(run.plan.repo_url, run.plan.env.branch, paths.repo, run.plan.access)


def _add_worktrees(run: Creation) -> None:
    app, env = run.app, run.plan.env
    layout = env.paths.layout
    names = [w.name for w in run.plan.extra_addons]
    run.steps.undo(lambda: extra_repos.remove_worktrees(app, env.team, layout, names))
    for request in run.plan.extra_addons:
        extra_repos.add_worktree(app, env.team, layout, request)


def _prepare_image(run: Creation) -> None:
    image = run.plan.env.odoo_image
    docker_api.ensure_image(run.app.docker(), image)
    run.uid, run.gid = runtime.image_user(run.app, image)
    run.run_image = runtime.dependency_image(run.app, image, run.plan.env.paths.repo, run.progress)


def _allocate_route(run: Creation) -> None:
    request = run.plan.env.route
    run.route = run.app.router.route(request)
    run.steps.undo(lambda: run.app.router.release(request))


def _create_role(run: Creation) -> None:
    db, role = run.db, run.plan.env.db_role
    run.password = db.create_role(role)
    run.steps.undo(lambda: db.drop_role(role))


def _create_empty_database(run: Creation) -> None:
    db, env = run.db, run.plan.env
    db.create_empty(env.db_name, owner=env.db_role)
    run.steps.undo(lambda: db.drop(env.db_name))
    db.hand_over(env.db_name, env.db_role)


def _clone_database(run: Creation) -> None:
    app, db, env = run.app, run.db, run.plan.env
    strategy = clonestrategy.detect(app)
    run.clone_strategy = strategy.name
    if strategy.keeps_spares and dbpool.take(app, env.team, env.template, env.db_name):
        # a failure drops the database: the spare is used up, so the pool is refilled
        run.steps.undo(lambda: dbpool.refill_later(app, env.team, env.template))
    else:
        if strategy.name == "pool":
            run.clone_strategy = "file_copy"  # no spare was ready: this one is a full copy
        template_db = app.names.template_db(env.team.id, env.template)
        db.clone(env.db_name, template_db, file_copy_method=strategy.file_copy_method)
    run.steps.undo(lambda: db.drop(env.db_name))
    db.hand_over(env.db_name, env.db_role)


def _provision_filestore(run: Creation) -> None:
    storage, paths, fs = run.plan.storage, run.plan.env.paths, run.filestore
    run.steps.undo(lambda: storage.release(fs))
    storage.provision(fs)
    paths.sessions.mkdir()
    chown_tree(paths.sessions, run.uid, run.gid)
    chown_tree(paths.repo, run.uid, run.gid)
    for name in run.plan.env.extra_addons:  # read-only in the container, readable by its user
        chown_tree(paths.layout.extra(name), run.uid, run.gid)


def _write_conf(run: Creation) -> None:
    app, env = run.app, run.plan.env
    text, run.conf_source = runtime.conf_template(app, env.paths.repo)
    conf = runtime.OdooConf(
        db_host=app.names.db_container, db_user=env.db_role, db_password=run.password, db_name=env.db_name
    )
    extra = [runtime.EXTRA_ADDONS_PREFIX + name for name in env.extra_addons]
    write_private(env.paths.conf, runtime.render_conf(text, conf, extra_paths=extra), run.uid, run.gid)


def _init_base(run: Creation) -> None:
    env_jobs.init_base(run.app, run.spec(), run.plan.env.team)


def _sanitize(run: Creation) -> None:
    env_jobs.sanitize(run.app, run.db, run.plan.env, run.spec(), run.password, run.progress)


def _start(run: Creation) -> None:
    app, name = run.app, run.plan.env.container_name
    run.container = runtime.create_container(
        app, run.spec(), restart=runtime.docker_restarts(app, run.plan.storage)
    )
    run.steps.undo(lambda: docker_api.remove_container(app.docker(), name))
    run.container.start()


def _wait_ready(run: Creation) -> None:
    assert run.container is not None  # made by the step before
    runtime.wait_ready(run.app, run.container, run.plan.env.db_name)


def _params(run: Creation) -> EnvParams:
    env = run.plan.env
    return EnvParams(
        branch=env.branch,
        slug=env.slug,
        template=env.template,
        repo_url=env.repo_url,
        odoo_image=env.odoo_image,
        run_image=run.run_image,
        db_name=env.db_name,
        db_role=env.db_role,
        db_password=run.password,
        storage=run.plan.storage.name,
        uid=run.uid,
        gid=run.gid,
        url=run.route.url,
        sanitize=run.plan.sanitize,
        conf_source=run.conf_source,
        branch_created=run.branch_created,
        extra_addons=[w.to_dict() for w in run.plan.extra_addons],
        clone_strategy=run.clone_strategy,
    )


def _result(run: Creation) -> dict[str, Any]:
    env = run.plan.env
    return {
        "branch": env.branch,
        "url": run.route.url,
        "database": env.db_name,
        "template": env.template,
        "odoo_image": env.odoo_image,
        "image": run.run_image,
        "repo_url": env.repo_url,
        "storage": run.plan.storage.name,
        "branch_created_from_default": run.branch_created,
        "odoo_conf": run.conf_source,
        "container": env.container_name,
        "extra_addons": [w.to_dict() for w in run.plan.extra_addons],
        "clone_strategy": run.clone_strategy,
        "status": "running",
    }


def check_quota(app: App, team: TeamConfig) -> None:
    """:class:`ConflictError` when the team has ``max_environments`` environments already."""
    limit = team.max_environments
    count = len(app.store.list_envs(team.id))
    if limit > 0 and count >= limit:
        raise ConflictError(
            f"team {team.id} has {count} environments, its limit ([team.{team.id}] "
            f"max_environments = {limit}): delete one before creating another"
        )


def recreate_environment(
    app: App, team: TeamConfig, branch_name: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Delete the environment and create it again with the same parameters (a clean slate)."""
    from oduflow.services.environments import delete_environment
    from oduflow.services.envmodel import get_env

    env = get_env(app, team, branch_name)
    p = env.params
    docker_api.ensure_image(app.docker(), p.odoo_image)
    images.check_image(app.docker(), p.odoo_image)  # refused before the environment is deleted
    delete_environment(app, team, env.branch, progress)
    extra = {x["name"]: x["branch"] for x in p.extra_addons}  # each branch's head of now
    return create_environment(
        app, team, env.branch, p.template, p.repo_url, p.odoo_image, p.sanitize, progress, extra_addons=extra
    )
