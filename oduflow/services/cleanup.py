"""``oduflow cleanup``: find (dry run) and remove orphans of every kind.

An orphan is a resource of this instance that no environment in the state store owns:
containers, databases, roles, workspaces, filestore mounts, port entries, and store
records of creations that crashed, template build databases. Also what older versions left
on the engine: untagged dependency images of this instance (failed builds) and empty anonymous
volumes (containers removed without their volumes).

Nothing that a running operation may still use is touched: a resource of an environment is
removed under that environment's branch lock (the one its creation holds) after the store was
asked again, a template's build database and editor port under the template's lock (shared:
creations from the template go on). A resource whose lock is held is left for a later run.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import BusyError
from oduflow.fsutil import fuse_mounts_under, rmtree, unmount
from oduflow.layout import team_layout
from oduflow.locks import LockScope
from oduflow.services import env_snapshots
from oduflow.services.envmodel import EnvParams
from oduflow.services.templates import templates_root, work_db_template
from oduflow.state import EnvRecord

JOB_ROLES = ("job", "pg-job", "deps-build")


def _job_in_flight(container: Container, timeout: int) -> bool:
    """A one-off container younger than the command timeout that is running, or created and not
    started yet (the moment between ``docker create`` and ``start``), belongs to a live operation."""
    if container.status == "running":
        started = str(container.attrs.get("State", {}).get("StartedAt", ""))[:19]
    elif container.status == "created":
        started = str(container.attrs.get("Created", ""))[:19]
    else:
        return False
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


KINDS = (
    *("records", "containers", "images", "untagged_images", "databases", "roles", "workspaces"),
    *("mounts", "ports", "volumes"),
)
ORDER = (
    *("records", "containers", "images", "untagged_images", "mounts", "databases", "roles"),
    *("workspaces", "ports", "volumes"),
)
"""Removal order: a record before the rest of its environment, containers before their mounts."""
EDITOR = "template_editor"

Guard = tuple[str, str]
"""A lock a resource is removed under: ``("branch", slug)``, ``("template", name)`` or
``("team", service)``."""


@dataclass(frozen=True)
class Orphan:
    kind: str
    name: str
    guards: tuple[Guard, ...] = ()


def _branch(slug: str | None) -> tuple[Guard, ...]:
    return (("branch", slug),) if slug else ()


@contextmanager
def _hold(app: App, team: TeamConfig, guards: tuple[Guard, ...]) -> Iterator[None]:
    """Hold every lock of ``guards``, or :class:`BusyError` at once when an operation holds one.

    A branch is locked under the key the catalog (and so the creation) locks it under; a
    template shared: build databases exist only under its exclusive lock.
    """
    with ExitStack() as stack:
        for kind, key in guards:
            if kind == "branch":
                stack.enter_context(app.locks.hold(LockScope.branch(team.id, key), "cleanup"))
            elif kind == "team":  # a service's port: create/update/delete_service hold the team lock
                stack.enter_context(app.locks.hold(LockScope.team(team.id), "cleanup"))
            else:
                stack.enter_context(app.locks.hold(LockScope.template(team.id, key), "cleanup", shared=True))
        yield


def _idle(app: App, team: TeamConfig, guards: tuple[Guard, ...]) -> bool:
    try:
        with _hold(app, team, guards):
            return True
    except BusyError:
        return False


def _slug_of(name: str, start: str, make: Callable[[str, str], str], team_id: str) -> str | None:
    """The slug whose ``make`` name ``name`` is (None when shortened: the slug is not in it)."""
    slug = name.removeprefix(start)
    return slug if slug != name and make(team_id, slug) == name else None


def _env_resources(app: App, team: TeamConfig) -> list[Orphan]:
    """Every environment resource of ``team`` (owned or not), with the branch lock guarding it."""
    names, tid = app.names, team.id
    found = []
    for c in docker_api.list_containers(app.docker(), names.instance_filter(team=tid)):
        role = c.labels.get("oduflow.role", "")
        if role == "env":
            found.append(Orphan("containers", c.name, _branch(c.labels.get("oduflow.env"))))
        elif role in JOB_ROLES and not _job_in_flight(c, app.config.limits.command_timeout):
            found.append(Orphan("containers", c.name))
    db = app.db()
    for d in db.list_databases(f"oduflow_{tid}_"):
        found.append(Orphan("databases", d, _branch(_slug_of(d, f"oduflow_{tid}_", names.env_db, tid))))
    pattern = f"oduflow\\_u\\_{tid}\\_%"
    for (role,) in db.query("SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY 1", [pattern]):
        found.append(Orphan("roles", role, _branch(_slug_of(role, f"oduflow_u_{tid}_", names.env_role, tid))))
    ws_root = team_layout(app, tid).workspaces
    if ws_root.is_dir():
        found += [
            Orphan("workspaces", p.name, _branch(p.name)) for p in sorted(ws_root.iterdir()) if p.is_dir()
        ]
    found += [
        Orphan("mounts", str(m), _branch(_workspace_of(m, ws_root))) for m in fuse_mounts_under(ws_root)
    ]
    for owner in app.ports(team).all():
        kind, _, key = owner.partition(":")
        guards = {"env": _branch(key), "template": (("template", key),), "service": (("team", key),)}.get(
            kind, ()
        )
        found.append(Orphan("ports", owner, guards))
    return found


def _workspace_of(mount: Path, ws_root: Path) -> str:
    """The workspace a mount is in (``<slug>/filestore``, ``<slug>/.next-filestore/filestore``)."""
    try:
        return mount.relative_to(ws_root.resolve()).parts[0]
    except (ValueError, IndexError):
        return mount.parent.name


def _owned(app: App, team: TeamConfig, envs: list[EnvRecord]) -> set[tuple[str, str]]:
    """(kind, name) of what the records ``envs``, the pool and the template editors own."""
    tid, names = team.id, app.names
    owned = {("ports", f"template:{t}") for t in app.store.items(tid, EDITOR)}
    services = docker_api.list_containers(app.docker(), names.instance_filter(role="service", team=tid))
    owned |= {("ports", f"service:{c.labels.get('oduflow.service')}") for c in services}
    owned |= {("databases", d) for d in app.store.items(tid, "db_pool")}
    for r in envs:
        owned |= {("workspaces", r.slug), ("ports", f"env:{r.slug}")}
        owned |= {("databases", names.env_db(tid, r.slug)), ("roles", names.env_role(tid, r.slug))}
        if r.status != "creating":
            p = EnvParams.from_dict(r.params)
            owned |= {("databases", p.db_name), ("roles", p.db_role)}
    return owned


def _is_owned(item: Orphan, owned: set[tuple[str, str]], slugs: set[str]) -> bool:
    if (item.kind, item.name) in owned:
        return True
    return any(kind == "branch" and key in slugs for kind, key in item.guards)  # containers, mounts


def _real_templates(app: App, team: TeamConfig) -> set[str]:
    root = templates_root(app, team)
    return (
        {app.names.template_db(team.id, p.name) for p in root.iterdir() if p.is_dir()}
        if root.is_dir()
        else set()
    )


def _work_databases(app: App, team: TeamConfig) -> list[Orphan]:
    """Template build/old databases left by crashes, each guarded by its template's lock.

    An old database is listed only while the template's own database exists (else it may be
    the only copy). Build databases of earlier versions (``{template_db}__build``) are listed
    too, guarded by the template they were built for and the template of that very name, and
    never when that template exists (``x__build`` may be a template of its own).
    """
    db, tid = app.db(), team.id
    found = []
    for d in db.list_databases(f"oduflow.build_{tid}_") + db.list_databases(f"oduflow.old_{tid}_"):
        template = work_db_template(app, team, d)
        if template is None:
            continue  # a name this version does not make: left alone
        if d.startswith("oduflow.old_") and not db.exists(app.names.template_db(tid, template)):
            continue
        found.append(Orphan("databases", d, (("template", template),)))
    start, real = f"oduflow_template_{tid}_", _real_templates(app, team)
    for d in db.list_databases(start):
        if d.endswith("__build") and d not in real:
            guards = (("template", d[len(start) : -len("__build")]), ("template", d[len(start) :]))
            found.append(Orphan("databases", d, guards))
    return found


def _dependency_images(app: App) -> list[str]:
    """Dependency images no environment runs (they are shared by all teams)."""
    used = {EnvParams.from_dict(r.params).run_image for r in app.store.list_envs() if "run_image" in r.params}
    return sorted(
        tag
        for image in app.docker().images.list(filters={"label": f"oduflow.instance={app.names.prefix}"})
        if image.labels.get("oduflow.role") == "deps-image"
        for tag in image.tags
        if tag not in used
    )


def _orphans(app: App, team: TeamConfig) -> list[Orphan]:
    """Orphans of ``team`` with the locks that guard them (nothing is changed)."""
    stale = [
        Orphan("records", r.branch, _branch(r.slug))
        for r in app.store.list_envs(team.id)
        if r.status == "creating" and _idle(app, team, _branch(r.slug))  # a creation that crashed
    ]
    resources = _env_resources(app, team)
    resources += [Orphan("databases", d) for d in app.db().list_databases(f"oduflow_pool_{team.id}_")]
    resources += [Orphan("databases", d, _branch(slug)) for d, slug in env_snapshots.databases(app, team)]
    # asked after the listing: a creation that made a resource meanwhile has its record by now
    gone = {o.name for o in stale}
    live = [r for r in app.store.list_envs(team.id) if r.branch not in gone]
    owned, slugs = _owned(app, team, live), {r.slug for r in live}
    orphans = stale + [o for o in resources if not _is_owned(o, owned, slugs)]
    orphans += [o for o in _work_databases(app, team) if _idle(app, team, o.guards)]
    orphans += [Orphan("images", tag) for tag in _dependency_images(app)]
    orphans += [Orphan("untagged_images", i) for i in leftover_images(app)]
    return orphans + [Orphan("volumes", v) for v in leftover_volumes(app)]


def _by_kind(orphans: list[Orphan]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for o in orphans:
        out[o.kind].append(o.name)
    return out


def find_orphans(app: App, team: TeamConfig) -> dict[str, list[str]]:
    """Orphans of ``team`` by kind (nothing is changed)."""
    return _by_kind(_orphans(app, team))


def _still_orphan(app: App, team: TeamConfig, item: Orphan) -> bool:
    """Asked again under the item's locks: does nothing own it now?"""
    if item.kind == "records":
        rec = app.store.get_env(team.id, item.name)
        return rec is not None and rec.status == "creating"
    if item.kind == "databases" and item.name in _real_templates(app, team):
        return False
    live = app.store.list_envs(team.id)  # a stale record of the group is removed by now
    return not _is_owned(item, _owned(app, team, live), {r.slug for r in live})


