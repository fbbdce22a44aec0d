"""Environments: one per branch (listing, inspection and lifecycle)."""

from __future__ import annotations

from typing import Any

from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, Route, no_progress
from oduflow.errors import ConflictError, NotFoundError, OduflowError, ProtectedError
from oduflow.fsutil import rmtree
from oduflow.services import runtime
from oduflow.services.envmodel import Env, get_env, route_request
from oduflow.state import EnvRecord


def container_states(app: App, team: TeamConfig) -> dict[str, str]:
    """Container name -> Docker status for the team's environment containers."""
    client = app.docker()
    return {
        c.name: c.status
        for c in client.containers.list(all=True, filters=app.names.instance_filter(role="env", team=team.id))
    }


def summarize(app: App, rec: EnvRecord, states: dict[str, str] | None) -> dict[str, Any]:
    p = rec.params
    name = app.names.env_container(rec.team, rec.slug)
    if states is None:
        status = "unknown"
    elif rec.status != "ready":
        status = rec.status
    else:
        status = states.get(name, "missing")
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
        states: dict[str, str] | None = container_states(app, team)
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


def _start(app: App, env: Env, container: Container) -> None:
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
    run_image = runtime.dependency_image(app, p.odoo_image, env.paths.repo, progress)
    route = app.router.route(route_request(team, env.paths.slug))
    progress("recreating container")
    docker_api.remove_container(client, env.container_name)
    spec = container_spec(app, env, run_image, route)
    container = runtime.create_container(app, spec)
    _start(app, env, container)
    app.store.update_env(
        team.id, env.branch, params={**p.to_dict(), "run_image": run_image, "url": route.url}
    )
    return {"branch": env.branch, "status": "running", "url": route.url, "image": run_image}


def container_spec(app: App, env: Env, run_image: str, route: Route) -> runtime.OdooContainerSpec:
    p = env.params
    names = app.names
    team = env.paths.team
    return runtime.OdooContainerSpec(
        name=env.container_name,
        image=run_image,
        conf_file=env.paths.conf,
        repo_dir=env.paths.repo,
        filestore_dir=env.filestore(app).merged,
        sessions_dir=env.paths.sessions,
        db_name=p.db_name,
        labels=names.labels("env", team.id, env=env.paths.slug, template=p.template, image=p.odoo_image)
        | {"oduflow.repo": p.repo_url}
        | dict(route.labels),
        ports=route.ports,
    )


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
    if p.db_name:
        attempt("database", lambda: db.drop(p.db_name))
    if p.db_role:
        attempt("database role", lambda: db.drop_role(p.db_role))
    attempt("route", lambda: app.router.release(route_request(team, env.paths.slug)))
    attempt("workspace", lambda: rmtree(env.paths.workspace))
    if failures:
        app.store.update_env(team.id, env.branch, status="delete failed")
        raise OduflowError(f"delete of '{branch}' incomplete: {'; '.join(failures)}")
    app.store.remove_env(team.id, env.branch)
    return {"branch": env.branch, "deleted": removed}


def set_protected(app: App, team: TeamConfig, branch: str, protected: bool) -> dict[str, Any]:
    """Protect (or unprotect) an environment against delete and stop."""
    env = get_env(app, team, branch)
    app.store.update_env(team.id, env.branch, protected=protected)
    return {"branch": env.branch, "protected": protected}


def _stats(container: Container) -> dict[str, Any]:
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
    info = summarize(app, env.record, {c.name: c.status} if c else {})
    info.update(env.params.public())
    info.update(
        {
            "workspace": str(env.paths.workspace),
            "container_status": c.status if c else "missing",
            "filestore_healthy": app.hooks.storage(env.params.storage).is_healthy(env.filestore(app))
            if env.params.storage
            else False,
            "created_at": env.record.created_at,
        }
    )
    if c is not None:
        info["stats"] = _stats(c)
    return info


def remount_all(app: App, progress: Progress = no_progress) -> list[str]:
    """Repair the filestores of every environment (server start: mounts do not survive reboots)."""
    repaired = []
    for rec in app.store.list_envs():
        if rec.status != "ready":
            continue
        team = app.config.teams.get(rec.team)
        if team is None:
            continue
        env = get_env(app, team, rec.branch)
        if not env.params.storage:
            continue
        if ensure_filestore(app, env):
            c = docker_api.get_container(app.docker(), env.container_name)
            if c is not None and c.status == "running":
                c.restart(timeout=10)
            repaired.append(f"{rec.team}/{rec.branch}")
            progress(f"remounted filestore of {rec.team}/{rec.branch}")
    return repaired
