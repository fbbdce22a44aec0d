"""Thin adapter over psycopg 3 for the shared PostgreSQL server.

All identifiers go through ``psycopg.sql.Identifier``; values are parameters.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from oduflow.errors import ConflictError, ExternalCommandError, PrerequisiteNotMetError

CLONE_STRATEGIES = ("FILE_COPY", "WAL_LOG")
SAFE_SEARCH_PATH = "-c search_path=pg_catalog,pg_temp"
"""Session option of every superuser connection: the databases it enters belong to teams, whose
functions and operators named like built-ins (``public.format``) would otherwise run with the
superuser's rights (CVE-2018-1058). A client option outranks ``ALTER DATABASE/ROLE ... SET``."""


def new_password() -> str:
    """A random password for a database role: 40 hex digits.

    Hex, so that it never starts with ``-``: the official image's entrypoint passes it as
    ``--db_password VALUE``, and a value starting with ``-`` would be read as an option.
    """
    return secrets.token_hex(20)


@dataclass(frozen=True)
class DbEndpoint:
    host: str
    """The directory of the server's Unix socket (bind-mounted from the database container)."""
    port: int
    user: str
    password: str

    @property
    def where(self) -> str:
        """The server as error messages name it."""
        return (
            f"{self.host}/.s.PGSQL.{self.port}" if self.host.startswith("/") else f"{self.host}:{self.port}"
        )


class PasswordRejectedError(PrerequisiteNotMetError):
    """The server answered, and refused the superuser's password."""


def _password_rejected(exc: psycopg.Error) -> bool:
    return exc.sqlstate == "28P01" or "password authentication failed" in str(exc)


