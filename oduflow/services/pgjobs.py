"""Dump and restore: ``pg_dump``/``pg_restore`` in throw-away containers, plain SQL from Oduflow.

The client tools match the server's version (they run in the database image). Their containers
have no network at all: they reach the server through its socket directory, mounted read-only,
as an unprivileged user with every capability dropped, ``no-new-privileges`` and a read-only
root file system; the password is in a ``.pgpass`` file (never in the command line or the
environment). A plain ``.sql`` dump never goes to psql, whose meta-commands would run a shell:
Oduflow reads it with :mod:`oduflow.sqlscript` and sends its statements itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from oduflow import docker_api
from oduflow.app import PG_SOCKET_IN_CONTAINER, App
from oduflow.errors import ExternalCommandError, ValidationError
from oduflow.sqlscript import SqlScript, Statement, read_lines

DUMP_MOUNT = "/dump"
PGPASS_IN_JOB = "/run/oduflow/pgpass"
NOBODY = (65534, 65534)
COPY_CHUNK = 1 << 20
UNSAFE_CLIENT_ENCODINGS = {"SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB"}
"""Client-only encodings whose multibyte characters may hold ASCII bytes (quotes, backslashes):
the statements of a dump in one of them could not be told apart, so such a dump is refused."""


def job_user() -> tuple[int, int]:
    """(uid, gid) the tool containers run as: nobody, or Oduflow's own user when it is not root."""
    return NOBODY if os.geteuid() == 0 else (os.getuid(), os.getgid())


def _hardening() -> dict[str, Any]:
    uid, gid = job_user()
    return {
        "user": f"{uid}:{gid}",
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": "size=64m,mode=1777"},
    }


def _give(path: Path) -> None:
    """Hand ``path`` to the job user (when Oduflow runs as root; otherwise it is ours already)."""
    if os.geteuid() == 0:
        os.chown(path, *job_user())


def _run(
    app: App,
    argv: list[str],
    mounts: dict[str, dict[str, str]],
    *,
    login: tuple[str, str] | None = None,
    timeout: int | None = None,
) -> str:
    """Run a PostgreSQL client tool as ``login`` (user, password; default: the superuser)."""
    client = app.docker()
    cfg = app.config.database
    user, password = login or (cfg.user, app.superuser_password())
    secrets_dir = Path(tempfile.mkdtemp(prefix="oduflow-pgpass-"))
    try:
        pgpass = secrets_dir / "pgpass"
        pgpass.write_text(f"*:*:*:{user}:{password}\n")
        pgpass.chmod(0o600)
        _give(pgpass)
        res = docker_api.run_to_completion(
            client,
            cfg.image,
            name=app.names.job_container("sys", argv[0].replace("_", "-")),
            labels=app.names.labels("pg-job"),
            timeout=timeout or app.config.limits.command_timeout,
            entrypoint=[argv[0]],
            command=argv[1:],
            environment={"PGPASSFILE": PGPASS_IN_JOB, "PGHOST": PG_SOCKET_IN_CONTAINER, "PGUSER": user},
            volumes={
                **mounts,
                str(app.db_socket_dir): {"bind": PG_SOCKET_IN_CONTAINER, "mode": "ro"},
                str(pgpass): {"bind": PGPASS_IN_JOB, "mode": "ro"},
            },
            **_hardening(),
        )
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)
    if res.exit_code != 0:
        raise ExternalCommandError(
            f"{argv[0]} " + ("timed out" if res.timed_out else "failed"),
            command=" ".join(argv),
            exit_code=res.exit_code,
            output=res.logs[-6000:],
        )
    return res.logs


def dump(app: App, db_name: str, dest: Path) -> None:
    """``pg_dump -Fc`` of ``db_name`` into ``dest`` (written atomically).

    The job writes into a private directory next to ``dest`` (the only one it may write to).
    """
    dest = dest.absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        _give(work)
        _run(
            app,
            ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-d", db_name, "-f", f"{DUMP_MOUNT}/dump"],
            {str(work): {"bind": DUMP_MOUNT, "mode": "rw"}},
        )
        out = work / "dump"
        if os.geteuid() == 0:
            os.chown(out, 0, 0)
        out.replace(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _readable_by_job(path: Path) -> bool:
    uid, gid = job_user()
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & 0o400)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o040)
    return bool(st.st_mode & 0o004)


def restore(app: App, db_name: str, dump_file: Path, login: tuple[str, str]) -> str:
    """Load ``dump_file`` (``.pgdump`` custom format or plain ``.sql``) into ``db_name`` as ``login``.

    ``login`` is a role that is not a superuser: a dump is content from outside (an imported
    backup, a file a team placed) and may hold ``COPY ... TO PROGRAM`` or psql meta-commands.
    Only the dump file itself is mounted, read-only, into the ``pg_restore`` job.
    """
    dump_file = dump_file.absolute()
    if dump_file.suffix == ".sql":
        return load_sql(app, db_name, dump_file, login)
    if not _readable_by_job(dump_file):
        raise ValidationError(
            f"{dump_file} is not readable by the unprivileged restore job (uid {job_user()[0]}): "
            "make it readable by others (chmod o+r)"
        )
    inside = f"{DUMP_MOUNT}/dump.pgdump"
    argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", db_name, inside]
    return _run(app, argv, {str(dump_file): {"bind": inside, "mode": "ro"}}, login=login)


# --- plain SQL ---------------------------------------------------------------------------
def load_sql(app: App, db_name: str, dump_file: Path, login: tuple[str, str]) -> str:
    """Run the statements of a plain SQL dump in ``db_name`` as ``login``, stopping at the first error.

    Refused (``ValidationError`` naming the line): psql meta-commands, unterminated quotes,
    client encodings whose bytes cannot be split safely. What a statement does is what the
    role may do: it is no superuser.
    """
    deadline = time.monotonic() + app.config.limits.command_timeout
    count = 0
    with (
        dump_file.open("rb") as stream,
        app.db().connect(db_name, user=login[0], password=login[1]) as conn,
    ):
        script = SqlScript(read_lines(stream, dump_file.name), dump_file.name)
        for statement in script.statements():
            _execute(conn, script, statement)
            count += 1
            script.std_strings = conn.info.parameter_status("standard_conforming_strings") != "off"
            encoding = (conn.info.parameter_status("client_encoding") or "").upper()
            if encoding in UNSAFE_CLIENT_ENCODINGS:
                raise script.error(statement.line, f"client encoding {encoding} is not supported in a dump")
            if time.monotonic() > deadline:
                raise ExternalCommandError(
                    f"loading {dump_file.name} timed out at line {statement.line}",
                    command=f"load {dump_file.name}",
                )
    return f"{count} statements"


def _execute(conn: psycopg.Connection, script: SqlScript, statement: Statement) -> None:
    try:
        if statement.copy_from_stdin:
            with conn.cursor().copy(statement.sql) as copy:
                for chunk in _chunks(script.copy_data()):
                    copy.write(chunk)
        else:
            conn.execute(statement.sql)
    except psycopg.Error as exc:
        first = statement.sql.strip().split(b"\n", 1)[0][:200].decode("utf-8", "replace")
        raise ExternalCommandError(
            f"{script.name} line {statement.line}: the statement failed",
            command=first,
            output=str(exc).strip()[-6000:],
        ) from None


def _chunks(lines: Iterator[bytes]) -> Iterator[bytes]:
    """``lines`` joined into pieces of about :data:`COPY_CHUNK` bytes."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= COPY_CHUNK:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)
