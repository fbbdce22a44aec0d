"""Template profiles: listing, loading, creating, editing and deleting."""

from __future__ import annotations

import functools
import inspect
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast

from psycopg import sql

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import SHARES_TEMPLATE_FILESTORE, Progress, no_progress
from oduflow.errors import ConflictError, NotFoundError, OduflowError, ValidationError
from oduflow.fsutil import dir_size, rmtree
from oduflow.layout import team_layout
from oduflow.locks import LockScope
from oduflow.services import dbpool, disk, pgjobs
from oduflow.services.envmodel import owned_by
from oduflow.services.templates_meta import (
    DUMP_FILES,
    TemplateMetadata,
    dump_file,
    read_metadata,
    write_metadata,
)


def template_owner(app: App, team: TeamConfig) -> tuple[str, str]:
    """(role, password) of the team's template owner: a plain LOGIN role, never a superuser.

    Template objects belong to it (not to the superuser): a function a team writes into a
    template can never run with more rights than the team's own roles.
    """
    role = app.names.template_role(team.id)
    db = app.db()
    stored = app.store.get(team.id, "template_owner", role)
    if stored and db.role_exists(role):
        return role, str(stored)
    password = db.login_role(role)
    app.store.put(team.id, "template_owner", role, password)
    return role, password


def templates_root(app: App, team: TeamConfig) -> Path:
    """The team's templates directory (:class:`oduflow.layout.TeamLayout`)."""
    return team_layout(app, team.id).templates


