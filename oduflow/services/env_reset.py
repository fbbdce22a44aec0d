"""``reset_environment`` and ``restore_snapshot``: an environment's database and filestore
replaced as a whole, all or nothing, and its container restarted on them.

Both prepare the new state while the environment still serves the old one: the new database
under the name :meth:`Names.env_next_db` (a clone of the template, a spare of the pool, or a
clone of the snapshot database) and the new filestore in ``.next-filestore``
(:mod:`oduflow.services.filestore_swap`). Then the container stops, the two databases swap
names in one transaction (``ALTER DATABASE ... RENAME`` twice: both or neither), the
filestores swap by renaming, a reset runs what a creation runs on a fresh database (the
sanitize scripts, or ``odoo -i base`` without a template) on it under its own name, and the
container starts and is waited for. A failure at any step undoes them all in reverse order: the
old database gets its name back, the old filestore its place, the container starts on them,
and the new database and directory are removed. Only after success are the previous database
(``env_prev_db``) and filestore (``.prev-filestore``) dropped.

On the reflink path (PostgreSQL >= 18, data on XFS/btrfs) no step copies data: the clone
shares the source's blocks, the renames are catalogue updates, the filestore is a reflink copy
or an overlay's empty upper layer.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from docker.models.containers import Container
from psycopg import sql

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import FilestoreSpec, Progress, Route, StorageBackend, no_progress
from oduflow.database import Database
from oduflow.errors import ConflictError, ExternalCommandError, NotFoundError, ProtectedError
from oduflow.fsutil import rmtree
from oduflow.layout import team_layout
from oduflow.locks import LockScope
from oduflow.naming import NO_TEMPLATE
from oduflow.rollback import Steps
from oduflow.services import clonestrategy, dbpool, env_jobs, env_snapshots, filestore_swap, runtime
from oduflow.services.env_snapshots import Snapshot, Stopwatch, copy_strategy
from oduflow.services.environments import STOPPED
from oduflow.services.envmodel import Env, container_spec, get_env, template_filestore

log = logging.getLogger("oduflow.reset")
RENAME_RETRIES = 20


@dataclass
class Switch:
    """A reset or a restore in progress: the environment and what the steps have made."""

    app: App
    env: Env
    steps: Steps
    container: Container
    watch: Stopwatch = field(default_factory=Stopwatch)
    was_running: bool = False
    clone_strategy: str = ""

    @property
    def db(self) -> Database:
        return self.app.db()

    @property
    def team(self) -> TeamConfig:
        return self.env.paths.team

    @property
    def next_db(self) -> str:
        return self.app.names.env_next_db(self.team.id, self.env.paths.slug)

    @property
    def prev_db(self) -> str:
        return self.app.names.env_prev_db(self.team.id, self.env.paths.slug)

    def next_filestore(self, lower: Path | None) -> FilestoreSpec:
        p = self.env.params
        return FilestoreSpec(self.env.paths.layout.next_filestore, lower, p.uid, p.gid)


Step = tuple[str, Callable[[Switch], None]]


def _switchable(app: App, team: TeamConfig, branch: str) -> tuple[Env, Container]:
    env = get_env(app, team, branch)
    if env.record.protected:
        raise ProtectedError(f"environment '{env.branch}' is protected: unprotect it first")
    container = docker_api.get_container(app.docker(), env.container_name)
    if container is None:
        raise NotFoundError(f"the container of '{env.branch}' is missing; rebuild_environment recreates it")
    return env, container


def _clear_leftovers(run: Switch) -> None:
    """Remove what a reset or restore that crashed left (the branch lock is ours)."""
    db = run.db
    if db.exists(run.prev_db) and not db.exists(run.env.params.db_name):
        raise ConflictError(
            f"the database of '{run.env.branch}' is missing and {run.prev_db} holds its previous "
            "one: ask the operator to rename it back"
        )
    db.drop(run.next_db)
    db.drop(run.prev_db)
    layout = run.env.paths.layout
    if layout.prev_filestore.exists() and not filestore_swap.entries(layout.root):
        raise ConflictError(
            f"the filestore of '{run.env.branch}' is missing and {layout.prev_filestore} holds "
            "its previous one: ask the operator to move it back"
        )
    rmtree(layout.next_filestore)
    rmtree(layout.prev_filestore)


@contextlib.contextmanager
def _switching(
    app: App, team: TeamConfig, branch: str, operation: str, progress: Progress
) -> Iterator[Switch]:
    env, container = _switchable(app, team, branch)
    with Steps(operation, progress) as steps:
        run = Switch(app, env, steps, container, was_running=container.status == "running")
        steps.begin("remove what an earlier reset or restore left")
        _clear_leftovers(run)
        yield run
    _finish(run)


# --- reset ------------------------------------------------------------------------------------
def reset_environment(
    app: App, team: TeamConfig, branch: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Put the environment's database and filestore back to its template's, as a creation makes
    them (sanitised when it was created so; ``odoo -i base`` again without a template)."""
    env = get_env(app, team, branch)
    template = env.params.template
    fresh = template in ("", NO_TEMPLATE)
    if not fresh:
        _require_template(app, team, template)
    lock = (
        contextlib.nullcontext()
        if fresh
        else app.locks.hold(LockScope.template(team.id, template), "reset_environment", shared=True)
    )
    pool_taken: list[bool] = []
    try:
        with lock, _switching(app, team, branch, "reset_environment", progress) as run:
            run.steps.begin(
                "create an empty database" if fresh else f"clone database from template '{template}'"
            )
            if fresh:
                _empty_database(run)
            else:
                _template_database(run, template, pool_taken)
            run.watch.lap("database")
            run.steps.begin("prepare the filestore")
            _prepare_filestore(run, template_filestore(app, team, template), None)
            _switch(run, _fresh_steps(fresh, env.params.sanitize))
    finally:
        if pool_taken:
            dbpool.refill_later(app, team, template)
    return {**_result(run), "template": template, "sanitized": not fresh and env.params.sanitize}


