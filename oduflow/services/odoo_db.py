"""SQL on an environment's database, as the environment's own PostgreSQL role.

The role is a plain LOGIN role that owns its database and nothing else (no superuser, no
``CREATEDB``/``CREATEROLE``, no membership of other roles): a query cannot reach another
environment's database, run ``COPY ... TO PROGRAM`` or read server files. Every query runs with
a ``statement_timeout`` and a client-side cancel as a backstop; the rows of a query are read
through a server-side cursor, at most ``[limits].query_max_rows`` of them, so a large result
never travels to Oduflow in full.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import ExternalCommandError, PrerequisiteNotMetError, ValidationError
from oduflow.locks import LockScope
from oduflow.naming import branch_slug
from oduflow.services.envmodel import Env, get_env

MAX_QUERY_CHARS = 100_000
MAX_CELL_BYTES = 64
MODULE_STATES = ("installed", "uninstalled", "to install", "to upgrade", "to remove", "uninstallable")
_USER_ERROR_CLASSES = ("42", "22", "23", "25", "0A", "2B", "44", "P0", "3F", "3D", "40")


def json_safe(value: Any) -> Any:
    """A JSON-serialisable form of a value psycopg returned."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if decimal.Decimal(repr(as_float)) == value.normalize() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if len(data) <= MAX_CELL_BYTES:
            return "base64:" + base64.b64encode(data).decode()
        return f"<{len(data)} bytes>"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


def _sql_error(exc: psycopg.Error, timeout: int) -> Exception:
    diag = exc.diag
    state = exc.sqlstate or ""
    text = (diag.message_primary or str(exc)).strip()
    detail = " ".join(x for x in (diag.message_detail, diag.message_hint) if x)
    if _MULTIPLE in text:
        return ValidationError(_ONE_STATEMENT)
    if state == "57014":
        return ExternalCommandError(
            f"query cancelled: it ran longer than {timeout} s ([limits].query_timeout)",
            command="SQL",
            output=text,
        )
    message = f"PostgreSQL error {state}: {text}" + (f" ({detail})" if detail else "")
    if state[:2] in _USER_ERROR_CLASSES:
        return ValidationError(message)
    return ExternalCommandError(message, command="SQL")


@contextmanager
def env_connection(
    app: App, env: Env, *, autocommit: bool = True, read_only: bool = False
) -> Iterator[psycopg.Connection]:
    """A connection to the environment's database as its own role, with timeouts; with
    ``read_only`` (and not ``autocommit``) every transaction is ``READ ONLY``."""
    timeout = app.config.limits.query_timeout
    p = env.params
    with app.db().connect(p.db_name, user=p.db_role, password=p.db_password, autocommit=autocommit) as conn:
        for name in ("statement_timeout", "idle_in_transaction_session_timeout"):
            conn.execute("SELECT set_config(%s, %s, false)", [name, f"{timeout}s"])
        if not autocommit:
            conn.commit()
            conn.read_only = read_only
        timer = threading.Timer(timeout + 5, conn.cancel_safe)  # backstop if the timeout is reset
        timer.daemon = True
        timer.start()
        try:
            yield conn
        finally:
            timer.cancel()


_CURSOR = "oduflow_query"
_MULTIPLE = "cannot insert multiple commands"
_ONE_STATEMENT = "send one SQL statement per call (no ';'-separated statements)"


