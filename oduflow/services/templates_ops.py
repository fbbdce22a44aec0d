"""Template operations that run Odoo: generate, edit (up/down), save an environment as template."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from oduflow import docker_api, images
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, RouteRequest, no_progress
from oduflow.database import Database
from oduflow.errors import ConflictError, ExternalCommandError, NotFoundError, ValidationError
from oduflow.fsutil import chown_tree, dir_size, rmtree, write_private
from oduflow.layout import team_layout
from oduflow.rollback import Steps
from oduflow.services import dbpool, pgjobs, runtime
from oduflow.services.templates import (
    _replace_template_db,
    _update_metadata,
    editor_containers,
    get_template_dir,
    locked_template,
    template_owner,
)
from oduflow.services.templates_meta import DUMP_FILES, dump_file, read_metadata

EDITOR = "template_editor"


def _owner_conf(app: App, team: TeamConfig, db_name: str, directory: Path, uid: int, gid: int) -> Path:
    """An ``odoo.conf`` connecting as the team's template owner (never the superuser);
    mode 0600, owned by the image user ``uid:gid``."""
    role, password = template_owner(app, team)
    text, _ = runtime.conf_template(app, None)
    conf = directory / "odoo.conf"
    owner = runtime.OdooConf(
        db_host=app.names.db_container, db_user=role, db_password=password, db_name=db_name
    )
    write_private(conf, runtime.render_conf(text, owner), uid, gid)
    return conf


def _modules_arg(modules: str) -> str:
    names = [m.strip() for m in modules.split(",") if m.strip()]
    for m in names:
        if not m.replace("_", "").isalnum():
            raise ValidationError(f"invalid module name {m!r}")
    return ",".join(names or ["base"])


def odoo_version(app: App, image: str) -> str:
    """The version ``odoo --version`` prints in ``image`` ("" when it cannot be read)."""
    try:
        res = docker_api.run_to_completion(
            app.docker(),
            image,
            name=app.names.job_container("sys", "odoo-version"),
            labels=app.names.labels("job"),
            timeout=docker_api.PROBE_TIMEOUT,
            entrypoint=["odoo", "--version"],
            stderr=False,
            network_disabled=True,
            **runtime.hardening(app),
        )
    except Exception:  # noqa: BLE001 - version is informative only
        return ""
    return res.logs.strip().rsplit(" ", 1)[-1] if res.exit_code == 0 else ""


def _check_installed(db: Database, build: str, modules: list[str], logs: str) -> None:
    """Raise unless every requested module is installed in ``build``.

    Odoo ignores unknown names with a warning ("invalid module names, ignored") and exits 0.
    """
    rows = db.query(
        "SELECT name, state FROM public.ir_module_module WHERE name = ANY(%s)", [modules], dbname=build
    )
    states = dict(rows)
    unknown = [m for m in modules if m not in states]
    if unknown:
        raise NotFoundError(
            f"module(s) {', '.join(unknown)} not found in the image's addons: Odoo ignored them "
            "(invalid module names) and installed nothing for them"
        )
    missing = [f"{m} ({states[m]})" for m in modules if states[m] != "installed"]
    if missing:
        raise ExternalCommandError(
            f"odoo -i left module(s) {', '.join(missing)} not installed",
            command="odoo -i",
            exit_code=0,
            output=logs[-6000:],
        )


@locked_template()
def init_template(
    app: App,
    team: TeamConfig,
    odoo_image: str,
    template_name: str = "default",
    modules: str = "base",
    force: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Generate a clean template: a fresh database with ``modules`` installed, dumped and loaded."""
    layout = team_layout(app, team.id)
    directory = layout.template(template_name)
    if not force and (dump_file(directory) or (directory / "filestore").exists()):
        raise ConflictError(
            f"template '{template_name}' already has a dump or filestore; use --force to overwrite it"
        )
    mods = _modules_arg(modules)
    client = app.docker()
    docker_api.ensure_image(client, odoo_image)
    images.check_image(client, odoo_image)
    owner = runtime.image_user(app, odoo_image)
    db = app.db()
    build = app.names.template_build_db(team.id, template_name)
    work = Path(tempfile.mkdtemp(prefix="oduflow-init-template-", dir=layout.root))
    with Steps("init_template", progress) as steps:
        steps.undo(lambda: shutil.rmtree(work, ignore_errors=True))
        steps.begin("create database")
        db.drop(build)
        db.create_empty(build)
        steps.undo(lambda: db.drop(build))
        db.hand_over(build, template_owner(app, team)[0])
        steps.begin(f"odoo -i {mods}")
        _install_modules(app, team, db, odoo_image, template_name, build, mods, work, owner)
        steps.begin("dump database")
        pgjobs.dump(app, build, work / "dump.pgdump")
        steps.begin("install template")
        _install_files(work, directory)
        _replace_template_db(app, team, template_name, build)
    shutil.rmtree(work, ignore_errors=True)  # what is left there: the odoo.conf with the owner's password
    meta = _update_metadata(
        app,
        directory,
        odoo_image=odoo_image,
        modules=mods.split(","),
        odoo_version=odoo_version(app, odoo_image),
    )
    return {
        "template": template_name,
        "status": "ready",
        "modules": mods.split(","),
        "metadata": meta.to_dict(),
    }


