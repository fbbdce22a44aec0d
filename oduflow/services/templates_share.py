"""Templates made from elsewhere: from an environment (``save_as_template``) or a running Odoo."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

from oduflow import docker_api, urlpolicy
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import SHARES_TEMPLATE_FILESTORE, Progress, no_progress
from oduflow.errors import BusyError, ConflictError, ExternalCommandError, ValidationError
from oduflow.fsutil import dir_size, rmtree
from oduflow.layout import team_layout
from oduflow.locks import LockScope
from oduflow.naming import validate_template_name
from oduflow.rollback import Steps
from oduflow.services import odoo_import, pgjobs
from oduflow.services.environments import ensure_filestore
from oduflow.services.envmodel import Env, get_env
from oduflow.services.templates import (
    _replace_template_db,
    _update_metadata,
    load_template,
    locked_template,
    template_owner,
)
from oduflow.services.templates_meta import DUMP_FILES, dump_file, read_metadata, write_metadata
from oduflow.state import EnvRecord


@locked_template()
def save_as_template(
    app: App,
    team: TeamConfig,
    branch_name: str,
    template_name: str = "default",
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Make the environment's database and filestore the new baseline of ``template_name``.

    Destructive for other environments built on that template whose filestore reads the
    template's live (``shares_template_filestore`` backends such as overlay): their
    filestore changes are dropped and they restart on the new baseline.
    The source and those environments are stopped and unmounted under their branch locks:
    one that another operation holds makes the save fail with :class:`BusyError` first.
    """
    validate_template_name(template_name)
    env = get_env(app, team, branch_name)
    affected = [env.record, *_sharing_dependants(app, team, template_name)]
    with _hold_branches(app, team, affected):
        return _save(app, team, env, template_name, progress)


def _sharing_dependants(app: App, team: TeamConfig, template_name: str) -> list[EnvRecord]:
    """The team's environments whose filestore reads ``template_name``'s live
    (backends with the ``shares_template_filestore`` capability)."""
    sharing = app.hooks.storage_with(SHARES_TEMPLATE_FILESTORE)
    return [
        e
        for e in app.store.list_envs(team.id)
        if e.params.get("template") == template_name and e.params.get("storage") in sharing
    ]


@contextlib.contextmanager
def _hold_branches(app: App, team: TeamConfig, records: list[EnvRecord]) -> Iterator[None]:
    """The branch locks of ``records`` (as the catalog's branch tools take them), all or none."""
    with contextlib.ExitStack() as stack:
        for slug, branch in sorted({r.slug: r.branch for r in records}.items()):
            try:
                stack.enter_context(app.locks.hold(LockScope.branch(team.id, slug), "save_as_template"))
            except BusyError as exc:
                raise BusyError(
                    f"environment '{branch}' cannot be stopped for save_as_template: {exc}"
                ) from None
        yield


def _save(app: App, team: TeamConfig, env: Env, template_name: str, progress: Progress) -> dict[str, Any]:
    client = app.docker()
    db = app.db()
    layout = team_layout(app, team.id)
    directory = layout.template(template_name)
    build = app.names.template_build_db(team.id, template_name)
    staging = Path(tempfile.mkdtemp(prefix=".save-", dir=layout.templates))
    source = docker_api.get_container(client, env.container_name)
    was_running = source is not None and source.status == "running"
    with Steps("save_as_template", progress) as steps:
        steps.undo(lambda: shutil.rmtree(staging, ignore_errors=True))
        steps.begin("copy the environment database")
        if source is not None and was_running:
            source.stop(timeout=10)
            steps.undo(source.start)
        db.drop(build)
        db.clone(build, env.params.db_name)
        steps.undo(lambda: db.drop(build))
        db.hand_over(build, template_owner(app, team)[0])
        if source is not None and was_running:
            source.start()
        steps.begin("dump the new template")
        pgjobs.dump(app, build, staging / "dump.pgdump")
        steps.begin("snapshot the filestore")
        app.hooks.storage(env.params.storage).snapshot(env.filestore(app), staging / "filestore")
        steps.begin("swap the template")
        directory.mkdir(parents=True, exist_ok=True)
        old_meta = read_metadata(directory)
        dependants = _sharing_dependants(app, team, template_name)
        steps.commit()  # from here on the old template is being replaced: no rollback
    failed = _swap_in(app, team, template_name, build, staging, dependants, progress)
    meta = _update_metadata(
        app,
        directory,
        odoo_image=old_meta.odoo_image or env.params.odoo_image,
        repo_url=old_meta.repo_url or env.params.repo_url,
        extra_addons=old_meta.extra_addons or {x["name"]: x["branch"] for x in env.params.extra_addons},
    )
    return {
        "template": template_name,
        "from_branch": env.branch,
        "status": "ready",
        "reset_environments": [r.branch for r in dependants],
        "metadata": meta.to_dict(),
    } | ({"remount_failed": failed} if failed else {})