def _run(conn: psycopg.Connection, query: str, max_rows: int) -> dict[str, Any]:
    """Execute one statement; rows of a query are read through a server-side cursor.

    ``DECLARE .. CURSOR FOR <query>`` is accepted for SELECT/VALUES/TABLE only and fails before
    anything runs otherwise; then the statement runs on its own (in the connection's read-only
    transaction, else autocommit). Both paths use the extended protocol, so a string with
    several statements is refused.
    """
    with conn.cursor() as cur:
        try:
            cur.execute(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {query}", binary=True)
            declared = True
        except psycopg.Error as exc:
            conn.rollback()
            if _MULTIPLE in str(exc):
                raise ValidationError(_ONE_STATEMENT) from None
            declared = False
        if declared:
            rows = cur.execute(f"FETCH FORWARD {max_rows + 1} FROM {_CURSOR}").fetchall()
            columns = [c.name for c in cur.description or []]
            total: int | None = len(rows)
            if len(rows) > max_rows:
                try:  # count the rest without transferring it
                    cur.execute(f"MOVE FORWARD ALL IN {_CURSOR}")
                    total = len(rows) + max(cur.rowcount, 0)
                except psycopg.errors.QueryCanceled:
                    conn.rollback()
                    return {"columns": columns, "rows": rows, "rowcount": None, "status": "SELECT"}
            cur.execute(f"CLOSE {_CURSOR}")
            conn.commit()
            return {"columns": columns, "rows": rows, "rowcount": total, "status": f"SELECT {total}"}
        conn.autocommit = not conn.read_only
        cur.execute(query, prepare=True)
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchmany(max_rows + 1) if cur.description else []
        count = cur.rowcount if cur.rowcount >= 0 else None
        status = cur.statusmessage or ""
        if conn.read_only:
            conn.commit()
        return {"columns": columns, "rows": rows, "rowcount": count, "status": status}


WRITE_REFUSED = ("25006", "25001")
"""SQLSTATEs of a statement refused in a read-only transaction block: it writes
(``read_only_sql_transaction``) or cannot run in a transaction (``active_sql_transaction``)."""


def _attempt(app: App, env: Env, query: str, *, read_only: bool) -> dict[str, Any]:
    with env_connection(app, env, autocommit=False, read_only=read_only) as conn:
        return _run(conn, query, app.config.limits.query_max_rows)


def _execute(app: App, team: TeamConfig, branch: str, query: str) -> dict[str, Any]:
    """Run ``query`` read-only without a lock; again under the branch lock when it writes."""
    env = get_env(app, team, branch)
    try:
        try:
            return _attempt(app, env, query, read_only=True)
        except psycopg.Error as exc:
            if exc.sqlstate not in WRITE_REFUSED:
                raise
        except PrerequisiteNotMetError:
            get_env(app, team, branch)  # NotFoundError when it was deleted meanwhile (no lock held)
            raise
        with app.locks.hold(LockScope.branch(team.id, branch_slug(branch)), "run_db_query"):
            return _attempt(app, get_env(app, team, branch), query, read_only=False)
    except psycopg.Error as exc:
        raise _sql_error(exc, app.config.limits.query_timeout) from None


def run_db_query(app: App, team: TeamConfig, branch: str, query: str) -> dict[str, Any]:
    """Run one SQL statement on the environment's database and return its rows.

    Reads run in a ``READ ONLY`` transaction without the branch lock, so they are served while
    another operation works on the branch; a statement PostgreSQL refuses there runs again,
    committed, under the branch lock (:class:`BusyError` while another operation holds it).
    """
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("query is empty")
    if len(query) > MAX_QUERY_CHARS or "\0" in query:
        raise ValidationError(f"query longer than {MAX_QUERY_CHARS} characters or with a NUL byte")
    max_rows = app.config.limits.query_max_rows
    result = _execute(app, team, branch, query)
    rows = result["rows"]
    truncated = len(rows) > max_rows
    result["rows"] = [[json_safe(v) for v in row] for row in rows[:max_rows]]
    result["truncated"] = truncated
    if truncated:
        total = result["rowcount"]
        more = f"{total} rows" if total is not None and total > max_rows else f"more than {max_rows} rows"
        result["note"] = f"{more}; only the first {max_rows} returned ([limits].query_max_rows): add a LIMIT"
    return result


def list_installed_modules(
    app: App, team: TeamConfig, branch: str, name_filter: str = "", state: str = "installed"
) -> dict[str, Any]:
    """Modules of the environment's database with their state, version and title."""
    if state not in (*MODULE_STATES, "all"):
        raise ValidationError(f"state must be one of: {', '.join(MODULE_STATES)}, all")
    if len(name_filter) > 200 or "\0" in name_filter:
        raise ValidationError("name_filter too long or with a NUL byte")
    env = get_env(app, team, branch)
    like = "%" + name_filter.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    try:
        with env_connection(app, env) as conn:
            rows = conn.execute(
                "SELECT name, state, latest_version, shortdesc FROM ir_module_module "
                "WHERE name ILIKE %s AND (%s = 'all' OR state = %s) ORDER BY name",
                [like, state, state],
            ).fetchall()
    except psycopg.Error as exc:
        raise _sql_error(exc, app.config.limits.query_timeout) from None
    except PrerequisiteNotMetError:
        get_env(app, team, branch)  # NotFoundError when it was deleted meanwhile (no lock held)
        raise
    modules = [
        {"name": name, "state": st, "version": version, "title": _title(desc)}
        for name, st, version, desc in rows
    ]
    return {"state": state, "name_filter": name_filter, "count": len(modules), "modules": modules}


def _title(desc: Any) -> str:
    """``shortdesc`` is text (Odoo <= 15) or a JSONB of translations (16+)."""
    if isinstance(desc, dict):
        return str(desc.get("en_US") or next(iter(desc.values()), "") or "")
    return str(desc or "")