def _fresh_steps(fresh: bool, sanitize: bool) -> list[Step]:
    """What a creation runs on a new database before the first start."""
    if fresh:
        return [("initialise database (odoo -i base)", _init_base)]
    return [("sanitize database", _sanitize)] if sanitize else []


def _require_template(app: App, team: TeamConfig, template: str) -> None:
    directory = team_layout(app, team.id).template(template)
    if not directory.is_dir() or not app.db().exists(app.names.template_db(team.id, template)):
        raise NotFoundError(
            f"template '{template}' of this environment no longer exists (or is not loaded): "
            "restore a snapshot instead, or recreate the environment from another template"
        )


def _template_database(run: Switch, template: str, pool_taken: list[bool]) -> None:
    app, db, role = run.app, run.db, run.env.params.db_role
    strategy = clonestrategy.detect(app)
    if strategy.name == "pool" and dbpool.take(app, run.team, template, run.next_db):
        pool_taken.append(True)
        run.clone_strategy = "pool"
    else:
        template_db = app.names.template_db(run.team.id, template)
        db.clone(run.next_db, template_db, file_copy_method=strategy.file_copy_method)
        run.clone_strategy = copy_strategy(strategy)
    run.steps.undo(lambda: db.drop(run.next_db))
    db.hand_over(run.next_db, role)


def _empty_database(run: Switch) -> None:
    db, role = run.db, run.env.params.db_role
    db.create_empty(run.next_db, owner=role)
    run.steps.undo(lambda: db.drop(run.next_db))
    db.hand_over(run.next_db, role)


def _spec(run: Switch) -> runtime.OdooContainerSpec:
    p = run.env.params
    return container_spec(run.app, run.env.identity, p.run_image, Route(url=p.url))


def _init_base(run: Switch) -> None:
    env_jobs.init_base(run.app, _spec(run), run.team)


def _sanitize(run: Switch) -> None:
    env_jobs.sanitize(
        run.app, run.db, run.env.identity, _spec(run), run.env.params.db_password, run.steps.progress
    )


# --- restore ----------------------------------------------------------------------------------
def restore_snapshot(
    app: App, team: TeamConfig, branch: str, name: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Make the environment's database and filestore exactly snapshot ``name`` (which stays)."""
    env = get_env(app, team, branch)
    snap = env_snapshots.find(app, env, name)
    if snap.status != "ready":
        raise ConflictError(f"snapshot '{name}' was never completed: delete_snapshot removes it")
    with _switching(app, team, branch, "restore_snapshot", progress) as run:
        run.steps.begin(f"clone database from snapshot '{name}'")
        _snapshot_database(run, snap)
        run.watch.lap("database")
        run.steps.begin("prepare the filestore")
        lower = template_filestore(app, team, env.params.template)
        _prepare_filestore(run, lower, env.paths.layout.snapshot(name))
        _switch(run, [])
    return {**_result(run), "snapshot": name}


def _snapshot_database(run: Switch, snap: Snapshot) -> None:
    db, role = run.db, run.env.params.db_role
    run.steps.undo(lambda: db.drop(run.next_db))
    strategy = clonestrategy.clone_database(run.app, run.next_db, snap.database)
    run.clone_strategy = copy_strategy(strategy)
    # the objects are the role's already (a clone of its database): the database itself is given
    ident = sql.Identifier(role)
    db.query(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(run.next_db), ident))
    db.lock_down(run.next_db)
    db.query(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(run.next_db), ident)
    )


