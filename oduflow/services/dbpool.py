"""A pool of spare clones per template, so that creating an environment does not copy data.

``CREATE DATABASE ... TEMPLATE`` copies every file of the template: its time grows with the
template's size. With ``[database].pool_size`` > 0, Oduflow keeps that many spare clones of
each template ready; ``create_environment`` renames one (``ALTER DATABASE ... RENAME``, instant)
and a new spare is cloned in the background afterwards. A spare remembers the OID of the
template database it was cloned from: after a reload, an edit or a save-as-template the OID
changes and older spares are dropped instead of used.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from psycopg import sql

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.database import Database
from oduflow.errors import OduflowError
from oduflow.naming import fit
from oduflow.services import clonestrategy

log = logging.getLogger("oduflow.pool")
KIND = "db_pool"
_threads: dict[tuple[str, str], threading.Thread] = {}
_guard = threading.Lock()


def _template_oid(db: Database, template_db: str) -> int | None:
    rows = db.query("SELECT oid FROM pg_database WHERE datname = %s", [template_db])
    return int(rows[0][0]) if rows else None


def spares(app: App, team: TeamConfig, template: str) -> dict[str, dict[str, Any]]:
    """The spare clones of ``template`` recorded in the state store (name -> record)."""
    return {n: r for n, r in app.store.items(team.id, KIND).items() if r.get("template") == template}


def take(app: App, team: TeamConfig, template: str, name: str) -> bool:
    """Rename a current spare of ``template`` to ``name``; False when none is ready."""
    db = app.db()
    current = _template_oid(db, app.names.template_db(team.id, template))
    for spare, _ in sorted(spares(app, team, template).items(), key=lambda kv: kv[1]["created"]):
        record = app.store.pop(team.id, KIND, spare)  # claimed: nobody else takes it
        if record is None:
            continue
        if record.get("source_oid") != current or not db.exists(spare):
            db.drop(spare)
            continue
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        db.query(rename.format(sql.Identifier(spare), sql.Identifier(name)))
        return True
    return False


def fill(app: App, team: TeamConfig, template: str) -> int:
    """Clone spares of ``template`` until ``pool_size`` current ones exist; returns how many were made."""
    size = app.config.database.pool_size
    db = app.db()
    template_db = app.names.template_db(team.id, template)
    made = 0
    while True:
        oid = _template_oid(db, template_db)
        if oid is None:
            return made
        ready = [n for n, r in spares(app, team, template).items() if r.get("source_oid") == oid]
        if len(ready) >= size:
            return made
        name = fit(f"oduflow_pool_{team.id}_{template}_{secrets.token_hex(4)}")
        db.clone(name, template_db, file_copy_method=clonestrategy.detect(app).file_copy_method)
        db.lock_down(name)  # a spare is nobody's until it is renamed and handed over
        if _template_oid(db, template_db) != oid:  # replaced while cloning: useless copy
            db.drop(name)
            continue
        app.store.put(team.id, KIND, name, {"template": template, "source_oid": oid, "created": time.time()})
        made += 1


def _pooling(app: App) -> bool:
    """True when the server's clone strategy keeps spares (``pool``, and ``reflink`` where they
    are reflink clones that cost no disk), not ``file_copy``."""
    try:
        return clonestrategy.detect(app).keeps_spares
    except OduflowError as exc:
        log.warning("clone strategy unknown, no spare cloned: %s", exc)
        return False


def refill_later(app: App, team: TeamConfig, template: str) -> threading.Thread | None:
    """Fill the pool of ``template`` in a background thread (one per template at a time).

    The thread is not a daemon: a CLI process finishes the clone before it exits.
    """
    if app.config.database.pool_size <= 0 or not _pooling(app):
        return None
    key = (team.id, template)

    def run() -> None:
        try:
            fill(app, team, template)
        except OduflowError as exc:
            log.warning("pool of template %s not refilled: %s", template, exc)

    with _guard:
        running = _threads.get(key)
        if running is not None and running.is_alive():
            return None
        thread = threading.Thread(target=run, name=f"pool-{team.id}-{template}")
        _threads[key] = thread
        thread.start()
    return thread


def wait_idle(team: TeamConfig, template: str, timeout: float = 600) -> None:
    """Wait for a running refill of ``template`` (before its template database is replaced)."""
    with _guard:
        thread = _threads.get((team.id, template))
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)


def drain(app: App, team: TeamConfig, template: str) -> list[str]:
    """Drop every spare of ``template`` (the template is being deleted)."""
    db = app.db()
    dropped = []
    for name in spares(app, team, template):
        app.store.delete(team.id, KIND, name)
        db.drop(name)
        dropped.append(name)
    return dropped