def _install_modules(
    app: App,
    team: TeamConfig,
    db: Database,
    odoo_image: str,
    template_name: str,
    build: str,
    mods: str,
    work: Path,
    owner: tuple[int, int],
) -> None:
    """``odoo -i mods`` into the database ``build``, its filestore in ``work/filestore``."""
    uid, gid = owner
    filestore = work / "filestore"
    filestore.mkdir()
    chown_tree(filestore, uid, gid)
    job = runtime.OdooContainerSpec(
        name=app.names.job_container(team.id, f"init-template-{template_name}"),
        image=odoo_image,
        conf_file=_owner_conf(app, team, build, work, uid, gid),
        repo_dir=None,
        filestore_dir=filestore,
        db_name=build,
        labels=app.names.labels("job", team.id),
        command=["odoo", "-d", build, "-i", mods, "--stop-after-init", "--no-http", "--without-demo=all"],
    )
    code, logs = runtime.run_job(app, job)
    if code != 0:
        raise ExternalCommandError(
            f"odoo -i {mods} failed", command="odoo -i", exit_code=code, output=logs[-6000:]
        )
    _check_installed(app.db(), build, mods.split(","), logs)


def _install_files(work: Path, directory: Path) -> None:
    """Move the dump and filestore made in ``work`` into the template ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in DUMP_FILES:
        (directory / name).unlink(missing_ok=True)
    rmtree(directory / "filestore")
    (work / "dump.pgdump").replace(directory / "dump.pgdump")
    (work / "filestore").replace(directory / "filestore")


# --- template editor ------------------------------------------------------------------------
def _editor_request(team: TeamConfig, name: str) -> RouteRequest:
    return RouteRequest(team=team, owner=f"template:{name}", slug=f"template--{name}")


@locked_template()
def template_up(
    app: App, team: TeamConfig, template_name: str, odoo_image: str = "", progress: Progress = no_progress
) -> dict[str, Any]:
    """Serve the template database itself (no copy) so that it can be edited in a browser."""
    directory = get_template_dir(app, team, template_name)
    image = odoo_image or read_metadata(directory).odoo_image
    if not image:
        raise ValidationError("--odoo-image is required (the template's metadata has none)")
    if app.store.get(team.id, EDITOR, template_name):
        raise ConflictError(f"template '{template_name}' is already open in the editor")
    db = app.db()
    tdb = app.names.template_db(team.id, template_name)
    if not db.exists(tdb):
        raise NotFoundError(f"template '{template_name}' is not loaded (oduflow reload-template)")
    docker_api.ensure_image(app.docker(), image)
    images.check_image(app.docker(), image)
    uid, gid = runtime.image_user(app, image)
    name = app.names.template_container(team.id, template_name)
    request = _editor_request(team, template_name)
    with Steps("template_up", progress) as steps:
        steps.begin("open template database")
        dbpool.wait_idle(team, template_name)
        dbpool.drain(app, team, template_name)  # spares would miss the edits
        db.set_template(tdb, False)
        steps.undo(lambda: db.set_template(tdb, True))
        route = app.router.route(request)
        steps.undo(lambda: app.router.release(request))
        filestore = directory / "filestore"
        filestore.mkdir(exist_ok=True)
        chown_tree(filestore, uid, gid)
        editor_dir = directory / ".editor"
        editor_dir.mkdir(exist_ok=True)
        steps.undo(lambda: shutil.rmtree(editor_dir, ignore_errors=True))
        spec = runtime.OdooContainerSpec(
            name=name,
            image=image,
            conf_file=_owner_conf(app, team, tdb, editor_dir, uid, gid),
            repo_dir=None,
            filestore_dir=filestore,
            db_name=tdb,
            ports=route.ports,
            labels=app.names.labels("template-editor", team.id, template=template_name) | dict(route.labels),
            team=team.id,  # on the team's network like its environments (Traefik routes it there)
        )
        steps.begin("start Odoo")
        container = runtime.create_container(app, spec, restart=False)
        steps.undo(lambda: docker_api.remove_container(app.docker(), name))
        container.start()
        runtime.wait_ready(app, container, tdb)
        app.store.put(team.id, EDITOR, template_name, {"url": route.url, "image": image})
    return {
        "template": template_name,
        "url": route.url,
        "database": tdb,
        "next": f"oduflow template-down --template-name {template_name}",
    }


@locked_template()
def template_down(
    app: App, team: TeamConfig, template_name: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Stop the template editor, dump the edited database and make it a template again."""
    directory = get_template_dir(app, team, template_name)
    if not app.store.get(team.id, EDITOR, template_name):
        raise NotFoundError(f"template '{template_name}' is not open in the editor")
    progress("stopping the editor")
    for container in editor_containers(app, team, template_name):  # earlier versions' name too
        docker_api.remove_container(app.docker(), container)
    tdb = app.names.template_db(team.id, template_name)
    progress("dumping the template database")
    pgjobs.dump(app, tdb, directory / "dump.pgdump")
    (directory / "dump.sql").unlink(missing_ok=True)
    app.db().freeze(tdb)
    app.db().set_template(tdb, True)
    dbpool.refill_later(app, team, template_name)
    app.router.release(_editor_request(team, template_name))
    shutil.rmtree(directory / ".editor", ignore_errors=True)
    app.store.delete(team.id, EDITOR, template_name)
    _update_metadata(app, directory)
    return {
        "template": template_name,
        "status": "ready",
        "dump": "dump.pgdump",
        "filestore_mb": round(dir_size(directory / "filestore") / 2**20, 2),
    }
