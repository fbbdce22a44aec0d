"""Snapshots of an environment: its database and filestore saved under a name, to restore later.

A snapshot is a database cloned from the environment's (:func:`clonestrategy.clone_database`:
a reflink clone on PostgreSQL >= 18 with its data on XFS/btrfs, a full copy elsewhere) plus a
copy of the filestore's merged view in the workspace's ``snapshots/<name>/`` (extents cloned
where the filesystem can). The snapshot database is the superuser's, with no ``CONNECT`` for
anyone (``lock_down``) and ``ALLOW_CONNECTIONS false``: neither the environment's role nor any
other team can reach it, only ``CREATE DATABASE ... TEMPLATE`` reads it.

``CREATE DATABASE ... TEMPLATE`` needs a source without sessions. The environment keeps
running: its database refuses new connections and its sessions are ended while the database
and the filestore are copied (:func:`sessions_paused`), then accepts them again. Odoo's pool
drops the dead connections and opens new ones (``ConnectionPool.borrow`` resets each one it
reuses); a request made during the pause fails. Nothing commits while the copies run, so the
database and the filestore are taken at the same moment. Stopping the container instead would
cost an Odoo start (seconds) for an operation that is otherwise instant on the reflink path.

Records live in the state store (kind :data:`KIND`, one per snapshot, named ``slug/name``),
tied to the environment's creation time: an environment made again under the same branch does
not inherit the snapshots of the one before. Restoring is :mod:`oduflow.services.env_reset`'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from psycopg import sql

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.database import Database
from oduflow.errors import ConflictError, NotFoundError, OduflowError
from oduflow.fsutil import rmtree
from oduflow.naming import NEXT_DB, PREV_DB, SNAPSHOT_DB, validate_name
from oduflow.rollback import Steps
from oduflow.services import clonestrategy
from oduflow.services.envmodel import Env, get_env

KIND = "env_snapshot"
MAX_SNAPSHOTS = 10
"""Snapshots one environment may keep: each costs a full copy where the server cannot reflink."""


@dataclass(frozen=True)
class Snapshot:
    """A snapshot as the state store keeps it."""

    branch: str
    slug: str
    name: str
    database: str
    env_created_at: float
    """The creation time of the environment it belongs to."""
    status: str = "creating"
    """``creating`` until both copies are made (a crash leaves it so: delete_snapshot removes it)."""
    created_at: float = 0.0
    template: str = ""
    clone_strategy: str = ""

    @property
    def key(self) -> str:
        return f"{self.slug}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def public(self) -> dict[str, Any]:
        """What ``list_snapshots`` shows."""
        return {
            "snapshot": self.name,
            "status": self.status,
            "created_at": self.created_at,
            "template": self.template,
            "clone_strategy": self.clone_strategy,
        }


def _all(app: App, team_id: str) -> list[Snapshot]:
    return [Snapshot.from_dict(v) for v in app.store.items(team_id, KIND).values()]


def snapshots_of(app: App, env: Env) -> list[Snapshot]:
    """The snapshots of ``env`` (this very environment, not an earlier one of its branch), oldest first."""
    mine = [
        s
        for s in _all(app, env.paths.team.id)
        if s.slug == env.paths.slug and s.env_created_at == env.record.created_at
    ]
    return sorted(mine, key=lambda s: s.created_at)


def find(app: App, env: Env, name: str) -> Snapshot:
    """Snapshot ``name`` of ``env``, or :class:`NotFoundError` naming the ones there are."""
    validate_name("snapshot", name)
    found = {s.name: s for s in snapshots_of(app, env)}
    if name not in found:
        names = ", ".join(sorted(found)) or "none"
        raise NotFoundError(
            f"environment '{env.branch}' has no snapshot '{name}' (its snapshots: {names}; "
            "list_snapshots lists them)"
        )
    return found[name]


def _set_allow_connections(db: Database, name: str, allow: bool) -> None:
    db.query(
        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
            sql.Identifier(name), sql.SQL("true" if allow else "false")
        )
    )


@contextmanager
def sessions_paused(db: Database, name: str) -> Iterator[None]:
    """No session in database ``name`` while the block runs: new connections are refused and
    the current ones ended; connections are allowed again afterwards, whatever happened."""
    _set_allow_connections(db, name, False)
    try:
        db.terminate(name)
        yield
    finally:
        _set_allow_connections(db, name, True)


def seal(db: Database, name: str) -> None:
    """Nobody may connect to database ``name`` (not even its owner): it is only cloned from."""
    db.lock_down(name)
    _set_allow_connections(db, name, False)


def _discard(app: App, snap: Snapshot, env: Env) -> None:
    """Remove what snapshot ``snap`` of ``env`` made (its database, its files, its record)."""
    app.db().drop(snap.database)
    rmtree(env.paths.layout.snapshot(snap.name))
    app.store.delete(env.paths.team.id, KIND, snap.key)


def _check_room(app: App, env: Env, name: str) -> None:
    """Refuse a taken name or one snapshot too many; a ``creating`` leftover of ``name`` goes."""
    existing = {s.name: s for s in snapshots_of(app, env)}
    old = existing.get(name)
    if old is not None and old.status == "ready":
        raise ConflictError(
            f"environment '{env.branch}' already has a snapshot '{name}': restore_snapshot restores "
            "it, delete_snapshot deletes it, or choose another name"
        )
    if old is not None:  # a snapshot that crashed while being made (the branch lock is ours)
        _discard(app, old, env)
    if len([s for s in existing.values() if s.status == "ready"]) >= MAX_SNAPSHOTS:
        raise ConflictError(
            f"environment '{env.branch}' has {MAX_SNAPSHOTS} snapshots, the limit: delete_snapshot "
            "one (list_snapshots lists them) before taking another"
        )


class Stopwatch:
    """Seconds per part of an operation (``lap``) and in all (``total``)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.seconds: dict[str, float] = {}

    def lap(self, part: str) -> None:
        now = time.monotonic()
        self.seconds[part] = round(self.seconds.get(part, 0.0) + now - self.last, 3)
        self.last = now

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.monotonic() - self.start, 3)}


