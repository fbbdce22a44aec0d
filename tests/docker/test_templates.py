"""Templates on the real engine: dumps, the editor, save-as-template and import round trips."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.errors import ConflictError, ExternalCommandError, NotFoundError
from oduflow.services import cleanup, runtime, templates, templates_ops
from oduflow.services.envmodel import get_env
from tests.docker.failure_checks import instance_orphans
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures.instance import GitRemote, Instance

TEAM = "1"


def status(app: App, name: str) -> str:
    return {t["name"]: t["status"] for t in call(app, "list_templates")}.get(name, "absent")


def make_wheel(directory: Path, name: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel (so pip installs it without any index or build step)."""
    import base64
    import hashlib
    import zipfile

    directory.mkdir(parents=True, exist_ok=True)
    info = f"{name}-1.0.dist-info"
    content = dict(files)
    content[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    content[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in content.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    content[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in content.items():
            zf.writestr(path, text)
    return wheel


def table_exists(app: App, template_db: str, table: str) -> bool:
    """Look into a template database (which refuses connections while it is a template)."""
    db = app.db()
    db.set_template(template_db, False)
    try:
        return bool(
            db.query("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"], dbname=template_db)[0][0]
        )
    finally:
        db.set_template(template_db, True)


@pytest.fixture(scope="module")
def base_template(instance: Instance) -> str:
    app = instance.app()
    team = app.config.team(TEAM)
    templates_ops.init_template(app, team, instance.odoo_image, "tbase", "base")
    yield "tbase"
    if (app.team_dir(TEAM) / "templates" / "tbase").exists():
        templates.delete_template(app, team, "tbase")


def test_init_template_refuses_overwrite_and_reload_from_sql(
    app: App, instance: Instance, base_template: str
) -> None:
    team = app.config.team(TEAM)
    with pytest.raises(ConflictError, match="--force"):
        templates_ops.init_template(app, team, instance.odoo_image, base_template)
    # a plain SQL dump placed by hand: listed as DB NOT LOADED until reload-template
    plain = app.team_dir(TEAM) / "templates" / "fromsql"
    plain.mkdir()
    custom = (app.team_dir(TEAM) / "templates" / base_template / "dump.pgdump").read_bytes()
    sql = subprocess.run(
        ["docker", "exec", "-i", app.names.db_container, "pg_restore", "--no-owner", "-f", "-"],
        input=custom,
        capture_output=True,
        check=True,
    ).stdout
    (plain / "dump.sql").write_bytes(sql)
    try:
        assert status(app, "fromsql") == "DB NOT LOADED"
        with pytest.raises(NotFoundError, match="not loaded"):
            call(
                app,
                "create_environment",
                branch_name="nope",
                template_name="fromsql",
                repo_url="file:///x",
                odoo_image=instance.odoo_image,
            )
        result = templates.reload_template(app, team, "fromsql")
        assert result["status"] == "ready" and status(app, "fromsql") == "ready"
        meta = json.loads((plain / "metadata.json").read_text())
        assert meta["pg_version"].startswith("15") and meta["storage"] == "copy"
        # a dump is outside content: it runs as the team's template owner, never the superuser
        (plain / "dump.sql").write_text("COPY (SELECT 1) TO PROGRAM 'id';\n")
        with pytest.raises(ExternalCommandError, match="pg_execute_server_program"):
            templates.reload_template(app, team, "fromsql")
        (plain / "dump.sql").write_text("this is not SQL;\n")
        with pytest.raises(ExternalCommandError, match=r"dump\.sql line 1: the statement failed"):
            templates.reload_template(app, team, "fromsql")
        assert status(app, "fromsql") == "ready"  # the old database is kept when a reload fails
    finally:
        call(app, "delete_template", template_name="fromsql")
    assert status(app, "fromsql") == "absent"
    assert not app.db().exists(app.names.template_db(TEAM, "fromsql"))


def test_template_editor_up_and_down(app: App, instance: Instance, base_template: str) -> None:
    team = app.config.team(TEAM)
    up = templates_ops.template_up(app, team, base_template, instance.odoo_image)
    tdb = app.names.template_db(TEAM, base_template)
    try:
        assert up["url"].startswith("http://localhost:")
        with pytest.raises(ConflictError, match="template editor"):
            templates.delete_template(app, team, base_template)
        app.db().query("CREATE TABLE public.edited_in_editor (v int)", dbname=tdb)
    finally:
        down = templates_ops.template_down(app, team, base_template)
    assert down["status"] == "ready"
    assert app.db().query("SELECT datistemplate, datallowconn FROM pg_database WHERE datname=%s", [tdb]) == [
        (True, False)
    ]
    assert not app.docker().containers.list(
        all=True, filters=app.names.instance_filter(role="template-editor")
    )
    templates.reload_template(app, team, base_template)  # the dump holds the edit
    assert table_exists(app, tdb, "edited_in_editor")


def test_save_as_template_round_trip(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], base_template: str
) -> None:
    team = app.config.team(TEAM)
    remote = git_remote("demo_ok")
    call(
        app,
        "create_environment",
        branch_name="baseline",
        template_name=base_template,
        repo_url=remote.url,
        odoo_image=instance.odoo_image,
    )
    try:
        env = get_env(app, team, "baseline")
        app.db().query(
            "CREATE TABLE public.from_branch (v int); INSERT INTO public.from_branch VALUES (42)",
            dbname=env.params.db_name,
        )
        p = env.params
        with app.db().connect(p.db_name, user=p.db_role, password=p.db_password) as conn:
            conn.execute("CREATE FUNCTION elevate() RETURNS int SECURITY DEFINER LANGUAGE sql AS 'SELECT 1'")
        (env.filestore(app).merged / "branch-file").write_text("snapshot me")
        saved = call(app, "save_as_template", branch_name="baseline", template_name="saved")
        assert saved["status"] == "ready" and status(app, "saved") == "ready"
        tdb = app.names.template_db(TEAM, "saved")
        app.db().set_template(tdb, False)
        try:  # what a team wrote never becomes the superuser's (SECURITY DEFINER escalation)
            owners = app.db().query(
                "SELECT r.rolname, r.rolsuper FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
                "WHERE p.proname = 'elevate'",
                dbname=tdb,
            )
        finally:
            app.db().set_template(tdb, True)
        assert owners == [(app.names.template_role(TEAM), False)]
        call(app, "create_environment", branch_name="from-saved", template_name="saved")
        child = get_env(app, team, "from-saved")
        assert child.params.repo_url == remote.url  # inherited from the new template's metadata
        assert app.db().query("SELECT v FROM public.from_branch", dbname=child.params.db_name) == [(42,)]
        assert (child.filestore(app).merged / "branch-file").read_text() == "snapshot me"
        # deleting the source environment works: nothing in the template belongs to its role
        call(app, "delete_environment", branch_name="baseline")
        call(app, "delete_environment", branch_name="from-saved")
    finally:
        delete_if_present(app, "baseline", "from-saved")
        if status(app, "saved") != "absent":
            call(app, "delete_template", template_name="saved")


def test_import_template_from_a_running_odoo(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], base_template: str
) -> None:
    team = app.config.team(TEAM)
    remote = git_remote(
        "demo_ok", files={"odoo.conf": "[options]\nlist_db = True\nadmin_passwd = master-pw\n"}
    )
    created = call(
        app,
        "create_environment",
        branch_name="source-odoo",
        template_name=base_template,
        repo_url=remote.url,
        odoo_image=instance.odoo_image,
    )
    try:
        env = get_env(app, team, "source-odoo")
        with app.db().connect(
            env.params.db_name, user=env.params.db_role, password=env.params.db_password
        ) as c:
            c.execute("CREATE TABLE imported_marker (v int)")  # as Odoo would: owned by the env role
        (env.filestore(app).merged / "ab").mkdir()
        (env.filestore(app).merged / "ab" / "attachment").write_text("travels in the zip")
        container = app.docker().containers.get(env.container_name)
        url = f"http://{runtime.container_ip(app, container)}:8069"
        with pytest.raises(ExternalCommandError, match="backup"):
            call(
                app,
                "import_template_from_odoo",
                odoo_url=url,
                master_pwd="wrong",
                template_name="imp",
                db_name=created["database"],
            )
        assert status(app, "imp") == "absent"
        result = call(
            app, "import_template_from_odoo", odoo_url=url, master_pwd="master-pw", template_name="imp"
        )  # the database is detected: the server lists one
        assert result["status"] == "ready" and result["source_db"] == created["database"]
        meta = result["metadata"]
        assert meta["odoo_version"].startswith("18.0") and meta["source_url"] == url
        imported = app.team_dir(TEAM) / "templates" / "imp"
        assert (imported / "filestore" / "ab" / "attachment").read_text() == "travels in the zip"
        assert table_exists(app, app.names.template_db(TEAM, "imp"), "imported_marker")
        with pytest.raises(ConflictError):
            call(app, "import_template_from_odoo", odoo_url=url, master_pwd="master-pw", template_name="imp")
    finally:
        call(app, "delete_environment", branch_name="source-odoo")
        if status(app, "imp") != "absent":
            call(app, "delete_template", template_name="imp")