def _swap_in(
    app: App,
    team: TeamConfig,
    template_name: str,
    build: str,
    staging: Path,
    dependants: list[EnvRecord],
    progress: Progress,
) -> dict[str, str]:
    """Make the dump and filestore in ``staging`` (and the database ``build``) the template.

    The dependants are stopped and unmounted first, then remounted on the new baseline and
    started again; returns branch -> error of those that could not be remounted.
    """
    directory = team_layout(app, team.id).template(template_name)
    stopped = {}
    for rec in dependants:
        dep = get_env(app, team, rec.branch)
        c = docker_api.get_container(app.docker(), dep.container_name)
        if c is not None and c.status == "running":
            c.stop(timeout=10)
            stopped[rec.branch] = c
        progress(f"unmounting the filestore of {rec.branch}")
        app.hooks.storage(dep.params.storage).release(dep.filestore(app))
    for name in DUMP_FILES:
        (directory / name).unlink(missing_ok=True)
    (staging / "dump.pgdump").replace(directory / "dump.pgdump")
    rmtree(directory / "filestore")
    (staging / "filestore").replace(directory / "filestore")
    shutil.rmtree(staging, ignore_errors=True)
    _replace_template_db(app, team, template_name, build)
    failed = _remount_dependants(app, team, dependants, progress)
    for branch, c in stopped.items():
        if branch not in failed:  # a container on an empty mount point would serve nothing
            c.start()
    return failed


def _remount_dependants(
    app: App, team: TeamConfig, dependants: list[EnvRecord], progress: Progress
) -> dict[str, str]:
    """Remount each dependant on the new baseline; branch -> error of those that failed."""
    failed: dict[str, str] = {}
    for rec in dependants:
        progress(f"remounting the filestore of {rec.branch} on the new baseline")
        try:
            ensure_filestore(app, get_env(app, team, rec.branch))
        except Exception as exc:  # noqa: BLE001 - one failure must not leave the others down
            failed[rec.branch] = str(exc) or type(exc).__name__
            progress(f"remounting {rec.branch} failed (start_environment retries): {failed[rec.branch]}")
    return failed


