"""Templates made from elsewhere: from an environment (``save_as_template``) or a running Odoo."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import replace as dc_replace
from pathlib import Path, PurePosixPath
from typing import Any

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConflictError, ExternalCommandError, ValidationError
from oduflow.fsutil import dir_size, rmtree
from oduflow.naming import fit, validate_template_name
from oduflow.rollback import Steps
from oduflow.services import pgjobs
from oduflow.services.environments import ensure_filestore
from oduflow.services.envmodel import get_env
from oduflow.services.templates import (
    _replace_template_db,
    _update_metadata,
    load_template,
    locked_template,
    template_owner,
    templates_root,
)
from oduflow.services.templates_meta import DUMP_FILES, dump_file, read_metadata, template_dir, write_metadata


@locked_template()
def save_as_template(
    app: App,
    team: TeamConfig,
    branch_name: str,
    template_name: str = "default",
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Make the environment's database and filestore the new baseline of ``template_name``.

    Destructive for other environments built on that template with an overlay
    filestore: their filestore changes are dropped and they restart on the new baseline.
    """
    validate_template_name(template_name)
    env = get_env(app, team, branch_name)
    client = app.docker()
    db = app.db()
    directory = template_dir(templates_root(app, team), template_name)
    build = fit(app.names.template_db(team.id, template_name) + "__build")
    staging = Path(tempfile.mkdtemp(prefix=".save-", dir=templates_root(app, team)))
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
        dependants = [
            e
            for e in app.store.list_envs(team.id)
            if e.params.get("template") == template_name and e.params.get("storage") == "overlay"
        ]
        steps.commit()  # from here on the old template is being replaced: no rollback
    stopped = []
    for rec in dependants:
        dep = get_env(app, team, rec.branch)
        c = docker_api.get_container(client, dep.container_name)
        if c is not None and c.status == "running":
            c.stop(timeout=10)
            stopped.append(c)
        progress(f"unmounting the filestore of {rec.branch}")
        app.hooks.storage("overlay").release(dep.filestore(app))
    for name in DUMP_FILES:
        (directory / name).unlink(missing_ok=True)
    (staging / "dump.pgdump").replace(directory / "dump.pgdump")
    rmtree(directory / "filestore")
    (staging / "filestore").replace(directory / "filestore")
    shutil.rmtree(staging, ignore_errors=True)
    _replace_template_db(app, team, template_name, build)
    for rec in dependants:
        dep = get_env(app, team, rec.branch)
        progress(f"remounting the filestore of {rec.branch} on the new baseline")
        ensure_filestore(app, dep)
    for c in stopped:
        c.start()
    meta = _update_metadata(
        app,
        directory,
        odoo_image=old_meta.odoo_image or env.params.odoo_image,
        repo_url=old_meta.repo_url or env.params.repo_url,
    )
    return {
        "template": template_name,
        "from_branch": env.branch,
        "status": "ready",
        "reset_environments": [r.branch for r in dependants],
        "metadata": meta.to_dict(),
    }


# --- import from a running Odoo ----------------------------------------------------------------
def _jsonrpc(url: str, params: dict[str, Any], timeout: int = 30) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ExternalCommandError(
            f"cannot reach {url}", command=f"POST {url}", output=str(getattr(exc, "reason", exc))
        ) from None
    if "error" in data:
        message = data["error"].get("data", {}).get("message") or data["error"].get("message")
        raise ExternalCommandError(f"Odoo refused {url}", command=f"POST {url}", output=str(message))
    return data.get("result")


def page_error(html: bytes) -> str:
    """The error message of an Odoo database-manager page (the text around 'error')."""
    text = re.sub(r"<[^>]+>", " ", html.decode(errors="replace"))
    text = re.sub(r"\s+", " ", text)
    match = re.search(r"[^.]{0,80}error[^<]{0,300}", text, re.IGNORECASE)
    return (match.group(0) if match else text[:300]).strip()