def test_dependencies_are_installed_once_and_cached(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], tmp_path: Path
) -> None:
    wheel = make_wheel(
        tmp_path / "wheels", "oduflow_dep_probe", {"oduflow_dep_probe/__init__.py": "VALUE = 7\n"}
    )
    remote = git_remote("demo_ok", files={"requirements.txt": f"/mnt/repo/wheels/{wheel.name}\n"})
    (remote.work / "wheels").mkdir()
    shutil.copyfile(wheel, remote.work / "wheels" / wheel.name)
    remote.push("wheel")
    messages: list[str] = []
    team = app.config.team(TEAM)
    try:
        for branch in ("deps-a", "deps-b"):
            catalog.invoke(
                app,
                team,
                "create_environment",
                {
                    "branch_name": branch,
                    "template_name": "none",
                    "repo_url": remote.url,
                    "odoo_image": instance.odoo_image,
                },
                messages.append,
            )
        a, b = get_env(app, team, "deps-a"), get_env(app, team, "deps-b")
        assert a.params.run_image == b.params.run_image != instance.odoo_image
        assert messages.count("dependencies: python requirements") == 1
        assert "dependencies: cached image reused" in messages
        out = (
            app.docker()
            .containers.get(a.container_name)
            .exec_run(["python3", "-c", "import oduflow_dep_probe; print(oduflow_dep_probe.VALUE)"])
        )
        assert out.output.strip() == b"7"
    finally:
        delete_if_present(app, "deps-a", "deps-b")
        images = app.docker().images.list(name=f"{app.names.prefix}-deps")
        for image in images:
            app.docker().images.remove(image.id, force=True)


