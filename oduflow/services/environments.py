"""Environments: one per branch (listing, inspection and lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from docker.models.containers import Container

from oduflow import docker_api, images
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConflictError, NotFoundError, OduflowError, ProtectedError
from oduflow.fsutil import rmtree
from oduflow.services import disk, env_snapshots, extra_repos, runtime
from oduflow.services.envmodel import Env, container_spec, get_env, route_request
from oduflow.state import EnvRecord


def container_states(app: App, team: TeamConfig) -> dict[str, tuple[str, str]]:
    """Slug -> (container name, Docker status) of the team's environment containers.

    Found by their labels; a container counts only under its environment's current name or
    the name earlier versions gave it (see :func:`envmodel.container_name`).
    """
    client = app.docker()
    states: dict[str, tuple[str, str]] = {}
    for c in docker_api.list_containers(client, app.names.instance_filter(role="env", team=team.id)):
        slug = c.labels.get("oduflow.env", "")
        current = app.names.env_container(team.id, slug)
        if c.name == current or (
            c.name == app.names.legacy_env_container(team.id, slug) and slug not in states
        ):
            states[slug] = (c.name, c.status)
    return states


def summarize(app: App, rec: EnvRecord, states: dict[str, tuple[str, str]] | None) -> dict[str, Any]:
    p = rec.params
    name, state = (states or {}).get(rec.slug, (app.names.env_container(rec.team, rec.slug), "missing"))
    if states is None:
        status = "unknown"
    elif rec.status != "ready":
        status = rec.status
    else:
        status = state
    return {
        "branch": rec.branch,
        "status": status,
        "url": p.get("url", ""),
        "template": p.get("template", ""),
        "odoo_image": p.get("odoo_image", ""),
        "repo_url": p.get("repo_url", ""),
        "protected": rec.protected,
        "container": name,
    }


def list_environments(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """The team's environments with status, URL, image, template and repository."""
    records = app.store.list_envs(team.id)
    try:
        states: dict[str, tuple[str, str]] | None = container_states(app, team)
    except OduflowError:
        states = None
    return [summarize(app, rec, states) for rec in records]


# --- lifecycle ----------------------------------------------------------------------------------
def _container(app: App, env: Env) -> Container:
    c = docker_api.get_container(app.docker(), env.container_name)
    if c is None:
        raise NotFoundError(f"the container of '{env.branch}' is missing; rebuild_environment recreates it")
    return c


def ensure_filestore(app: App, env: Env) -> bool:
    """Repair the filestore (stale or missing overlay) before a start; True if remounted."""
    backend = app.hooks.storage(env.params.storage)
    spec = env.filestore(app)
    if backend.is_healthy(spec):
        return False
    return backend.remount(spec)


STOPPED = "env_stopped"
"""Store kind: environments stopped by ``stop_environment``, which the server start leaves stopped."""


def docker_restarts(app: App, env: Env) -> bool:
    """Whether Docker restarts the environment's container (:func:`runtime.docker_restarts`)."""
    storage = env.params.storage
    return runtime.docker_restarts(app, app.hooks.storage(storage) if storage else None)


def _start(app: App, env: Env, container: Container) -> None:
    app.store.delete(env.paths.team.id, STOPPED, env.branch)
    remounted = ensure_filestore(app, env)
    if remounted and container.status == "running":
        container.stop()  # a bind of a FUSE mount made before the remount shows nothing
    container.start()
    runtime.wait_ready(app, container, env.params.db_name)