class Database:
    """Superuser operations on the shared server (roles, databases, templates)."""

    def __init__(self, endpoint: DbEndpoint) -> None:
        self.ep = endpoint

    @contextmanager
    def connect(
        self,
        dbname: str = "postgres",
        *,
        user: str | None = None,
        password: str | None = None,
        autocommit: bool = True,
    ) -> Iterator[psycopg.Connection]:
        try:
            conn = psycopg.connect(
                host=self.ep.host,
                port=self.ep.port,
                dbname=dbname,
                user=user or self.ep.user,
                password=password if user else self.ep.password,
                autocommit=autocommit,
                connect_timeout=10,
                options="" if user else SAFE_SEARCH_PATH,
            )
        except psycopg.OperationalError as exc:
            raise PrerequisiteNotMetError(
                f"cannot connect to PostgreSQL at {self.ep.where} database "
                f"'{dbname}': {str(exc).strip()} (ask the operator whether 'oduflow init' ran)"
            ) from None
        try:
            yield conn
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the real server (not the image's init-time one) takes the superuser.

        The official image first runs a temporary server on the socket only (``listen_addresses``
        empty) while it initialises a new volume, then restarts: that one does not count.
        ``PasswordRejectedError`` at once when the server refuses the password.
        """
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(
                    host=self.ep.host,
                    port=self.ep.port,
                    dbname="postgres",
                    user=self.ep.user,
                    password=self.ep.password,
                    connect_timeout=3,
                    options=SAFE_SEARCH_PATH,
                ) as conn:
                    row = conn.execute("SELECT pg_catalog.current_setting('listen_addresses')").fetchone()
                    if row and row[0]:
                        return
                    last = "the image's initialisation server is still running"
            except psycopg.Error as exc:
                if _password_rejected(exc):
                    raise PasswordRejectedError(
                        f"PostgreSQL at {self.ep.where} refuses the password of '{self.ep.user}'"
                    ) from None
                last = str(exc).strip()
            time.sleep(0.5)
        raise PrerequisiteNotMetError(f"PostgreSQL did not accept connections within {timeout:.0f} s: {last}")

    def query(
        self, statement: sql.Composable | str, params: Any = None, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            query = statement if isinstance(statement, sql.Composable) else sql.SQL(statement)
            cur = conn.execute(query, params)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []

    # --- databases -----------------------------------------------------------------
    def exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM pg_database WHERE datname = %s", [name]))

    def list_databases(self, prefix: str = "") -> list[str]:
        rows = self.query(
            "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
            [prefix.replace("_", r"\_") + "%"],
        )
        return [r[0] for r in rows]

    def size_bytes(self, name: str) -> int:
        return int(self.query("SELECT pg_database_size(%s)", [name])[0][0])

    def terminate(self, name: str) -> None:
        self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )

    def drop(self, name: str) -> bool:
        """Drop ``name`` (connections are closed first); False when it did not exist."""
        if not self.exists(name):
            return False
        self.query(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true").format(
                sql.Identifier(name)
            )
        )
        self.query(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        return True

    def create_empty(self, name: str, owner: str | None = None) -> None:
        stmt = sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name))
        if owner:
            stmt = stmt + sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self._create(name, stmt, "template0")

    def clone(
        self,
        name: str,
        template: str,
        owner: str | None = None,
        strategy: str = "FILE_COPY",
        *,
        file_copy_method: str = "",
    ) -> None:
        """``CREATE DATABASE name TEMPLATE template``, retrying while the template is busy.

        ``file_copy_method="clone"`` (PostgreSQL >= 18, ``FILE_COPY`` only) sets that parameter for
        the statement's session: on a reflink filesystem the files are cloned, not copied.
        """
        if strategy not in CLONE_STRATEGIES or file_copy_method not in ("", "copy", "clone"):
            raise ValueError(strategy if strategy not in CLONE_STRATEGIES else file_copy_method)
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.SQL(strategy)
        )
        if owner:
            stmt = stmt + sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        setup = (
            [sql.SQL("SET file_copy_method = {}").format(sql.SQL(file_copy_method))]
            if file_copy_method
            else []
        )
        self._create(name, stmt, template, setup=setup)

    def _create(
        self,
        name: str,
        stmt: sql.Composed,
        template: str,
        retries: int = 40,
        setup: list[sql.Composed] | None = None,
    ) -> None:
        """Run a ``CREATE DATABASE`` (after the ``setup`` statements, in the same session); while
        another session (or a concurrent ``CREATE DATABASE``) uses ``template``, PostgreSQL
        refuses: retry briefly."""
        for attempt in range(retries):
            try:
                with self.connect() as conn:
                    for statement in setup or []:
                        conn.execute(statement)
                    conn.execute(stmt)
                return
            except psycopg.errors.DuplicateDatabase:
                raise ConflictError(f"database '{name}' already exists") from None
            except psycopg.Error as exc:
                busy = "being accessed by other users" in str(exc)
                if not busy or attempt == retries - 1:
                    raise ExternalCommandError(
                        f"could not create database '{name}'",
                        command="CREATE DATABASE",
                        output=str(exc).strip(),
                    ) from None
            if template not in ("template0", "template1"):
                self.terminate(template)
            time.sleep(0.25)

    def freeze(self, name: str) -> None:
        """``VACUUM (FREEZE, ANALYZE)`` every table of ``name`` (a database about to become a template).

        Clones of an unfrozen database rewrite every page they read (PostgreSQL sets hint bits on
        first read): under reflink clones each such page becomes the clone's own copy. Frozen
        pages are read as they are, so a clone costs only what it writes. VACUUM runs each
        table's functions as the table's owner (a security-restricted operation), never as us.
        """
        with self.connect(name) as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE)")

    def set_template(self, name: str, is_template: bool) -> None:
        """Mark ``name`` as a template that accepts no connections (or undo it)."""
        self.query(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name),
                sql.SQL("true" if is_template else "false"),
                sql.SQL("false" if is_template else "true"),
            )
        )
        if is_template:
            self.terminate(name)

    # --- roles -----------------------------------------------------------------------
    def role_exists(self, role: str) -> bool:
        return bool(self.query("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]))

    def create_role(self, role: str, password: str | None = None) -> str:
        """A plain LOGIN role (never superuser, no CREATEDB/CREATEROLE); returns its password."""
        password = password or new_password()
        try:
            self.query(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    "NOREPLICATION NOBYPASSRLS PASSWORD {}"
                ).format(sql.Identifier(role), sql.Literal(password))
            )
        except psycopg.errors.DuplicateObject:
            raise ConflictError(f"database role '{role}' already exists") from None
        return password

    def login_role(self, role: str) -> str:
        """Create ``role`` (plain LOGIN, no superuser) or give it a new password; returns the password."""
        if not self.role_exists(role):
            return self.create_role(role)
        password = new_password()
        self.query(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        return password

    def lock_down(self, dbname: str) -> None:
        """Nobody but its owner (and the superuser) may connect to ``dbname``."""
        self.query(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))

    def drop_role(self, role: str) -> bool:
        if not self.role_exists(role):
            return False
        self.query(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        return True

    def hand_over(self, dbname: str, role: str) -> None:
        """Make ``role`` the owner of ``dbname`` and of every object in it; only it may connect."""
        ident = sql.Identifier(role)
        self.query(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(dbname), ident))
        self.lock_down(dbname)
        self.query(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(dbname), ident)
        )
        script = sql.SQL("""
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE pg_catalog.format('ALTER SCHEMA %I OWNER TO %I', r.nspname, {role});
  END LOOP;
  FOR r IN SELECT c.oid::regclass::text AS obj, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i')
                AND d.classid = 'pg_class'::regclass
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%'
             AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND d.objid IS NULL LOOP
    IF r.relkind = 'S' THEN
      EXECUTE pg_catalog.format('ALTER SEQUENCE %s OWNER TO %I', r.obj, {role});
    ELSIF r.relkind IN ('v') THEN
      EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %I', r.obj, {role});
    ELSIF r.relkind IN ('m') THEN
      EXECUTE pg_catalog.format('ALTER MATERIALIZED VIEW %s OWNER TO %I', r.obj, {role});
    ELSIF r.relkind IN ('f') THEN
      EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %s OWNER TO %I', r.obj, {role});
    ELSE
      EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', r.obj, {role});
    END IF;
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure::text AS obj, p.prokind FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_%' AND d.objid IS NULL LOOP
    IF r.prokind = 'a' THEN
      EXECUTE pg_catalog.format('ALTER AGGREGATE %s OWNER TO %I', r.obj, {role});
    ELSE
      EXECUTE pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', r.obj, {role});
    END IF;
  END LOOP;
END $$""").format(role=sql.Literal(role))
        self.query(script, dbname=dbname)