def test_cleanup_reports_then_removes_orphans(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    team = app.config.team(TEAM)
    remote = git_remote("demo_ok")
    call(
        app,
        "create_environment",
        branch_name="orphaned",
        template_name="none",
        repo_url=remote.url,
        odoo_image=instance.odoo_image,
    )
    app.store.remove_env(TEAM, "orphaned")  # the record is lost: everything else is an orphan
    report = cleanup.cleanup(app, team)
    found = report["orphans"]
    assert report["dry_run"] is True
    assert found["containers"] == [app.names.env_container(TEAM, "orphaned")]
    assert found["databases"] == [app.names.env_db(TEAM, "orphaned")]
    assert found["roles"] == [app.names.env_role(TEAM, "orphaned")]
    assert found["workspaces"] == ["orphaned"] and found["ports"] == ["env:orphaned"]
    assert app.db().exists(app.names.env_db(TEAM, "orphaned"))  # dry run changed nothing
    removed = cleanup.cleanup(app, team, force=True)
    assert removed["removed"] >= 5 and "errors" not in removed
    assert not any(instance_orphans(app, team).values())


def test_spare_clones_make_creation_a_rename(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote], base_template: str
) -> None:
    from oduflow.services import dbpool

    team = app.config.team(TEAM)
    remote = git_remote("demo_ok")
    dbpool.wait_idle(team, base_template)
    dbpool.fill(app, team, base_template)
    [spare] = dbpool.spares(app, team, base_template)
    kw = {"template_name": base_template, "repo_url": remote.url, "odoo_image": instance.odoo_image}
    try:
        created = call(app, "create_environment", branch_name="pooled-1", **kw)
        assert not app.db().exists(spare)  # renamed into the environment's database
        assert app.db().query(
            "SELECT state FROM public.ir_module_module WHERE name='base'", dbname=created["database"]
        ) == [("installed",)]
        dbpool.wait_idle(team, base_template)  # the background refill
        [refilled] = dbpool.spares(app, team, base_template)
        assert refilled != spare and app.db().exists(refilled)
        # a reload makes the spare stale: it is dropped, never used
        templates.reload_template(app, team, base_template)
        dbpool.wait_idle(team, base_template)
        created2 = call(app, "create_environment", branch_name="pooled-2", **kw)
        assert not app.db().exists(refilled)
        assert created2["status"] == "running"
    finally:
        delete_if_present(app, "pooled-1", "pooled-2")
        dbpool.wait_idle(team, base_template)
    assert not any(instance_orphans(app, team).values())
