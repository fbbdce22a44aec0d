"""``create_environment``: a git branch becomes a running Odoo, all or nothing.

First the image is pulled when missing and refused when it brings reserved labels along
(:mod:`oduflow.images`). Steps (each undone in reverse order when a later one fails): reserve
the name, clone the repository, prepare the image (dependencies), route (port), database role and
database (clone of the template, or empty + ``-i base``), filestore (storage backend),
``odoo.conf``, sanitisation, then one container start and the readiness check.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from typing import Any

from oduflow import docker_api, git, images
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, SanitizeContext, no_progress
from oduflow.database import Database
from oduflow.errors import (
    ConflictError,
    ExternalCommandError,
    NotFoundError,
    ValidationError,
)
from oduflow.fsutil import chown_tree, rmtree, write_private
from oduflow.locks import LockScope
from oduflow.naming import NO_TEMPLATE, branch_slug, validate_branch, validate_template_name
from oduflow.rollback import Steps
from oduflow.services import dbpool, runtime
from oduflow.services.envmodel import EnvParams, env_paths, route_request, template_filestore
from oduflow.services.templates_meta import read_metadata
from oduflow.state import EnvRecord

DEFAULT_TEMPLATE = "default"


def resolve_inputs(
    app: App, team: TeamConfig, template_name: str, repo_url: str, odoo_image: str
) -> tuple[str, str, str, str]:
    """(template, repo_url, odoo_image, storage) with template metadata as defaults."""
    template = template_name or DEFAULT_TEMPLATE
    storage = "copy"
    if template != NO_TEMPLATE:
        validate_template_name(template)
        tdir = app.team_dir(team.id) / "templates" / template
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
        storage = meta.storage_backend
    if not repo_url:
        raise ValidationError("repo_url is required (the template's metadata has none)")
    if not odoo_image:
        raise ValidationError("odoo_image is required (the template's metadata has none)")
    return template, repo_url, odoo_image, storage


def create_environment(
    app: App,
    team: TeamConfig,
    branch_name: str,
    template_name: str = "",
    repo_url: str = "",
    odoo_image: str = "",
    sanitize: bool = True,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Create the environment of ``branch_name`` and return its details once it is ready."""
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
    template, repo_url, odoo_image, storage_name = resolve_inputs(
        app, team, template_name, repo_url, odoo_image
    )
    access = git.team_access(app, team)
    git.check_repo_url(repo_url, access.policy)
    progress(f"checking image {odoo_image}")
    docker_api.ensure_image(client, odoo_image)
    images.check_image(client, odoo_image)  # before anything is made: its labels reach every container
    storage = app.hooks.storage(storage_name)
    db: Database = app.db()
    paths = env_paths(app, team, slug)
    names = app.names
    container_name = names.env_container(team.id, slug)
    db_name, role = names.env_db(team.id, slug), names.env_role(team.id, slug)
    clean_url = git.strip_credentials(repo_url)
    route_req = route_request(team, slug)

    template_lock = (
        app.locks.hold(LockScope.template(team.id, template), "create_environment", shared=True)
        if template != NO_TEMPLATE
        else contextlib.nullcontext()
    )
    with template_lock, Steps("create_environment", progress) as steps:
        steps.begin("reserve name")
        if docker_api.get_container(client, container_name) or db.exists(db_name) or paths.workspace.exists():
            raise ConflictError(
                f"leftovers of an earlier '{branch_name}' exist (container, database "
                "or workspace): run 'oduflow cleanup --force' first"
            )
        app.store.add_env(
            EnvRecord(
                team=team.id,
                branch=branch_name,
                slug=slug,
                status="creating",
                params={"template": template, "repo_url": clean_url, "odoo_image": odoo_image},
            ),
            limit=team.max_environments,
        )
        steps.undo(lambda: app.store.remove_env(team.id, branch_name))

        steps.begin("clone repository")
        paths.workspace.mkdir(parents=True)
        steps.undo(lambda: rmtree(paths.workspace))
        # git sees the clean URL only; the URL's credentials go to the team's store (0600)
        created_branch = git.clone_branch(repo_url, branch_name, paths.repo, access)

        steps.begin(f"prepare image {odoo_image}")
        docker_api.ensure_image(client, odoo_image)
        uid, gid = runtime.image_user(app, odoo_image)
        run_image = runtime.dependency_image(app, odoo_image, paths.repo, progress)

        steps.begin("allocate route")
        route = app.router.route(route_req)
        steps.undo(lambda: app.router.release(route_req))

        steps.begin("create database role")
        password = db.create_role(role)
        steps.undo(lambda: db.drop_role(role))

        if template == NO_TEMPLATE:
            steps.begin("create empty database")
            db.create_empty(db_name, owner=role)
        else:
            steps.begin(f"clone database from template '{template}'")
            if dbpool.take(app, team, template, db_name):
                # a failure drops the database: the spare is used up, so the pool is refilled
                steps.undo(lambda: dbpool.refill_later(app, team, template))
            else:
                db.clone(db_name, names.template_db(team.id, template))
        steps.undo(lambda: db.drop(db_name))
        db.hand_over(db_name, role)

        steps.begin(f"provision filestore ({storage.name})")
        fs = paths.filestore(template_filestore(app, team, template), uid, gid)
        steps.undo(lambda: storage.release(fs))
        storage.provision(fs)
        paths.sessions.mkdir()
        chown_tree(paths.sessions, uid, gid)
        chown_tree(paths.repo, uid, gid)

        steps.begin("write odoo.conf")
        text, conf_source = runtime.conf_template(app, paths.repo)
        conf = runtime.OdooConf(
            db_host=names.db_container, db_user=role, db_password=password, db_name=db_name
        )
        write_private(paths.conf, runtime.render_conf(text, conf), uid, gid)

        spec = runtime.OdooContainerSpec(
            name=container_name,
            image=run_image,
            conf_file=paths.conf,
            repo_dir=paths.repo,
            filestore_dir=fs.merged,
            sessions_dir=paths.sessions,
            db_name=db_name,
            labels=names.labels("env", team.id, env=slug, template=template, image=odoo_image)
            | {"oduflow.repo": clean_url}
            | dict(route.labels),
            ports=route.ports,
        )
        if template == NO_TEMPLATE:
            steps.begin("initialise database (odoo -i base)")
            _run_init_base(app, spec, team)
        elif sanitize:
            steps.begin("sanitize database")
            app.hooks.sanitize(
                SanitizeContext(
                    team_id=team.id,
                    team_dir=app.team_dir(team.id),
                    repo_dir=paths.repo,
                    db_name=db_name,
                    run_sql=functools.partial(_run_sql, db, db_name, role, password),
                    run_python=functools.partial(_run_python, app, spec, team, role, password),
                    progress=progress,
                )
            )

        steps.begin("start Odoo")
        container = runtime.create_container(app, spec, restart=runtime.docker_restarts(storage))
        steps.undo(lambda: docker_api.remove_container(client, container_name))
        container.start()

        steps.begin("wait until Odoo serves the database")
        runtime.wait_ready(app, container, db_name)

        params = EnvParams(
            branch=branch_name,
            slug=slug,
            template=template,
            repo_url=clean_url,
            odoo_image=odoo_image,
            run_image=run_image,
            db_name=db_name,
            db_role=role,
            db_password=password,
            storage=storage.name,
            uid=uid,
            gid=gid,
            url=route.url,
            sanitize=sanitize,
            conf_source=conf_source,
            branch_created=created_branch,
        )
        app.store.update_env(team.id, branch_name, status="ready", params=params.to_dict())
    if template != NO_TEMPLATE:
        dbpool.refill_later(app, team, template)
    return {
        "branch": branch_name,
        "url": route.url,
        "database": db_name,
        "template": template,
        "odoo_image": odoo_image,
        "image": run_image,
        "repo_url": clean_url,
        "storage": storage.name,
        "branch_created_from_default": created_branch,
        "odoo_conf": conf_source,
        "container": container_name,
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


def _job_spec(
    spec: runtime.OdooContainerSpec,
    app: App,
    team: TeamConfig,
    purpose: str,
    command: list[str],
    **changes: Any,
) -> runtime.OdooContainerSpec:
    return runtime.OdooContainerSpec(
        name=app.names.job_container(team.id, purpose),
        image=spec.image,
        conf_file=spec.conf_file,
        repo_dir=spec.repo_dir,
        filestore_dir=spec.filestore_dir,
        db_name=spec.db_name,
        sessions_dir=spec.sessions_dir,
        labels=app.names.labels("job", team.id),
        command=command,
        **changes,
    )


def _run_init_base(app: App, spec: runtime.OdooContainerSpec, team: TeamConfig) -> None:
    job = _job_spec(
        spec,
        app,
        team,
        "init-base",
        ["odoo", "-d", spec.db_name, "-i", "base", "--stop-after-init", "--no-http", "--without-demo=all"],
    )
    code, logs = runtime.run_job(app, job)
    if code != 0:
        raise ExternalCommandError(
            "odoo -i base failed",
            command="odoo -i base --stop-after-init",
            exit_code=code,
            output=logs[-6000:],
        )


def _run_sql(db: Database, db_name: str, role: str, password: str, name: str, text: str) -> None:
    import psycopg

    try:
        with db.connect(db_name, user=role, password=password) as conn:
            conn.execute(text.encode())
    except psycopg.Error as exc:
        raise ExternalCommandError(
            f"sanitize script {name} failed", command=name, output=str(exc).strip()
        ) from None


def _run_python(
    app: App,
    spec: runtime.OdooContainerSpec,
    team: TeamConfig,
    role: str,
    password: str,
    name: str,
    code_text: str,
) -> None:
    script_dir = spec.conf_file.parent / ".sanitize"
    script_dir.mkdir(exist_ok=True)
    try:
        (script_dir / "script.py").write_text(code_text, encoding="utf-8")
        (script_dir / "script.py").chmod(0o644)
        job = _job_spec(
            spec,
            app,
            team,
            "sanitize",
            ["python3", "/mnt/oduflow-sanitize/script.py"],
            extra_volumes={str(script_dir): {"bind": "/mnt/oduflow-sanitize", "mode": "ro"}},
        )
        env = {
            "ODOO_DB": spec.db_name,
            "DB_HOST": app.names.db_container,
            "DB_USER": role,
            "DB_PASSWORD": password,
            "DB_PORT": "5432",
        }
        exit_code, logs = runtime.run_job(app, job, environment=env)
    finally:
        shutil.rmtree(script_dir, ignore_errors=True)
    if exit_code != 0:
        raise ExternalCommandError(
            f"sanitize script {name} failed",
            command=f"python3 {name}",
            exit_code=exit_code,
            output=logs[-4000:],
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
    return create_environment(
        app, team, env.branch, p.template, p.repo_url, p.odoo_image, p.sanitize, progress
    )
