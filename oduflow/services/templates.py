"""Template profiles: listing, loading, creating, editing and deleting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import OduflowError
from oduflow.fsutil import dir_size
from oduflow.services.templates_meta import dump_file, read_metadata


def templates_root(app: App, team: TeamConfig) -> Path:
    return app.team_dir(team.id) / "templates"


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
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
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
        filestore = directory / "filestore"
        out.append({
            "name": directory.name, "status": status, "database": db_name,
            "dump": dump.name if dump else None,
            "dump_mb": round(dump.stat().st_size / 2**20, 2) if dump else 0,
            "filestore_mb": round(dir_size(filestore) / 2**20, 2) if filestore.is_dir() else 0,
            "storage": meta.storage_backend, "metadata": meta.to_dict(),
            **({"error": db_error} if db_error else {}),
        })
    return out