def snapshot_environment(
    app: App, team: TeamConfig, branch: str, name: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Save the environment's database and filestore as snapshot ``name``; all or nothing."""
    validate_name("snapshot", name)
    env = get_env(app, team, branch)
    _check_room(app, env, name)
    snap = Snapshot(
        branch=env.branch,
        slug=env.paths.slug,
        name=name,
        database=app.names.env_snapshot_db(team.id, env.paths.slug, name),
        env_created_at=env.record.created_at,
        created_at=time.time(),
        template=env.params.template,
    )
    watch = Stopwatch()
    with Steps("snapshot_environment", progress) as steps:
        steps.begin("record the snapshot")
        app.db().drop(snap.database)  # a leftover of an earlier environment of this branch
        rmtree(env.paths.layout.snapshot(name))
        app.store.put(team.id, KIND, snap.key, snap.to_dict())
        steps.undo(lambda: app.store.delete(team.id, KIND, snap.key))
        snap = _copy(app, env, snap, steps, watch)
        app.store.put(team.id, KIND, snap.key, snap.to_dict())
    count = len(snapshots_of(app, env))
    return {"branch": env.branch, **snap.public(), "seconds": watch.total(), "snapshots": count,
            "limit": MAX_SNAPSHOTS}  # fmt: skip


def _copy(app: App, env: Env, snap: Snapshot, steps: Steps, watch: Stopwatch) -> Snapshot:
    """Clone the database and copy the filestore while the database has no session."""
    db, p = app.db(), env.params
    dest = env.paths.layout.snapshot(snap.name)
    backend = app.hooks.storage(p.storage) if p.storage else None
    spec = env.filestore(app)
    if backend is not None and not backend.is_healthy(spec):
        backend.remount(spec)  # the copy must see the filestore, not an empty mount point
    steps.begin("pause the database's sessions")
    with sessions_paused(db, p.db_name):
        steps.begin("clone the database")
        steps.undo(lambda: db.drop(snap.database))
        strategy = clonestrategy.clone_database(app, snap.database, p.db_name)
        seal(db, snap.database)
        watch.lap("database")
        steps.begin("copy the filestore")
        dest.parent.mkdir(exist_ok=True)
        steps.undo(lambda: rmtree(dest))
        if backend is not None:
            backend.snapshot(spec, dest)
        else:
            dest.mkdir()
        watch.lap("filestore")
    return replace(snap, status="ready", clone_strategy=copy_strategy(strategy))


def copy_strategy(strategy: clonestrategy.CloneStrategy) -> str:
    """How a database was copied by :func:`clonestrategy.clone_database` (it never takes a spare)."""
    return "reflink" if strategy.name == "reflink" else "file_copy"


def list_snapshots(app: App, team: TeamConfig, branch: str) -> list[dict[str, Any]]:
    """The snapshots of the environment of ``branch``, oldest first."""
    return [s.public() for s in snapshots_of(app, get_env(app, team, branch))]


def delete_snapshot(app: App, team: TeamConfig, branch: str, name: str) -> dict[str, Any]:
    """Delete snapshot ``name``: its database and its filestore copy."""
    env = get_env(app, team, branch)
    _discard(app, find(app, env, name), env)
    return {"branch": env.branch, "snapshot": name, "deleted": True, "snapshots": len(snapshots_of(app, env))}


# --- the environment's end, cleanup ---------------------------------------------------------
def drop_all(app: App, team: TeamConfig, slug: str) -> list[str]:
    """Drop every snapshot of the environments of ``slug`` and its reset/restore leftovers
    (``delete_environment``, before the role: it owns objects in them). The filestore copies go
    with the workspace. Returns the databases dropped."""
    db, dropped = app.db(), []
    for snap in _all(app, team.id):
        if snap.slug == slug:
            if db.drop(snap.database):
                dropped.append(snap.database)
            app.store.delete(team.id, KIND, snap.key)
    for name in (app.names.env_next_db(team.id, slug), app.names.env_prev_db(team.id, slug)):
        if db.drop(name):
            dropped.append(name)
    return dropped


def owns_databases(app: App, team: TeamConfig, slug: str) -> bool:
    """Whether environments of ``slug`` left databases :func:`drop_all` drops (True when the
    server cannot be asked: the drop then says why)."""
    if any(s.slug == slug for s in _all(app, team.id)):
        return True
    try:
        db = app.db()
        return any(
            db.exists(n) for n in (app.names.env_next_db(team.id, slug), app.names.env_prev_db(team.id, slug))
        )
    except OduflowError:
        return True


def _slug_in(app: App, team_id: str, name: str, start: str) -> str | None:
    """The slug a database of kind ``start`` was named after (None when shortened)."""
    rest = name.removeprefix(f"{start}{team_id}_")
    if rest == name or "." in rest:
        return None
    slug = rest.split("_", 1)[0]
    if start == SNAPSHOT_DB:
        return slug if app.names.env_snapshot_db(team_id, slug, rest[len(slug) + 1 :]) == name else None
    return slug


def databases(app: App, team: TeamConfig) -> list[tuple[str, str | None]]:
    """(name, slug) of every snapshot database and reset/restore leftover of ``team``; the slug is
    the environment's whose branch lock guards it (None: unknown, no live environment has it)."""
    tid, names, db = team.id, app.names, app.db()
    known = {s.database: s.slug for s in _all(app, tid)}
    for rec in app.store.list_envs(tid):
        known[names.env_next_db(tid, rec.slug)] = rec.slug
        known[names.env_prev_db(tid, rec.slug)] = rec.slug
    found = []
    for start in (SNAPSHOT_DB, NEXT_DB, PREV_DB):
        for name in db.list_databases(f"{start}{tid}_"):
            found.append((name, known.get(name) or _slug_in(app, tid, name, start)))
    return found


def forget_stale(app: App, team: TeamConfig) -> list[str]:
    """Forget the records of snapshots whose environment is gone and whose database is too."""
    live = {(r.slug, r.created_at) for r in app.store.list_envs(team.id)}
    db, forgotten = app.db(), []
    for snap in _all(app, team.id):
        if (snap.slug, snap.env_created_at) not in live and not db.exists(snap.database):
            app.store.delete(team.id, KIND, snap.key)
            forgotten.append(snap.key)
    return forgotten