def _removers(app: App, team: TeamConfig) -> dict[str, Callable[[str], object]]:
    client, db = app.docker(), app.db()
    layout = team_layout(app, team.id)
    return {
        "records": lambda branch: app.store.remove_env(team.id, branch),
        "containers": lambda name: docker_api.remove_container(client, name),
        "images": lambda tag: client.images.remove(tag, force=True),
        "untagged_images": lambda image_id: docker_api.remove_image(client, image_id),
        "mounts": lambda mount: unmount(Path(mount)),
        "databases": db.drop,
        "roles": db.drop_role,
        "workspaces": lambda name: rmtree(layout.workspaces / name),
        "ports": app.ports(team).release,
        "volumes": lambda volume: docker_api.remove_volume(client, volume),
    }


def _groups(orphans: list[Orphan]) -> dict[tuple[Guard, ...], list[Orphan]]:
    """Orphans by the locks they need, each group in removal order (records first)."""
    groups: dict[tuple[Guard, ...], list[Orphan]] = {}
    for o in sorted(orphans, key=lambda o: ORDER.index(o.kind)):
        groups.setdefault(o.guards, []).append(o)
    return groups


def _remove(app: App, team: TeamConfig, items: list[Orphan], errors: list[str]) -> int:
    """Remove ``items`` (their locks are held) that are still orphans; how many were removed."""
    removers, removed = _removers(app, team), 0
    for item in items:
        if not _still_orphan(app, team, item):
            continue
        try:
            removers[item.kind](item.name)
        except docker.errors.APIError as exc:  # e.g. a volume taken into use since
            errors.append(f"{item.kind} {item.name}: {exc.explanation}")
        except Exception as exc:  # noqa: BLE001 - report and go on
            errors.append(f"{item.kind} {item.name}: {exc}")
        else:
            removed += 1
    return removed


def cleanup(app: App, team: TeamConfig, force: bool = False) -> dict[str, Any]:
    """Report orphans; with ``force`` remove them too (what a running operation holds stays)."""
    orphans = _orphans(app, team)
    result: dict[str, Any] = {"team": team.id, "dry_run": not force, "orphans": _by_kind(orphans)}
    if not force:
        return result
    errors: list[str] = []
    busy: list[str] = []
    removed = 0
    for guards, items in _groups(orphans).items():
        try:
            with _hold(app, team, guards):
                removed += _remove(app, team, items, errors)
        except BusyError:  # an operation started since: its resources are not orphans
            busy += [f"{o.kind} {o.name}" for o in items]
    result["removed"] = removed
    env_snapshots.forget_stale(app, team)  # records of snapshots whose environment and database are gone
    if busy:
        result["busy"] = busy
    if errors:
        result["errors"] = errors
    return result
