"""The ``db`` service: database list (with ``dbfilter``), creation, master password, backups."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from typing import IO, Any

import psycopg2

from odoo import release, sql_db
from odoo.exceptions import AccessDenied
from odoo.tools import config

_logger = logging.getLogger(__name__)


class DatabaseExists(Warning):
    """The database to create already exists."""


def check_super(passwd: str) -> bool:
    """Accept the master password (``admin_passwd``) or raise ``AccessDenied``."""
    if passwd and config.verify_admin_password(passwd):
        return True
    raise AccessDenied()


def check_db_management_enabled() -> None:
    """Database management is refused when ``list_db`` is off (like the real server)."""
    if not config["list_db"]:
        _logger.error("Database management functions blocked, admin disabled database listing")
        raise AccessDenied()


def list_dbs(force: bool = False) -> list[str]:
    """Databases of the configured user (or ``db_name`` when set without ``dbfilter``)."""
    if not config["list_db"] and not force:
        raise AccessDenied()
    if not config["dbfilter"] and config["db_name"]:
        return sorted(config.db_names)
    templates = sorted({"postgres", str(config["db_template"])})
    try:
        with sql_db.Cursor("postgres") as cr:
            cr.execute(
                "SELECT datname FROM pg_database WHERE datdba = (SELECT usesysid FROM pg_user "
                "WHERE usename = current_user) AND NOT datistemplate AND datallowconn "
                "AND datname != ALL(%s) ORDER BY datname",
                (templates,),
            )
            return [row[0] for row in cr.fetchall()]
    except psycopg2.Error:
        _logger.exception("Listing databases failed:")
        return []


def db_filter(dbs: list[str], host: str | None = None) -> list[str]:
    """``dbs`` reduced by ``dbfilter`` (``%h`` host, ``%d`` first domain part) or by ``db_name``."""
    if config["dbfilter"]:
        host = (host or "").partition(":")[0]
        domain = host.partition(".")[0] if host else ""
        if domain == "www" and host.count(".") > 1:
            domain = host.split(".")[1]
        pattern = str(config["dbfilter"]).replace("%h", re.escape(host)).replace("%d", re.escape(domain))
        return [db for db in dbs if re.match(pattern, db)]
    if config["db_name"]:
        return sorted(set(config.db_names).intersection(dbs))
    return list(dbs)


def db_list(force: bool = False, host: str | None = None) -> list[str]:
    """The databases this server exposes (``http.db_list``)."""
    try:
        dbs = list_dbs(force)
    except psycopg2.OperationalError:
        return []
    return db_filter(dbs, host)


def exp_db_exist(name: str) -> bool:
    """Whether database ``name`` exists and accepts connections."""
    try:
        with sql_db.Cursor(name):
            return True
    except psycopg2.Error:
        return False


def create_empty_database(name: str) -> None:
    """``CREATE DATABASE`` from ``db_template`` (``DatabaseExists`` when it is there)."""
    template = str(config["db_template"])
    with sql_db.Cursor("postgres") as cr:
        cr.execute("SELECT datname FROM pg_database WHERE datname = %s", (name,))
        if cr.fetchall():
            raise DatabaseExists(f"database {name!r} already exists!")
        cr.rollback()
        cr.connection.autocommit = True
        collate = "LC_COLLATE 'C'" if template == "template0" else ""
        ident = '"' + name.replace('"', '""') + '"'
        cr.execute(f"CREATE DATABASE {ident} ENCODING 'unicode' {collate} TEMPLATE \"{template}\"")
    try:
        with sql_db.Cursor(name) as cr:
            cr.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg2.Error as exc:
        _logger.warning("Unable to create PostgreSQL extensions : %s", exc)


def pg_environ() -> dict[str, str]:
    """Environment for the PostgreSQL client tools (``PGHOST``, ``PGPORT``, ...)."""
    env = dict(os.environ)
    for key, opt in (
        ("PGHOST", "db_host"),
        ("PGPORT", "db_port"),
        ("PGUSER", "db_user"),
        ("PGPASSWORD", "db_password"),
    ):
        if config.get(opt):
            env[key] = str(config[opt])
    return env


def dump_manifest(dbname: str) -> dict[str, Any]:
    """The ``manifest.json`` of a backup."""
    with sql_db.Cursor(dbname) as cr:
        major, minor = divmod(cr.connection.server_version / 100, 100)
        cr.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
        modules = dict(cr.fetchall())
    return {
        "odoo_dump": "1",
        "db_name": dbname,
        "version": release.version,
        "version_info": list(release.version_info),
        "major_version": release.major_version,
        "pg_version": f"{int(major)}.{int(minor)}",
        "modules": modules,
    }


def dump_db(dbname: str, stream: IO[bytes], backup_format: str = "zip", with_filestore: bool = True) -> None:
    """Write a backup of ``dbname`` to ``stream``.

    ``zip``: dump.sql, manifest.json and filestore/ (like the real server); else ``pg_dump -Fc``.
    """
    check_db_management_enabled()
    _logger.info(
        "DUMP DB: %s format %s %s",
        dbname,
        backup_format,
        "with filestore" if with_filestore else "without filestore",
    )
    cmd = ["pg_dump", "--no-owner", dbname]
    if backup_format != "zip":
        cmd.insert(-1, "--format=c")
        with tempfile.TemporaryFile() as out:
            subprocess.run(cmd, env=pg_environ(), stdout=out, stderr=subprocess.PIPE, check=True)
            out.seek(0)
            shutil.copyfileobj(out, stream)
        return
    with tempfile.TemporaryDirectory() as dump_dir:
        filestore = config.filestore(dbname)
        if with_filestore and os.path.exists(filestore):
            shutil.copytree(filestore, os.path.join(dump_dir, "filestore"))
        with open(os.path.join(dump_dir, "manifest.json"), "w") as fh:
            json.dump(dump_manifest(dbname), fh, indent=4)
        cmd.insert(-1, "--file=" + os.path.join(dump_dir, "dump.sql"))
        subprocess.run(cmd, env=pg_environ(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=True)
        zip_dir(dump_dir, stream)


def zip_dir(path: str, stream: IO[bytes]) -> None:
    """Zip the content of ``path`` (``dump.sql`` first) into ``stream``."""
    entries = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            entries.append((os.path.relpath(full, path), full))
    entries.sort(key=lambda item: (item[0] != "dump.sql", item[0]))
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for arcname, full in entries:
            zf.write(full, arcname)
