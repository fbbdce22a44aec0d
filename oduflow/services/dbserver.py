"""The shared PostgreSQL server: its superuser password, client authentication and container.

What ``oduflow init`` makes, in ``<data_dir>/postgres`` (mode 0700):

- ``superuser.password`` (0600): a random password, when ``[database].password`` is empty;
- ``postgresql.conf`` and ``pg_hba.conf``: the server's configuration, the second rendered from
  the ``pg_hba.conf`` template (the superuser refused over the network);
- ``run/``: the container's ``/var/run/postgresql``, the socket Oduflow administers through;
- ``data/``: the server's data directory, when it is kept on the host (``[database].data_in_data_dir``,
  or the managed copy-on-write filesystem of :mod:`cowfs`) instead of the Docker volume
  ``{prefix}-db-data``; it is then on the data directory's filesystem (reflink clones on XFS).

Every directory of the container is a ``Mount`` (``docker run --mount``), never a plain bind: a
missing source makes the start fail, where a bind would create it. So after a reboot, until the
managed filesystem is mounted again, Docker cannot start PostgreSQL on the bare mount point
(and ``initdb`` an empty cluster there).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import docker.errors
from docker.types import Mount
from psycopg import sql

from oduflow import docker_api
from oduflow.app import PG_SOCKET_IN_CONTAINER, UNIX_SOCKET_PATH_MAX, App, mount_sources
from oduflow.contracts import Progress
from oduflow.database import Database, PasswordRejectedError
from oduflow.errors import OduflowError, PrerequisiteNotMetError
from oduflow.fsutil import private_dir
from oduflow.services import cowfs

if TYPE_CHECKING:
    from docker.models.containers import Container

    from oduflow.services.system import Report

PG_CONF_IN_CONTAINER = "/etc/postgresql/postgresql.conf"
HBA_IN_CONTAINER = "/etc/postgresql/pg_hba.conf"
PGDATA_IN_CONTAINER = "/var/lib/postgresql/data"
"""The data directory inside the container, passed as ``PGDATA``: the official images up to 17
use it, 18 moved its default to ``/var/lib/postgresql/18/docker``."""
LEGACY_PASSWORD = "odoo"
"""The fixed superuser password of Oduflow versions before the random one: ``init`` replaces it."""
SUPERUSER_PLACEHOLDER = "{{superuser}}"


def ensure_password_file(app: App, report: Report) -> None:
    """Write a random superuser password (0600) unless the operator set ``[database].password``."""
    path = app.superuser_password_file
    private_dir(path.parent)
    if app.config.database.password:
        return
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        path.chmod(0o600)
        report.existing.append(str(path))
        return
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    report.created.append(str(path))


def render_hba(app: App) -> str:
    """``pg_hba.conf`` (the config directory's copy, else the bundled one) for this superuser."""
    template = app.config_file("pg_hba.conf").read_text(encoding="utf-8")
    return template.replace(SUPERUSER_PLACEHOLDER, f'"{app.config.database.user}"')


def _write_in_place(path: Path, text: str) -> bool:
    """Write ``text`` into ``path`` keeping its inode (a bind mount follows the inode); True if changed."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    with path.open("w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o644)
    return True


def data_on_host(app: App) -> bool:
    """Whether the server's data directory is :func:`host_data_path` rather than the Docker volume."""
    return app.config.database.data_in_data_dir or cowfs.managed(app.config) is not None


def host_data_path(app: App) -> Path:
    """``<data_dir>/postgres/data``: the server's data directory in :func:`data_on_host` mode."""
    return app.db_dir / "data"


def _data_mount_is_current(app: App, container: Container) -> bool:
    """The container's data directory is where this configuration keeps it (volume or host)."""
    for m in container.attrs.get("Mounts") or []:
        if m.get("Destination") == PGDATA_IN_CONTAINER:
            if data_on_host(app):
                return bool(m.get("Type") == "bind" and m.get("Source") == str(host_data_path(app)))
            return bool(m.get("Type") == "volume" and m.get("Name") == app.names.db_volume)
    return False


def _is_current(app: App, container: Container) -> bool:
    """The container shares its socket directory, reads Oduflow's pg_hba.conf, publishes no port
    and keeps its data where the configuration says."""
    mounts = mount_sources(container)
    host_config = container.attrs.get("HostConfig") or {}
    return (
        mounts.get(PG_SOCKET_IN_CONTAINER) == str(app.db_socket_dir)
        and mounts.get(HBA_IN_CONTAINER) == str(app.db_dir / "pg_hba.conf")
        and not host_config.get("PortBindings")
        and _data_mount_is_current(app, container)
    )


def _holds_data(path: Path) -> bool:
    """``path`` is a directory with anything in it (or one that cannot be read: it may)."""
    try:
        with os.scandir(path) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True


def _check_data_place(app: App) -> None:
    """Refuse to start a server whose databases are in the other place (the volume while the
    configuration keeps them on the host, or the reverse): it would start an empty cluster."""
    host_dir, volume = host_data_path(app), app.names.db_volume
    volume_exists = _volume_exists(app)
    if data_on_host(app) and volume_exists and not _holds_data(host_dir):
        raise PrerequisiteNotMetError(
            f"the data volume {volume} holds this server's databases, but [database].data_in_data_dir "
            f"or [storage].cow_image_size_gb keep them in {host_dir}: Oduflow does not move them. "
            "Set those keys back, or start a new instance (another data_dir and name_prefix)"
        )
    if not data_on_host(app) and _holds_data(host_dir):
        raise PrerequisiteNotMetError(
            f"{host_dir} holds this server's databases ([database].data_in_data_dir or "
            "[storage].cow_image_size_gb was on): set it again; Oduflow does not move them to the "
            f"volume {volume}"
        )


def _data_place(app: App) -> str:
    """How messages name where the databases are."""
    if data_on_host(app):
        return f"the data directory {host_data_path(app)}"
    return f"the data volume {app.names.db_volume}"


def _check_socket_path(app: App) -> None:
    socket = app.db_socket_dir / ".s.PGSQL.5432"
    if len(str(socket).encode()) > UNIX_SOCKET_PATH_MAX:
        raise PrerequisiteNotMetError(
            f"the PostgreSQL socket path {socket} is longer than {UNIX_SOCKET_PATH_MAX} bytes: "
            "set [storage].data_dir to a shorter directory"
        )


def _start(app: App, progress: Progress) -> None:
    client = app.docker()
    conf = app.db_dir / "postgresql.conf"
    shutil.copyfile(app.config_file("postgresql.conf"), conf)
    conf.chmod(0o644)
    progress(f"starting {app.names.db_container}")
    docker_api.start_service(
        client,
        app.config.database.image,
        name=app.names.db_container,
        command=[
            "postgres",
            "-c",
            f"config_file={PG_CONF_IN_CONTAINER}",
            "-c",
            f"hba_file={HBA_IN_CONTAINER}",
            "-c",
            f"unix_socket_directories={PG_SOCKET_IN_CONTAINER}",
        ],
        environment={
            "POSTGRES_USER": app.config.database.user,
            "POSTGRES_PASSWORD": app.superuser_password(),
            "POSTGRES_DB": "postgres",
            "PGDATA": PGDATA_IN_CONTAINER,
        },
        mounts=_mounts(app, conf),
        network=app.names.network,
        labels=app.names.labels("db"),
        restart_policy={"Name": "unless-stopped"},
        shm_size="256m",
    )


def _mounts(app: App, conf: Path) -> list[Mount]:
    """The container's directories: the data (volume or host directory), the conf files, the socket."""
    if data_on_host(app):
        data = Mount(PGDATA_IN_CONTAINER, str(host_data_path(app)), type="bind")
    else:
        data = Mount(PGDATA_IN_CONTAINER, app.names.db_volume, type="volume")
    return [
        data,
        Mount(PG_CONF_IN_CONTAINER, str(conf), type="bind", read_only=True),
        Mount(HBA_IN_CONTAINER, str(app.db_dir / "pg_hba.conf"), type="bind", read_only=True),
        Mount(PG_SOCKET_IN_CONTAINER, str(app.db_socket_dir), type="bind"),
    ]


def host_data_dir(app: App) -> Path | None:
    """The server's data directory as this host sees it (None when it cannot: no volume, no
    access, a remote Docker engine). Read for disk accounting and the reflink probe only.

    :func:`host_data_path` in :func:`data_on_host` mode, else the volume's mount point."""
    if data_on_host(app):
        path = host_data_path(app)
        return path if path.is_dir() else None
    try:
        attrs = app.docker().api.inspect_volume(app.names.db_volume)
    except (docker.errors.DockerException, OduflowError):
        return None
    mountpoint = Path(str(attrs.get("Mountpoint") or ""))
    return mountpoint if mountpoint.is_absolute() and mountpoint.is_dir() else None


def check_image(app: App, progress: Progress) -> None:
    """Make sure the database image is there when the container is to be (re)created."""
    container = docker_api.get_container(app.docker(), app.names.db_container)
    if container is None or not _is_current(app, container):
        progress(f"checking image {app.config.database.image}")
        docker_api.ensure_image(app.docker(), app.config.database.image)


def ensure_server(app: App, report: Report, progress: Progress) -> None:
    """Password file, rendered ``pg_hba.conf``, socket directory and a running, current container.

    A container made by an older Oduflow (no shared socket, no ``pg_hba.conf``, a published
    port) is recreated on the same data volume.
    """
    client = app.docker()
    name = app.names.db_container
    _check_socket_path(app)
    ensure_password_file(app, report)
    hba_changed = _write_in_place(app.db_dir / "pg_hba.conf", render_hba(app))
    app.db_socket_dir.mkdir(exist_ok=True)
    container = docker_api.get_container(client, name)
    outdated = container is not None and not _is_current(app, container)
    if container is None or outdated:
        _check_data_place(app)
        docker_api.ensure_image(client, app.config.database.image)
        if outdated:
            progress(f"recreating {name} (socket directory, pg_hba.conf; {_data_place(app)} stays)")
            docker_api.remove_container(client, name)
        _ensure_data_place(app, report)
        _start(app, progress)
        report.created.append(
            f"recreated container {name}: socket directory {app.db_socket_dir}, pg_hba.conf, "
            f"no published port ({_data_place(app)} kept)"
            if outdated
            else f"container {name}"
        )
        container = None
    elif container.status != "running":
        container.start()
        report.created.append(f"started container {name}")
    else:
        report.existing.append(f"container {name}")
    progress("waiting for PostgreSQL")
    _wait_and_rotate(app, report)
    if hba_changed and container is not None:
        app.db().query("SELECT pg_catalog.pg_reload_conf()")
        report.created.append(f"reloaded {app.db_dir / 'pg_hba.conf'}")


def _ensure_data_place(app: App, report: Report) -> None:
    """The volume, or the host directory (mode 0700; the image's entrypoint gives it to postgres)."""
    if data_on_host(app):
        path = host_data_path(app)
        if not path.is_dir():
            path.mkdir(mode=0o700)
            report.created.append(str(path))
        return
    volume = app.names.db_volume
    if not _volume_exists(app):
        app.docker().volumes.create(volume, labels=app.names.labels("db-data"))
        report.created.append(f"volume {volume}")


def _volume_exists(app: App) -> bool:
    """The data volume exists (Docker's ``name`` filter matches parts of names: compare)."""
    volumes = app.docker().volumes.list(filters={"name": app.names.db_volume})
    return any(v.name == app.names.db_volume for v in volumes)


def start_existing(app: App, progress: Progress) -> bool:
    """Start the server's container when it exists but does not run (the server's start, once
    the managed filesystem is mounted again: Docker could not start it at boot); True if started."""
    container = docker_api.get_container(app.docker(), app.names.db_container)
    if container is None or container.status == "running":
        return False
    progress(f"starting {container.name}")
    container.start()
    app.db().wait_ready(timeout=120)
    return True


def _wait_and_rotate(app: App, report: Report) -> None:
    """Wait for the server; a volume still on the old fixed password gets the random one."""
    db = app.db()
    try:
        db.wait_ready(timeout=120)
        return
    except PasswordRejectedError:
        if app.config.database.password:
            raise PasswordRejectedError(
                f"{_data_place(app)} has another superuser password than "
                "[database].password: set the one it was initialised with"
            ) from None
    legacy = Database(replace(db.ep, password=LEGACY_PASSWORD))
    try:
        legacy.wait_ready(timeout=30)
    except PasswordRejectedError:
        raise PasswordRejectedError(
            f"{_data_place(app)} refuses the superuser password in "
            f"{app.superuser_password_file}: set [database].password to the one it was "
            "initialised with"
        ) from None
    legacy.query(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(app.config.database.user), sql.Literal(db.ep.password)
        )
    )
    db.wait_ready(timeout=30)
    report.created.append(
        f"superuser password of {_data_place(app)}: the old default replaced by the random one "
        f"in {app.superuser_password_file}"
    )


def remove_files(app: App, report: Report) -> None:
    """What :func:`ensure_server` wrote on the host (``destroy``, once the container is gone),
    the databases too when they are kept there (``destroy`` removes the data volume otherwise)."""
    for path in (
        app.superuser_password_file,
        app.db_dir / "pg_hba.conf",
        app.db_dir / "postgresql.conf",
    ):
        if path.is_file():
            path.unlink()
            report.removed.append(str(path))
    if app.db_socket_dir.is_dir():
        shutil.rmtree(app.db_socket_dir, ignore_errors=True)
        if not app.db_socket_dir.exists():
            report.removed.append(str(app.db_socket_dir))
    data = host_data_path(app)
    if data_on_host(app) and data.is_dir() and not data.is_symlink():  # as the volume is, below
        try:
            shutil.rmtree(data)
        except OSError as exc:
            raise PrerequisiteNotMetError(f"cannot remove the databases in {data}: {exc.strerror}") from None
        report.removed.append(f"{data} (the server's databases)")
    with contextlib.suppress(OSError):
        app.db_dir.rmdir()
