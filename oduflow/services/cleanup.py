"""``oduflow cleanup``: find (dry run) and remove orphans of every kind.

An orphan is a resource of this instance that no environment in the state store owns:
containers, databases, roles, workspaces, filestore mounts, port entries, and store
records of creations that crashed. Also what older versions left on the engine: untagged
dependency images of this instance (failed builds) and empty anonymous volumes (containers
removed without their volumes).
"""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import BusyError
from oduflow.fsutil import fuse_mounts_under, rmtree, unmount
from oduflow.locks import LockScope
from oduflow.services.envmodel import EnvParams

JOB_ROLES = ("job", "pg-job", "deps-build")


def _job_in_flight(container: Container, timeout: int) -> bool:
    """A running one-off container younger than the command timeout belongs to a live operation."""
    if container.status != "running":
        return False
    started = str(container.attrs.get("State", {}).get("StartedAt", ""))[:19]
    try:
        age = time.time() - calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return False
    return age < timeout


def leftover_images(app: App) -> list[str]:
    """Ids of this instance's untagged dependency images (failed builds of older versions)."""
    return docker_api.untagged_images(app.docker(), app.names.labels("deps-image"))


def leftover_volumes(app: App) -> list[str]:
    """Anonymous volumes that removed containers left: dangling, unlabelled, 64-hex names, no file.

    They cannot be traced to an instance, but hold no data: removing them loses nothing. Named
    volumes, labelled ones and volumes holding any file are never listed. Looked at in a
    container of the database image; when that image is missing nothing is listed.
    """
    client = app.docker()
    candidates = docker_api.dangling_anonymous_volumes(client)
    if not candidates:
        return []
    image = app.config.database.image
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return []
    return docker_api.empty_volumes(
        client,
        candidates,
        image=image,
        name=app.names.job_container("sys", "volume-probe"),
        labels=app.names.labels("job"),
    )


def find_orphans(app: App, team: TeamConfig) -> dict[str, list[str]]:
    """Orphans of ``team`` by kind (nothing is changed)."""
    envs = app.store.list_envs(team.id)
    stale = []
    for rec in envs:
        if rec.status == "creating":
            try:
                with app.locks.hold(LockScope.branch(team.id, rec.branch), "cleanup"):
                    stale.append(rec.branch)
            except BusyError:
                pass  # a creation is running right now
    live = [r for r in envs if r.branch not in stale]
    slugs = {r.slug for r in live}
    params = [EnvParams.from_dict(r.params) for r in live if r.status != "creating"]
    client = app.docker()
    containers = []
    for c in client.containers.list(all=True, filters=app.names.instance_filter(team=team.id)):
        role = c.labels.get("oduflow.role", "")
        if (role == "env" and c.labels.get("oduflow.env") not in slugs) or (
            role in JOB_ROLES and not _job_in_flight(c, app.config.limits.command_timeout)
        ):
            containers.append(c.name)
    db = app.db()
    prefix = f"oduflow_{team.id}_"
    known_dbs = {p.db_name for p in params} | {app.names.env_db(team.id, r.slug) for r in live}
    databases = [d for d in db.list_databases(prefix) if d not in known_dbs]
    databases += [d for d in db.list_databases(f"oduflow_template_{team.id}_") if d.endswith("__build")]
    pooled = set(app.store.items(team.id, "db_pool"))
    databases += [d for d in db.list_databases(f"oduflow_pool_{team.id}_") if d not in pooled]
    known_roles = {p.db_role for p in params} | {app.names.env_role(team.id, r.slug) for r in live}
    roles = [
        r[0]
        for r in db.query(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY 1", [f"oduflow\\_u\\_{team.id}\\_%"]
        )
        if r[0] not in known_roles
    ]
    ws_root = app.team_dir(team.id) / "workspaces"
    workspaces = (
        sorted(p.name for p in ws_root.iterdir() if p.is_dir() and p.name not in slugs)
        if ws_root.is_dir()
        else []
    )
    mounts = [str(m) for m in fuse_mounts_under(ws_root) if m.parent.name not in slugs]
    editors = set(app.store.items(team.id, "template_editor"))
    ports = [
        owner
        for owner in app.ports(team).all()
        if not (
            (owner.startswith("env:") and owner[4:] in slugs)
            or (owner.startswith("template:") and owner[9:] in editors)
        )
    ]
    # dependency images are shared by all teams: orphans when no environment runs them
    used = {EnvParams.from_dict(r.params).run_image for r in app.store.list_envs() if "run_image" in r.params}
    images = sorted(
        tag
        for image in client.images.list(filters={"label": f"oduflow.instance={app.names.prefix}"})
        if image.labels.get("oduflow.role") == "deps-image"
        for tag in image.tags
        if tag not in used
    )
    return {
        "records": stale,
        "containers": containers,
        "images": images,
        "untagged_images": leftover_images(app),
        "databases": databases,
        "roles": roles,
        "workspaces": workspaces,
        "mounts": mounts,
        "ports": ports,
        "volumes": leftover_volumes(app),
    }


def cleanup(app: App, team: TeamConfig, force: bool = False) -> dict[str, Any]:
    """Report orphans; with ``force`` remove them too."""
    orphans = find_orphans(app, team)
    result: dict[str, Any] = {"team": team.id, "dry_run": not force, "orphans": orphans}
    if not force:
        return result
    client = app.docker()
    db = app.db()
    errors = []
    for branch in orphans["records"]:
        app.store.remove_env(team.id, branch)
    for name in orphans["containers"]:
        docker_api.remove_container(client, name)
    for tag in orphans["images"]:
        client.images.remove(tag, force=True)
    for image_id in orphans["untagged_images"]:
        docker_api.remove_image(client, image_id)
    for mount in orphans["mounts"]:
        unmount(Path(mount))
    for name in orphans["databases"]:
        db.drop(name)
    for role in orphans["roles"]:
        try:
            db.drop_role(role)
        except Exception as exc:  # noqa: BLE001 - report and go on
            errors.append(f"role {role}: {exc}")
    ws_root = app.team_dir(team.id) / "workspaces"
    for name in orphans["workspaces"]:
        rmtree(ws_root / name)
    registry = app.ports(team)
    for owner in orphans["ports"]:
        registry.release(owner)
    for volume in orphans["volumes"]:
        try:
            docker_api.remove_volume(client, volume)
        except docker.errors.APIError as exc:  # taken into use since: report and go on
            errors.append(f"volume {volume}: {exc.explanation}")
    result["removed"] = sum(len(v) for v in orphans.values())
    if errors:
        result["errors"] = errors
    return result
