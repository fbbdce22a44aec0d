"""What the benchmarks share: a throw-away Oduflow instance on the test images, and the output."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
from psycopg import sql

from oduflow import catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.services import system, templates
from tests.images import build


def make_config(
    root: Path, pg_image: str, prefix: str, storage: str, ports: tuple[int, int], database: str = ""
) -> Path:
    """``oduflow.toml`` of a one-team instance named ``prefix`` with its data below ``root``."""
    path = root / "oduflow.toml"
    path.write_text(
        f'[server]\nname_prefix = "{prefix}"\nallow_local_repos = true\n'
        f'[database]\nimage = "{pg_image}"\n{database}[storage]\ndata_dir = "{root / "data"}"\n'
        f"{storage}[limits]\nmax_concurrent_per_team = 32\n"  # bursts of creates and a poller at once
        f"[team.1]\nport_range = [{ports[0]}, {ports[1]}]\n"
    )
    return path


@contextmanager
def bench_instance(
    prefix: str,
    ports: tuple[int, int],
    storage: str = "",
    *,
    database: str = "",
    pg_major: int = 15,
    cow_gb: int = 0,
) -> Iterator[tuple[App, Path, str]]:
    """(app, scratch directory, Odoo image) of an initialised instance; everything removed at exit.

    ``database`` and ``storage`` are extra lines of those sections; ``cow_gb`` > 0 keeps the
    data directory on an XFS image file of that size that Oduflow manages.
    """
    client = docker.from_env()
    pg_image = build.ensure_postgres_image(client, major=pg_major)
    odoo_image = build.ensure_odoo_image(client)
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    if cow_gb:
        storage += f'cow_image_size_gb = {cow_gb}\ncow_image = "{root / "data.xfs"}"\n'
    os.environ["ODUFLOW_TOML"] = str(make_config(root, pg_image, prefix, storage, ports, database))
    app = App(load())
    system.init(app)
    try:
        yield app, root, odoo_image
    finally:
        for rec in app.store.list_envs():
            catalog.invoke(app, app.config.team(rec.team), "delete_environment", {"branch_name": rec.branch})
        system.destroy(app)
        shutil.rmtree(root, ignore_errors=True)


def write_results(
    results: dict[str, Any], out: Path, name: str, plot: Callable[[dict[str, Any], Path], None]
) -> None:
    """``{out}/{name}.json`` and ``{out}/{name}.png``, and the JSON on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    plot(results, out / f"{name}.png")
    print(json.dumps(results, indent=2))


def redecide_storage(app: App, directory: Path) -> None:
    """Let Oduflow choose the filestore backend of a template again, now that it has grown."""
    meta = json.loads((directory / "metadata.json").read_text())
    meta.pop("storage", None)
    meta.pop("use_overlay", None)
    (directory / "metadata.json").write_text(json.dumps(meta))
    templates._update_metadata(app, directory)  # noqa: SLF001 - re-decide storage by size


def pad_template_db(app: App, team_id: str, template_db: str, rows: int) -> None:
    """Add ``rows`` rows of ~1 KB to a template database, owned by the team's template role and
    frozen as Oduflow freezes every template it builds."""
    db = app.db()
    db.set_template(template_db, False)
    db.query(
        "CREATE TABLE public.bench_padding AS SELECT g AS id, repeat(md5(g::text), 32) AS pad "
        f"FROM generate_series(1, {int(rows)}) g",
        dbname=template_db,
    )
    owner = sql.Identifier(app.names.template_role(team_id))
    db.query(sql.SQL("ALTER TABLE public.bench_padding OWNER TO {}").format(owner), dbname=template_db)
    db.freeze(template_db)
    db.query("CHECKPOINT")
    db.set_template(template_db, True)
