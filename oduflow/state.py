"""The one state store: SQLite in the data directory (WAL mode, short transactions).

It holds environments (with everything needed to recreate them), port assignments
and other per-team records. Docker labels only identify resources; the store is
reconciled against Docker at start and by ``oduflow cleanup``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oduflow.errors import ConflictError

SCHEMA = """
CREATE TABLE IF NOT EXISTS environments (
    team TEXT NOT NULL,
    branch TEXT NOT NULL,
    slug TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'creating',
    protected INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    params TEXT NOT NULL,
    PRIMARY KEY (team, branch),
    UNIQUE (team, slug)
);
CREATE TABLE IF NOT EXISTS ports (
    team TEXT NOT NULL,
    owner TEXT NOT NULL,
    port INTEGER NOT NULL,
    assigned_at REAL NOT NULL,
    PRIMARY KEY (team, owner),
    UNIQUE (port)
);
CREATE TABLE IF NOT EXISTS kv (
    team TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (team, kind, name)
);
"""


SIDE_FILES = ("-wal", "-shm", "-journal")


def _private_files(path: Path) -> None:
    """Make ``path`` (created empty if missing) and its SQLite side files mode 0600.

    SQLite creates ``-wal``/``-shm``/``-journal`` with the mode of the database file, so a
    database that is 0600 before the first connection keeps every side file private too.
    """
    # O_EXCL: an existing database is never opened here, because closing any descriptor of a
    # file drops every POSIX lock this process holds on it, SQLite's included (another
    # process would then take its connections for gone and delete the WAL under them)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    if path.is_symlink():
        raise OSError(errno.ELOOP, "the state database is a symbolic link", str(path))
    for name in (path.name, *(path.name + s for s in SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path.parent / name, 0o600, follow_symlinks=False)


@dataclass(frozen=True)
class EnvRecord:
    """An environment as the store knows it; ``params`` recreate it."""

    team: str
    branch: str
    slug: str
    status: str = "creating"
    protected: bool = False
    created_at: float = field(default_factory=time.time)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StateStore:
    """Thread-safe access to ``state.db``; each call is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _private_files(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(SCHEMA)
        _private_files(path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (serialised across processes)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- environments -----------------------------------------------------------
    @staticmethod
    def _env(row: sqlite3.Row) -> EnvRecord:
        return EnvRecord(
            team=row["team"],
            branch=row["branch"],
            slug=row["slug"],
            status=row["status"],
            protected=bool(row["protected"]),
            created_at=row["created_at"],
            params=json.loads(row["params"]),
        )

    def add_env(self, rec: EnvRecord, *, limit: int = 0) -> None:
        """Insert ``rec``; :class:`ConflictError` when its team has ``limit`` environments already
        (counted in the same transaction, so parallel creations cannot pass it; 0: no limit)."""
        with self.tx() as c:
            if limit > 0:
                (count,) = c.execute("SELECT count(*) FROM environments WHERE team=?", (rec.team,)).fetchone()
                if count >= limit:
                    raise ConflictError(
                        f"team {rec.team} has {count} environments, its limit ([team.{rec.team}] "
                        f"max_environments = {limit}): delete one before creating another"
                    )
            c.execute(
                "INSERT INTO environments VALUES (?,?,?,?,?,?,?)",
                (
                    rec.team,
                    rec.branch,
                    rec.slug,
                    rec.status,
                    int(rec.protected),
                    rec.created_at,
                    json.dumps(rec.params),
                ),
            )

    def get_env(self, team: str, branch: str) -> EnvRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM environments WHERE team=? AND branch=?", (team, branch)
            ).fetchone()
        return self._env(row) if row else None

    def get_env_by_slug(self, team: str, slug: str) -> EnvRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM environments WHERE team=? AND slug=?", (team, slug)
            ).fetchone()
        return self._env(row) if row else None

    def list_envs(self, team: str | None = None) -> list[EnvRecord]:
        with self._lock:
            if team is None:
                rows = self._conn.execute("SELECT * FROM environments ORDER BY team, branch")
            else:
                rows = self._conn.execute("SELECT * FROM environments WHERE team=? ORDER BY branch", (team,))
            return [self._env(r) for r in rows.fetchall()]

    def update_env(
        self,
        team: str,
        branch: str,
        *,
        status: str | None = None,
        protected: bool | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        with self.tx() as c:
            if status is not None:
                c.execute(
                    "UPDATE environments SET status=? WHERE team=? AND branch=?", (status, team, branch)
                )
            if protected is not None:
                c.execute(
                    "UPDATE environments SET protected=? WHERE team=? AND branch=?",
                    (int(protected), team, branch),
                )
            if params is not None:
                c.execute(
                    "UPDATE environments SET params=? WHERE team=? AND branch=?",
                    (json.dumps(params), team, branch),
                )

    def remove_env(self, team: str, branch: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM environments WHERE team=? AND branch=?", (team, branch))

    # --- generic per-team records -------------------------------------------------
    def put(self, team: str, kind: str, name: str, value: Any) -> None:
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO kv VALUES (?,?,?,?)", (team, kind, name, json.dumps(value)))

    def get(self, team: str, kind: str, name: str) -> Any:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM kv WHERE team=? AND kind=? AND name=?", (team, kind, name)
            ).fetchone()
        return json.loads(row["value"]) if row else None

    def items(self, team: str, kind: str) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, value FROM kv WHERE team=? AND kind=? ORDER BY name", (team, kind)
            ).fetchall()
        return {r["name"]: json.loads(r["value"]) for r in rows}

    def pop(self, team: str, kind: str, name: str) -> Any:
        """Remove a record and return its value, atomically (None when another caller took it)."""
        with self.tx() as c:
            row = c.execute(
                "SELECT value FROM kv WHERE team=? AND kind=? AND name=?", (team, kind, name)
            ).fetchone()
            if row is None:
                return None
            c.execute("DELETE FROM kv WHERE team=? AND kind=? AND name=?", (team, kind, name))
        return json.loads(row["value"])

    def delete(self, team: str, kind: str, name: str) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM kv WHERE team=? AND kind=? AND name=?", (team, kind, name))