# --- the switch -------------------------------------------------------------------------------
def _prepare_filestore(run: Switch, lower: Path | None, snapshot: Path | None) -> None:
    p = run.env.params
    target = run.next_filestore(lower)
    backend = run.app.hooks.storage(p.storage) if p.storage else None
    run.steps.undo(lambda: _discard_next(backend, target))
    target.workspace.mkdir()
    if backend is None:
        target.merged.mkdir()
    else:
        filestore_swap.prepare(backend, target, snapshot)
    run.watch.lap("filestore")


def _discard_next(backend: StorageBackend | None, target: FilestoreSpec) -> None:
    if backend is not None:
        backend.release(target)
    rmtree(target.workspace)


def _switch(run: Switch, after: list[Step]) -> None:
    """Stop, swap databases and filestores, run ``after``, start and wait: each step undoable."""
    app, env, steps, container = run.app, run.env, run.steps, run.container
    steps.begin("stop Odoo")
    if run.was_running:
        container.stop(timeout=10)
        steps.undo(container.start)
    run.watch.lap("stop")
    steps.begin("swap the databases")
    db_name = env.params.db_name
    rename(run.db, [(db_name, run.prev_db), (run.next_db, db_name)])
    steps.undo(lambda: rename(run.db, [(db_name, run.next_db), (run.prev_db, db_name)]))
    steps.begin("swap the filestores")
    if env.params.storage:
        swap = filestore_swap.FilestoreSwap(
            app.hooks.storage(env.params.storage),
            env.filestore(app),
            env.paths.layout.next_filestore,
            env.paths.layout.prev_filestore,
        )
        steps.undo(swap.swap_back)
        swap.swap_in()
    run.watch.lap("swap")
    for name, action in after:
        steps.begin(name)
        action(run)
        run.watch.lap(name.split(" ", 1)[0])
    steps.begin("start Odoo")
    steps.undo(lambda: _stop(container))
    container.start()
    steps.begin("wait until Odoo serves the database")
    runtime.wait_ready(app, container, db_name)
    run.watch.lap("start")


def _stop(container: Container) -> None:
    container.reload()
    if container.status == "running":
        container.stop(timeout=10)


def rename(db: Database, pairs: list[tuple[str, str]]) -> None:
    """Rename databases ``old -> new`` in one transaction (all or none), after ending their
    sessions; retried while a session comes back."""
    statements = [
        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new))
        for old, new in pairs
    ]
    for attempt in range(RENAME_RETRIES):
        for old, _ in pairs:
            db.terminate(old)
        try:
            with db.connect() as conn, conn.transaction():
                for statement in statements:
                    conn.execute(statement)
            return
        except psycopg.errors.ObjectInUse as exc:
            if attempt == RENAME_RETRIES - 1:
                raise ConflictError(f"could not rename the databases: {str(exc).strip()}") from None
        except psycopg.Error as exc:
            raise ExternalCommandError(
                "could not rename the databases", command="ALTER DATABASE ... RENAME", output=str(exc).strip()
            ) from None
        time.sleep(0.25)


def _finish(run: Switch) -> None:
    """After success: drop the previous database and filestore, record the new state."""
    app, env = run.app, run.env
    try:
        run.db.drop(run.prev_db)
        rmtree(env.paths.layout.prev_filestore)
        rmtree(env.paths.layout.next_filestore)
    except Exception:  # the environment is switched: the next reset or a delete removes them
        log.exception("leftovers of the switch of %s not removed", env.branch)
    run.watch.lap("cleanup")
    app.store.delete(run.team.id, STOPPED, env.branch)  # it runs now
    params = {**env.params.to_dict(), "clone_strategy": run.clone_strategy}
    app.store.update_env(run.team.id, env.branch, params=params)


def _result(run: Switch) -> dict[str, Any]:
    return {
        "branch": run.env.branch,
        "status": "running",
        "url": run.env.params.url,
        "clone_strategy": run.clone_strategy,
        "seconds": run.watch.total(),
    }
