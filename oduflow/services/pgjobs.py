"""Dump and restore with PostgreSQL's own tools, in throw-away containers of the database image.

The client tools match the server's version; they reach ``oduflow-db`` over the Docker
network with a ``.pgpass`` file (never a password in the command line or environment).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from oduflow import docker_api
from oduflow.app import App
from oduflow.errors import ExternalCommandError

DUMP_MOUNT = "/dump"


def _run(
    app: App,
    argv: list[str],
    directory: Path,
    *,
    login: tuple[str, str] | None = None,
    timeout: int | None = None,
) -> str:
    """Run a PostgreSQL client tool as ``login`` (user, password; default: the superuser)."""
    client = app.docker()
    cfg = app.config.database
    user, password = login or (cfg.user, cfg.password)
    secrets_dir = Path(tempfile.mkdtemp(prefix="oduflow-pgpass-"))
    try:
        pgpass = secrets_dir / "pgpass"
        pgpass.write_text(f"{app.names.db_container}:5432:*:{user}:{password}\n")
        pgpass.chmod(0o600)
        res = docker_api.run_to_completion(
            client,
            cfg.image,
            name=app.names.job_container("sys", argv[0].replace("_", "-")),
            labels=app.names.labels("pg-job"),
            timeout=timeout or app.config.limits.command_timeout,
            entrypoint=[argv[0]],
            command=argv[1:],
            user="root",
            environment={
                "PGPASSFILE": "/run/oduflow/pgpass",
                "PGHOST": app.names.db_container,
                "PGUSER": user,
            },
            volumes={
                str(directory): {"bind": DUMP_MOUNT, "mode": "rw"},
                str(secrets_dir): {"bind": "/run/oduflow", "mode": "ro"},
            },
            network=app.names.network,
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
    """``pg_dump -Fc`` of ``db_name`` into ``dest`` (written atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_name = f".{dest.name}.partial"
    try:
        _run(
            app,
            [
                "pg_dump",
                "-Fc",
                "--no-owner",
                "--no-privileges",
                "-d",
                db_name,
                "-f",
                f"{DUMP_MOUNT}/{tmp_name}",
            ],
            dest.parent,
        )
        (dest.parent / tmp_name).replace(dest)
    finally:
        (dest.parent / tmp_name).unlink(missing_ok=True)


def restore(app: App, db_name: str, dump_file: Path, login: tuple[str, str]) -> str:
    """Load ``dump_file`` (``.pgdump`` custom format or plain ``.sql``) into ``db_name`` as ``login``.

    ``login`` is a role that is not a superuser: a dump is content from outside (an imported
    backup, a file a team placed) and may hold ``COPY ... TO PROGRAM`` or psql meta-commands.
    """
    inside = f"{DUMP_MOUNT}/{dump_file.name}"
    if dump_file.suffix == ".sql":
        argv = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_name, "-f", inside]
    else:
        argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", db_name, inside]
    return _run(app, argv, dump_file.parent, login=login)
