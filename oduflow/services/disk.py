"""Physical disk used by environments and templates, measured on the filesystem (:mod:`oduflow.diskusage`).

``pg_database_size`` and ``du`` count every block of a reflink clone as if it were a copy: a
fresh environment cloned from a 2 GB template "uses" 2 GB while it holds a few hundred KiB of
its own. Here each part is measured on its files, copy-on-write aware:

- the database: its directory ``base/<oid>`` in the server's data directory
  (:func:`dbserver.host_data_dir`). When this host cannot see that directory (a remote engine,
  no access), the database part is ``None`` with the reason, never a guess; the server's own
  ``pg_database_size`` is then given beside it, labelled as what it is (a logical size).
- an environment's filestore: with a backend that reads the template's filestore live
  (``shares_template_filestore``: overlay) only its own upper layer; otherwise the whole
  directory (a reflink copy's blocks shared with the template count as shared).
- a template: its database, its filestore directory and its dump files.

``exclusive_bytes`` is what deleting the environment (or the template) would free now; it is
``None`` when a part could not be measured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from oduflow import diskusage
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import SHARES_TEMPLATE_FILESTORE
from oduflow.errors import NotFoundError, OduflowError
from oduflow.layout import team_layout
from oduflow.services import dbserver
from oduflow.services.envmodel import Env, get_env
from oduflow.services.templates_meta import DUMP_FILES

UNSEEN_DATA_DIR = (
    "the database server's data directory cannot be seen from this host (a remote Docker engine, "
    "or no access to the data volume): its files cannot be measured"
)


@dataclass
class DatabaseFiles:
    """Where the files of some databases are, or why that cannot be told."""

    paths: dict[str, Path] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    server_bytes: dict[str, int] = field(default_factory=dict)
    """``pg_database_size`` of the databases whose files cannot be seen (a logical size)."""


def locate_databases(app: App, names: list[str]) -> DatabaseFiles:
    """The directory ``base/<oid>`` of each database in ``names`` (one query for all of them)."""
    found = DatabaseFiles()
    data_dir = dbserver.host_data_dir(app)
    try:
        rows = app.db().query(
            "SELECT datname, oid, CASE WHEN %s THEN pg_catalog.pg_database_size(oid) END "
            "FROM pg_catalog.pg_database WHERE datname = ANY(%s)",
            [data_dir is None, names],
        )
    except (OduflowError, psycopg.Error) as exc:
        found.unavailable = dict.fromkeys(names, f"the database server cannot be asked: {exc}")
        return found
    known = {name: (int(oid), size) for name, oid, size in rows}
    for name in names:
        if name not in known:
            found.unavailable[name] = f"database {name} does not exist"
        elif data_dir is None:
            found.unavailable[name] = UNSEEN_DATA_DIR
            found.server_bytes[name] = int(known[name][1])
        else:
            path = data_dir / "base" / str(known[name][0])
            if os.access(path, os.R_OK | os.X_OK):
                found.paths[name] = path
            else:
                found.unavailable[name] = f"{path} cannot be read by this process (uid {os.geteuid()})"
    return found


def database_part(files: DatabaseFiles, name: str) -> tuple[diskusage.Usage | None, dict[str, Any]]:
    """The usage of one located database and the ``database*`` keys of a disk report."""
    path = files.paths.get(name)
    if path is None:
        part: dict[str, Any] = {"database": None, "database_unavailable": files.unavailable[name]}
        if name in files.server_bytes:
            part["database_server_bytes"] = files.server_bytes[name]
        return None, part
    used = diskusage.usage([path])
    return used, {"database": used.to_dict()}


def _total(database: diskusage.Usage | None, *others: diskusage.Usage) -> int | None:
    if database is None:
        return None
    return database.exclusive_bytes + sum(o.exclusive_bytes for o in others)


def environment_disk(app: App, env: Env) -> dict[str, Any]:
    """The disk report of an environment (see the module's docstring; ``EnvironmentDisk``)."""
    db_name = env.params.db_name
    database, part = database_part(locate_databases(app, [db_name]), db_name)
    spec = env.filestore(app)
    own_layer = env.params.storage in app.hooks.storage_with(SHARES_TEMPLATE_FILESTORE)
    filestore = diskusage.usage([spec.upper if own_layer else spec.merged])
    return {
        **part,
        "filestore": filestore.to_dict(),
        "filestore_scope": "upper" if own_layer else "merged",
        "exclusive_bytes": _total(database, filestore),
    }


def environment_usage(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    """What the environment of ``branch`` occupies on disk (``EnvironmentDisk``)."""
    return environment_disk(app, get_env(app, team, branch))


def template_disks(
    app: App, team: TeamConfig, directories: list[Path], db_error: str = ""
) -> dict[str, dict[str, Any]]:
    """Directory name -> the disk report (``TemplateDisk``) of each template directory given.

    One query for all of them; ``db_error`` (the server already failed to answer) skips it.
    """
    db_names = {d.name: app.names.template_db(team.id, d.name) for d in directories}
    if db_error:
        reason = f"the database server cannot be asked: {db_error}"
        files = DatabaseFiles(unavailable=dict.fromkeys(db_names.values(), reason))
    else:
        files = locate_databases(app, list(db_names.values()))
    out: dict[str, dict[str, Any]] = {}
    for directory in directories:
        database, part = database_part(files, db_names[directory.name])
        filestore = diskusage.usage([directory / "filestore"])
        dump = diskusage.usage([directory / f for f in DUMP_FILES])
        out[directory.name] = {
            **part,
            "filestore": filestore.to_dict(),
            "dump": dump.to_dict(),
            "exclusive_bytes": _total(database, filestore, dump),
        }
    return out


def template_usage(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """What template ``name`` occupies on disk: database, filestore, dump (``TemplateDisk``)."""
    directory = team_layout(app, team.id).template(name)
    if not directory.is_dir():
        raise NotFoundError(f"template '{name}' does not exist (list_templates shows the templates)")
    return template_disks(app, team, [directory])[name]