def start_environment(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    """Start a stopped environment and wait until it serves its database."""
    env = get_env(app, team, branch)
    container = _container(app, env)
    if container.status == "running":
        raise ConflictError(f"environment '{branch}' is already running")
    _start(app, env, container)
    return {"branch": env.branch, "status": "running", "url": env.params.url}


def stop_environment(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    """Stop an environment, keeping its database and filestore. Refused when protected."""
    env = get_env(app, team, branch)
    if env.record.protected:
        raise ProtectedError(f"environment '{branch}' is protected: unprotect it first")
    container = _container(app, env)
    container.stop(timeout=10)
    app.store.put(team.id, STOPPED, env.branch, True)
    return {"branch": env.branch, "status": "stopped"}


def restart_environment(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    """Restart the Odoo container and wait until it serves its database again."""
    env = get_env(app, team, branch)
    container = _container(app, env)
    if container.status == "running":
        container.stop(timeout=10)
        container.reload()
    _start(app, env, container)
    return {"branch": env.branch, "status": "running", "url": env.params.url}


def rebuild_environment(
    app: App, team: TeamConfig, branch: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Recreate the container from the image (dependencies re-checked); DB and filestore kept."""
    env = get_env(app, team, branch)
    client = app.docker()
    p = env.params
    progress("checking dependencies")
    docker_api.ensure_image(client, p.odoo_image)
    images.check_image(client, p.odoo_image)  # refused while the old container still runs
    run_image = runtime.dependency_image(app, p.odoo_image, env.paths.repo, progress)
    route = app.router.route(route_request(team, env.paths.slug))
    progress("recreating container")
    docker_api.remove_container(client, env.container_name)  # under an earlier version's name maybe
    env = replace(env, container_name=app.names.env_container(team.id, env.paths.slug))
    spec = container_spec(app, env.identity, run_image, route)
    container = runtime.create_container(app, spec, restart=docker_restarts(app, env))
    _start(app, env, container)
    app.store.update_env(
        team.id, env.branch, params={**p.to_dict(), "run_image": run_image, "url": route.url}
    )
    return {"branch": env.branch, "status": "running", "url": route.url, "image": run_image}


def delete_environment(
    app: App, team: TeamConfig, branch: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Remove container, filestore, database, role, route and workspace. Refused when protected.

    Every part is attempted; if one fails the environment stays listed (status
    ``delete failed``) and the error says what is left.
    """
    env = get_env(app, team, branch)
    if env.record.protected:
        raise ProtectedError(f"environment '{branch}' is protected: unprotect it first")
    p = env.params
    failures: list[str] = []
    removed: list[str] = []

    def attempt(what: str, action: Any) -> None:
        progress(f"removing {what}")
        try:
            action()
            removed.append(what)
        except Exception as exc:  # noqa: BLE001 - try every part, report all failures
            failures.append(f"{what}: {exc}")

    client = app.docker()
    attempt("container", lambda: docker_api.remove_container(client, env.container_name))
    if p.storage:
        attempt("filestore", lambda: app.hooks.storage(p.storage).release(env.filestore(app)))
    db = app.db()
    if p.db_name and env_snapshots.owns_databases(app, team, env.paths.slug):  # before the role: its objects
        attempt("snapshots", lambda: env_snapshots.drop_all(app, team, env.paths.slug))
    if p.db_name:
        attempt("database", lambda: db.drop(p.db_name))
    if p.db_role:
        attempt("database role", lambda: db.drop_role(p.db_role))
    attempt("route", lambda: app.router.release(route_request(team, env.paths.slug)))
    if p.extra_addons:
        names = [x["name"] for x in p.extra_addons]
        layout = env.paths.layout
        attempt("extra addons worktrees", lambda: extra_repos.remove_worktrees(app, team, layout, names))
    attempt("workspace", lambda: rmtree(env.paths.workspace))
    if failures:
        app.store.update_env(team.id, env.branch, status="delete failed")
        raise OduflowError(f"delete of '{branch}' incomplete: {'; '.join(failures)}")
    app.store.remove_env(team.id, env.branch)
    app.store.delete(team.id, STOPPED, env.branch)
    return {"branch": env.branch, "deleted": removed}


def set_protected(app: App, team: TeamConfig, branch: str, protected: bool) -> dict[str, Any]:
    """Protect (or unprotect) an environment against delete and stop."""
    env = get_env(app, team, branch)
    app.store.update_env(team.id, env.branch, protected=protected)
    return {"branch": env.branch, "protected": protected}


def container_stats(container: Container) -> dict[str, Any]:
    """CPU (percent of one core times the cores) and memory of a running container; ``{}`` else."""
    if container.status != "running":
        return {}
    s = container.stats(stream=False)
    cpu = s.get("cpu_stats", {})
    pre = s.get("precpu_stats", {})
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get(
        "total_usage", 0
    )
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or 1
    mem = s.get("memory_stats", {})
    return {
        "cpu_percent": round(cpu_delta / sys_delta * ncpu * 100, 2) if sys_delta > 0 else 0.0,
        "memory_mb": round(mem.get("usage", 0) / 2**20, 1),
        "memory_limit_mb": round(mem.get("limit", 0) / 2**20, 1),
    }


def get_environment_info(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    """Everything about one environment (no secrets)."""
    env = get_env(app, team, branch)
    c = docker_api.get_container(app.docker(), env.container_name)
    info = summarize(app, env.record, {env.paths.slug: (c.name, c.status)} if c else {})
    info.update(env.params.public())
    info.update(
        {
            "workspace": str(env.paths.workspace),
            "container_status": c.status if c else "missing",
            "filestore_healthy": app.hooks.storage(env.params.storage).is_healthy(env.filestore(app))
            if env.params.storage
            else False,
            "created_at": env.record.created_at,
            "extra_addons": [
                {**x, "mount": runtime.EXTRA_ADDONS_PREFIX + x["name"]} for x in env.params.extra_addons
            ],
            "disk": disk.environment_disk(app, env),
        }
    )
    if c is not None:
        info["stats"] = container_stats(c)
    return info


@dataclass
class RestoreReport:
    """What :func:`restore_environments` did: ``team/branch`` keys, failures with their reason."""

    repaired: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def restore_environments(app: App, progress: Progress = no_progress) -> RestoreReport:
    """Server start: repair every environment's filestore (mounts do not survive a reboot),
    then start the containers Docker does not restart by itself (restart policy ``no``:
    filestores that are mounts) unless ``stop_environment`` stopped them.

    One environment that fails is reported and the others go on; a container whose filestore
    could not be repaired is not started (it would serve an empty directory).
    """
    report = RestoreReport()
    for rec in app.store.list_envs():
        team = app.config.teams.get(rec.team)
        if rec.status != "ready" or team is None:
            continue
        key = f"{rec.team}/{rec.branch}"
        try:
            _restore(app, get_env(app, team, rec.branch), key, report, progress)
        except Exception as exc:  # noqa: BLE001 - one environment must not stop the others
            report.failed[key] = str(exc) or type(exc).__name__
            progress(f"could not restore {key}: {report.failed[key]}")
    return report


def _restore(app: App, env: Env, key: str, report: RestoreReport, progress: Progress) -> None:
    container = docker_api.get_container(app.docker(), env.container_name)
    if env.params.storage and ensure_filestore(app, env):
        report.repaired.append(key)
        progress(f"remounted filestore of {key}")
        if container is not None and container.status == "running":
            container.restart(timeout=10)  # its bind showed the mount point, not the new mount
    if container is None or docker_restarts(app, env):
        return
    policy = (container.attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
    if policy.get("Name") not in (None, "", "no"):
        container.update(restart_policy={"Name": "no"})  # made by an earlier version
    container.reload()
    if container.status != "running" and app.store.get(env.paths.team.id, STOPPED, env.branch) is None:
        container.start()
        report.started.append(key)
        progress(f"started {key}")