def _safe_extract(archive: zipfile.ZipFile, dest: Path) -> None:
    for member in archive.infolist():
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts:
            raise ValidationError(f"backup contains an unsafe path: {member.filename!r}")
    archive.extractall(dest)


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
    """Download a backup from a running Odoo's database manager and load it as a template."""
    validate_template_name(template_name)
    base = odoo_url.rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise ValidationError("odoo_url must start with http:// or https://")
    directory = template_dir(templates_root(app, team), template_name)
    if dump_file(directory) or app.db().exists(app.names.template_db(team.id, template_name)):
        raise ConflictError(f"template '{template_name}' already exists; delete it first")
    progress("detecting the Odoo version")
    version = _jsonrpc(f"{base}/web/webclient/version_info", {}) or {}
    if not db_name:
        dbs = _jsonrpc(f"{base}/jsonrpc", {"service": "db", "method": "list", "args": []}) or []
        if len(dbs) != 1:
            raise ValidationError(
                f"the server has {len(dbs)} databases ({', '.join(dbs) or 'none'}): pass db_name"
            )
        db_name = dbs[0]
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=templates_root(app, team)))
    try:
        progress(f"downloading the backup of '{db_name}'")
        form = urllib.parse.urlencode(
            {"master_pwd": master_pwd, "name": db_name, "backup_format": "zip"}
        ).encode()
        archive_path = staging / "backup.zip"
        try:
            with (
                urllib.request.urlopen(
                    f"{base}/web/database/backup",
                    data=form,  # noqa: S310
                    timeout=3600,
                ) as resp,
                archive_path.open("wb") as out,
            ):
                shutil.copyfileobj(resp, out, 1 << 20)
        except urllib.error.HTTPError as exc:
            raise ExternalCommandError(
                "backup download failed (wrong master password or database manager disabled?)",
                command="POST /web/database/backup",
                exit_code=exc.code,
            ) from None
        if not zipfile.is_zipfile(archive_path):
            raise ExternalCommandError(
                "the server did not return a backup zip (wrong master password, or list_db disabled?)",
                command="POST /web/database/backup",
                output=page_error(archive_path.read_bytes()[:200_000]),
            )
        extracted = staging / "content"
        with zipfile.ZipFile(archive_path) as archive:
            _safe_extract(archive, extracted)
        if not (extracted / "dump.sql").is_file():
            raise ValidationError("the backup has no dump.sql")
        manifest = (
            json.loads((extracted / "manifest.json").read_text())
            if (extracted / "manifest.json").is_file()
            else {}
        )
        existed = directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (extracted / "dump.sql").replace(directory / "dump.sql")
            if (extracted / "filestore").is_dir():
                rmtree(directory / "filestore")
                (extracted / "filestore").replace(directory / "filestore")
            series = str(version.get("server_serie") or manifest.get("major_version") or "")
            meta = read_metadata(directory)
            write_metadata(
                directory,
                dc_replace(
                    meta,
                    source_url=base,
                    source_db=db_name,
                    odoo_version=str(manifest.get("version") or version.get("server_version") or ""),
                    odoo_image=meta.odoo_image or (f"odoo:{series}" if series else ""),
                    modules=sorted(manifest.get("modules", {})),
                    extra={**meta.extra, "source_pg_version": str(manifest.get("pg_version", ""))},
                ),
            )
            result = load_template(app, team, template_name, progress=progress)
        except BaseException:
            if existed:  # what was there before stays; what the import brought goes
                (directory / "dump.sql").unlink(missing_ok=True)
                rmtree(directory / "filestore")
            else:
                rmtree(directory)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.update(
        {
            "source_url": base,
            "source_db": db_name,
            "odoo_version": result["metadata"].get("odoo_version"),
            "filestore_mb": round(dir_size(directory / "filestore") / 2**20, 2),
        }
    )
    return result