def list_templates(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """Every template profile of ``team`` with its status.

    Status: ``ready`` (database loaded), ``DB NOT LOADED`` (files present, run
    ``oduflow reload-template``), ``NO DUMP`` (directory without dump), or
    ``UNKNOWN`` when the database server cannot be asked.
    """
    root = templates_root(app, team)
    if not root.is_dir():
        return []
    try:
        db = app.db()
        loaded = set(db.list_databases(f"oduflow_template_{team.id}_"))
        db_error = ""
    except OduflowError as exc:
        loaded, db_error = set(), str(exc)
    out = []
    directories = sorted(p for p in root.iterdir() if p.is_dir())
    disks = disk.template_disks(app, team, directories, db_error)
    for directory in directories:
        meta = read_metadata(directory)
        dump = dump_file(directory)
        db_name = app.names.template_db(team.id, directory.name)
        if db_error:
            status = "UNKNOWN"
        elif db_name in loaded:
            status = "ready"
        elif dump is not None:
            status = "DB NOT LOADED"
        else:
            status = "NO DUMP"
        out.append(
            {
                "name": directory.name,
                "status": status,
                "database": db_name,
                "dump": dump.name if dump else None,
                "dump_mb": round(dump.stat().st_size / 2**20, 2) if dump else 0,
                "filestore_mb": round(disks[directory.name]["filestore"]["logical_bytes"] / 2**20, 2),
                "storage": template_storage(app, meta),
                "metadata": meta.to_dict(),
                "disk": disks[directory.name],
                **({"error": db_error} if db_error else {}),
            }
        )
    return out


# --- loading --------------------------------------------------------------------------------
def get_template_dir(app: App, team: TeamConfig, name: str, *, must_exist: bool = True) -> Path:
    directory = team_layout(app, team.id).template(name)
    if must_exist and not directory.is_dir():
        raise NotFoundError(f"template '{name}' does not exist (list_templates shows the templates)")
    return directory


def storage_for(app: App, filestore: Path) -> str:
    """The available backend that prefers a filestore of that size most (``StorageBackend.preference``)."""
    size_mb = dir_size(filestore) / 2**20 if filestore.is_dir() else 0
    return app.hooks.preferred_storage(size_mb, app.config)


def template_storage(app: App, meta: TemplateMetadata) -> str:
    """The storage backend of a template (older ones: from a backend's legacy flag)."""
    return app.hooks.template_storage(meta.storage, meta.extra, app.config)


def _replace_template_db(app: App, team: TeamConfig, name: str, build_db: str) -> None:
    """Swap the freshly built ``build_db`` in as the template database of ``name``."""
    db = app.db()
    target = app.names.template_db(team.id, name)
    dbpool.wait_idle(team, name)
    db.terminate(build_db)
    db.freeze(build_db)  # clones then share every page they only read (see Database.freeze)
    rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
    old = app.names.template_old_db(team.id, name)
    had_old = db.exists(target)
    db.drop(old)
    if had_old:  # the old template is set aside first: a failed swap puts it back
        db.set_template(target, False)
        db.query(rename.format(sql.Identifier(target), sql.Identifier(old)))
    try:
        db.query(rename.format(sql.Identifier(build_db), sql.Identifier(target)))
    except BaseException:
        if had_old:
            db.query(rename.format(sql.Identifier(old), sql.Identifier(target)))
            db.set_template(target, True)
        raise
    db.set_template(target, True)
    db.drop(old)
    dbpool.refill_later(app, team, name)


def _update_metadata(app: App, directory: Path, **values: Any) -> TemplateMetadata:
    meta = read_metadata(directory)
    server_version = app.db().query("SHOW server_version")[0][0]
    fields_ = {"pg_version": str(server_version).split()[0], **values}
    if not meta.storage:
        legacy = any(flag in meta.extra for flag in app.hooks.legacy_flags(""))
        storage = template_storage(app, meta) if legacy else storage_for(app, directory / "filestore")
        fields_.update(storage=storage, extra={**meta.extra, **app.hooks.legacy_flags(storage)})
    meta = replace(meta, **fields_)
    write_metadata(directory, meta)
    return meta


WORK_DBS = "template_work_db"
"""State-store kind: build/old database name -> template (names too long to say it themselves)."""


@contextmanager
def hold_template(app: App, team: TeamConfig, name: str, operation: str) -> Iterator[None]:
    """The exclusive lock of template ``name``: no creation from it and no other change meanwhile.

    Build and old databases of ``name`` exist only while it is held; their names are recorded
    so that ``oduflow cleanup`` finds the lock that guards them (see :func:`work_db_template`).
    """
    with app.locks.hold(LockScope.template(team.id, name), operation):
        for work_db in (app.names.template_build_db(team.id, name), app.names.template_old_db(team.id, name)):
            if app.names.template_of_work_db(team.id, work_db) is None:
                app.store.put(team.id, WORK_DBS, work_db, name)
        yield


def work_db_template(app: App, team: TeamConfig, db_name: str) -> str | None:
    """The template whose build or old database ``db_name`` is (None: not one of this version)."""
    found = app.names.template_of_work_db(team.id, db_name)
    return found if found is not None else app.store.get(team.id, WORK_DBS, db_name)


def editor_containers(app: App, team: TeamConfig, name: str) -> list[str]:
    """The template editor's container name, plus the one earlier versions gave it when a
    container of that name is this editor (its labels say so: the old name was not injective)."""
    names = [app.names.template_container(team.id, name)]
    legacy = docker_api.get_container(app.docker(), app.names.legacy_template_container(team.id, name))
    if legacy is not None and owned_by(app, legacy.labels, "template-editor", team.id, template=name):
        names.append(str(legacy.name))
    return names


F = TypeVar("F", bound=Callable[..., Any])


def locked_template(param: str = "template_name") -> Callable[[F], F]:
    """Run the decorated service under the exclusive lock of the template named by ``param``."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            values = bound.arguments
            with hold_template(values["app"], values["team"], values[param], func.__name__):
                return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def reload_template(
    app: App, team: TeamConfig, name: str, dump_path: str | None = None, progress: Progress = no_progress
) -> dict[str, Any]:
    """(Re)load the template database of ``name`` (see :func:`load_template`), under its lock."""
    with hold_template(app, team, name, "reload_template"):
        return load_template(app, team, name, dump_path, progress)


def load_template(
    app: App, team: TeamConfig, name: str, dump_path: str | None = None, progress: Progress = no_progress
) -> dict[str, Any]:
    """(Re)load the template database of ``name`` from its dump (or from ``dump_path``).

    All or nothing: the new database is built aside and swapped in only when the load
    succeeded. With ``dump_path`` the file replaces the template's dump afterwards.
    """
    directory = get_template_dir(app, team, name, must_exist=dump_path is None)
    if dump_path:
        source = Path(dump_path).expanduser().resolve()
        if not source.is_file():
            raise NotFoundError(f"dump file {dump_path} not found")
        kind = ".sql" if source.suffix == ".sql" else ".pgdump"
    else:
        found = dump_file(directory)
        if found is None:
            raise NotFoundError(f"template '{name}' has no dump.sql or dump.pgdump in {directory}")
        source, kind = found, found.suffix
    db = app.db()
    build = app.names.template_build_db(team.id, name)
    db.drop(build)
    db.create_empty(build)
    try:
        owner = template_owner(app, team)
        db.hand_over(build, owner[0])
        progress(f"loading {source.name} into PostgreSQL")
        pgjobs.restore(app, build, source, owner)
        regclass = db.query("SELECT pg_catalog.to_regclass('public.ir_module_module')", dbname=build)
        if regclass[0][0] is None:
            raise ValidationError(f"{source.name} is not an Odoo database (no ir_module_module table)")
        _replace_template_db(app, team, name, build)
    except BaseException:
        db.drop(build)
        raise
    if dump_path:
        directory.mkdir(parents=True, exist_ok=True)
        staged = directory / f".dump{kind}.partial"
        shutil.copyfile(source, staged)
        for old in DUMP_FILES:
            (directory / old).unlink(missing_ok=True)
        staged.replace(directory / f"dump{kind}")
    meta = _update_metadata(app, directory)
    return {
        "template": name,
        "database": app.names.template_db(team.id, name),
        "status": "ready",
        "dump": f"dump{kind}",
        "metadata": meta.to_dict(),
    }


def delete_template(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """Delete a template profile: its database and its directory (dump, filestore, metadata).

    Refused while environments read its filestore live (``shares_template_filestore``
    backends such as overlay), or while the template editor runs.
    """
    with hold_template(app, team, name, "delete_template"):
        return _delete_template(app, team, name)


def _delete_template(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    directory = get_template_dir(app, team, name)
    sharing = app.hooks.storage_with(SHARES_TEMPLATE_FILESTORE)
    users = [
        e.branch
        for e in app.store.list_envs(team.id)
        if e.params.get("template") == name and e.params.get("storage") in sharing
    ]
    if users:
        raise ConflictError(
            f"template '{name}' is the filestore base of environment(s) {', '.join(users)}: delete them first"
        )
    if app.store.get(team.id, "template_editor", name):
        raise ConflictError(f"template '{name}' is open in the template editor: run template-down first")
    db = app.db()
    dbpool.wait_idle(team, name)
    dbpool.drain(app, team, name)
    dropped = db.drop(app.names.template_db(team.id, name))
    rmtree(directory)
    return {"template": name, "deleted": True, "database_dropped": dropped}