# --- import from a running Odoo ----------------------------------------------------------------
@locked_template()
def import_template_from_odoo(
    app: App,
    team: TeamConfig,
    odoo_url: str,
    master_pwd: str,
    template_name: str = "default",
    db_name: str = "",
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Download a backup from a running Odoo's database manager and load it as a template.

    The server is hostile input (see :mod:`oduflow.services.odoo_import`): address policy,
    no redirects, one deadline, bounded download and extraction. The master password is sent
    in the form only: never stored, logged or shown; the URL's credentials are never stored.
    """
    validate_template_name(template_name)
    limits = app.config.limits
    deadline = odoo_import.Deadline(limits.import_timeout)
    server = odoo_import.OdooServer(odoo_url, urlpolicy.for_app(app), deadline, secrets=[master_pwd])
    layout = team_layout(app, team.id)
    directory = layout.template(template_name)
    if dump_file(directory) or app.db().exists(app.names.template_db(team.id, template_name)):
        raise ConflictError(f"template '{template_name}' already exists; delete it first")
    progress("detecting the Odoo version")
    version = server.version_info()
    db_name = server.pick_database(db_name)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=layout.templates))
    try:
        extracted = _download(server, master_pwd, db_name, staging, limits.import_max_mb << 20, progress)
        if not (extracted / "dump.sql").is_file():
            raise ValidationError("the backup has no dump.sql")
        manifest = odoo_import.read_manifest(extracted / "manifest.json")
        source = _source_metadata(server.base, db_name, version, manifest)
        result = _install_import(app, team, template_name, directory, extracted, source, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.update(
        {
            "source_url": server.base,
            "source_db": db_name,
            "odoo_version": result["metadata"].get("odoo_version"),
            "filestore_mb": round(dir_size(directory / "filestore") / 2**20, 2),
        }
    )
    return result


def _download(
    server: odoo_import.OdooServer,
    master_pwd: str,
    db_name: str,
    staging: Path,
    max_bytes: int,
    progress: Progress,
) -> Path:
    """Download the backup of ``db_name`` into ``staging`` and extract it (bounded); its directory."""
    progress(f"downloading the backup of '{db_name}'")
    archive_path = staging / "backup.zip"
    server.download_backup(master_pwd, db_name, archive_path, max_bytes)
    if not zipfile.is_zipfile(archive_path):
        with archive_path.open("rb") as fh:
            head = fh.read(200_000)
        raise ExternalCommandError(
            "the server did not return a backup zip (wrong master password, or list_db disabled?)",
            command="POST /web/database/backup",
            output=odoo_import.page_error(head, [master_pwd, *server.secrets]),
        )
    progress("extracting the backup")
    extracted = staging / "content"
    odoo_import.safe_extract(
        archive_path,
        extracted,
        max_total=max_bytes * odoo_import.EXTRACT_FACTOR,
        deadline=server.deadline,
    )
    archive_path.unlink()
    return extracted


def _source_metadata(
    base: str, db_name: str, version: dict[str, Any], manifest: dict[str, Any]
) -> dict[str, Any]:
    """The metadata an import records, from the server's (sanitised) answers."""
    series = odoo_import.odoo_series(version.get("server_serie"), manifest.get("major_version"))
    modules = manifest.get("modules")
    odoo_version = str(manifest.get("version") or version.get("server_version") or "")
    return {
        "source_url": base,
        "source_db": db_name,
        "odoo_version": odoo_import.snippet(odoo_version, limit=40),
        "odoo_image": f"odoo:{series}" if series else "",
        "modules": sorted(str(m) for m in modules)[:5000] if isinstance(modules, (dict, list)) else [],
        "extra": {"source_pg_version": odoo_import.snippet(str(manifest.get("pg_version", "")), limit=20)},
    }


def _install_import(
    app: App,
    team: TeamConfig,
    template_name: str,
    directory: Path,
    extracted: Path,
    source: dict[str, Any],
    progress: Progress,
) -> dict[str, Any]:
    """Move the extracted backup into the template directory, write the metadata, load it."""
    existed = directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (extracted / "dump.sql").replace(directory / "dump.sql")
        if (extracted / "filestore").is_dir():
            rmtree(directory / "filestore")
            (extracted / "filestore").replace(directory / "filestore")
        meta = read_metadata(directory)
        fields = {
            **source,
            "odoo_image": meta.odoo_image or source["odoo_image"],
            "extra": {**meta.extra, **source["extra"]},
        }
        write_metadata(directory, dc_replace(meta, **fields))
        return load_template(app, team, template_name, progress=progress)
    except BaseException:
        if existed:  # what was there before stays; what the import brought goes
            (directory / "dump.sql").unlink(missing_ok=True)
            rmtree(directory / "filestore")
        else:
            rmtree(directory)
        raise
