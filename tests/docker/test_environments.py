"""The per-branch lifecycle on the real engine, PostgreSQL, git and fuse-overlayfs."""

from __future__ import annotations

import configparser
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.errors import (
    ConflictError,
    NotFoundError,
    PrerequisiteNotMetError,
    ProtectedError,
    StepError,
    ValidationError,
)
from oduflow.fsutil import fuse_mounts_under
from oduflow.services import dbpool, env_create, environments
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance

TEAM = "1"
MAIL_SERVER_SQL = (
    "INSERT INTO public.ir_mail_server (name, smtp_host, smtp_port, smtp_authentication, smtp_encryption, "
    "sequence, active) VALUES ('prod-smtp', 'smtp.example.com', 25, 'login', 'none', 10, true)"
)
MAIL_SERVERS = "SELECT name, active FROM public.ir_mail_server ORDER BY id"


def leftovers(app: App, branch: str, slug: str) -> list[str]:
    """Everything an environment of ``slug`` could have left behind."""
    names, team = app.names, app.config.team(TEAM)
    found = []
    client = app.docker()
    if client.containers.list(all=True, filters=names.instance_filter(env=slug)):
        found.append("container")
    db = app.db()
    if db.exists(names.env_db(TEAM, slug)):
        found.append("database")
    if db.role_exists(names.env_role(TEAM, slug)):
        found.append("role")
    workspace = app.team_dir(TEAM) / "workspaces" / slug
    if workspace.exists():
        found.append("workspace")
    if fuse_mounts_under(app.team_dir(TEAM)):
        found += [f"mount {m}" for m in fuse_mounts_under(workspace.parent) if slug in str(m)]
    if app.ports(team).get(f"env:{slug}") is not None:
        found.append("port")
    if app.store.get_env(TEAM, branch) is not None:
        found.append("state record")
    return found


def http_get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback test server
        return int(resp.status)


@pytest.fixture
def remote(git_remote: Callable[..., GitRemote]) -> GitRemote:
    return git_remote("demo_ok")


@pytest.fixture(scope="module")
def default_template(instance: Instance) -> Iterator[str]:
    """A template made by ``init-template`` (base installed) with a small filestore."""
    yield from template_fixtures.base_template(instance, "default")


@pytest.fixture(scope="module")
def big_template(instance: Instance, default_template: str) -> Iterator[str]:
    """A template whose filestore exceeds the threshold (1 MB in tests): overlay storage."""
    yield from template_fixtures.overlay_template(instance, default_template, "big")


def test_template_none_full_lifecycle(
    app: App, instance: Instance, remote: GitRemote, engine_watch: EngineWatch
) -> None:
    created = call(
        app,
        "create_environment",
        branch_name="feature/none-1",
        template_name="none",
        repo_url=remote.url,
        odoo_image=instance.odoo_image,
    )
    slug = "feature-none-1"
    assert created["status"] == "running" and created["branch_created_from_default"] is True
    assert http_get(created["url"].replace("localhost", "127.0.0.1") + "/web/login") == 200
    listed = {e["branch"]: e for e in call(app, "list_environments")}
    assert listed["feature/none-1"]["status"] == "running"
    info = call(app, "get_environment_info", branch_name="feature/none-1")
    assert info["db_name"] == app.names.env_db(TEAM, slug) and "db_password" not in json.dumps(info)
    assert info["container_status"] == "running" and "cpu_percent" in info["stats"]
    db = app.db()
    role = app.names.env_role(TEAM, slug)
    assert db.query("SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname=%s", [role]) == [(False, False)]
    assert db.query(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid=m.member WHERE r.rolname=%s", [role]
    ) == [(0,)]
    assert db.query(
        "SELECT state FROM public.ir_module_module WHERE name='base'", dbname=info["db_name"]
    ) == [("installed",)]
    env = get_env(app, app.config.team(TEAM), "feature/none-1")
    # the role's password as odoo.conf holds it: what Odoo (and the entrypoint) log in with
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(env.paths.conf.read_text())
    written = conf["options"]["db_password"]
    assert conf["options"]["db_user"] == role and not written.startswith("-")
    with db.connect(info["db_name"], user=role, password=written) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
    (env.filestore(app).merged / "marker").write_text("kept")
    db.query("CREATE TABLE IF NOT EXISTS public.kept (v int)", dbname=info["db_name"])

    assert call(app, "stop_environment", branch_name="feature/none-1")["status"] == "stopped"
    assert call(app, "start_environment", branch_name="feature/none-1")["status"] == "running"
    assert call(app, "restart_environment", branch_name="feature/none-1")["status"] == "running"
    assert call(app, "rebuild_environment", branch_name="feature/none-1")["status"] == "running"
    assert (env.filestore(app).merged / "marker").read_text() == "kept"
    assert db.query("SELECT to_regclass('public.kept') IS NOT NULL", dbname=info["db_name"]) == [(True,)]

    with pytest.raises(ConflictError):
        call(
            app,
            "create_environment",
            branch_name="feature/none-1",
            template_name="none",
            repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )
    deleted = call(app, "delete_environment", branch_name="feature/none-1")
    assert set(deleted["deleted"]) >= {"container", "database", "database role", "workspace"}
    assert leftovers(app, "feature/none-1", slug) == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


def test_protection(app: App, instance: Instance, remote: GitRemote) -> None:
    call(
        app,
        "create_environment",
        branch_name="protect-me",
        template_name="none",
        repo_url=remote.url,
        odoo_image=instance.odoo_image,
    )
    team = app.config.team(TEAM)
    environments.set_protected(app, team, "protect-me", True)
    with pytest.raises(ProtectedError):
        call(app, "delete_environment", branch_name="protect-me")
    with pytest.raises(ProtectedError):
        call(app, "stop_environment", branch_name="protect-me")
    assert call(app, "restart_environment", branch_name="protect-me")["status"] == "running"
    environments.set_protected(app, team, "protect-me", False)
    before = get_env(app, team, "protect-me")
    app.db().query("CREATE TABLE public.before_recreate (v int)", dbname=before.params.db_name)
    recreated = env_create.recreate_environment(app, team, "protect-me")
    assert recreated["repo_url"] == remote.url and recreated["template"] == "none"
    assert app.db().query(
        "SELECT to_regclass('public.before_recreate') IS NULL", dbname=recreated["database"]
    ) == [(True,)]
    call(app, "delete_environment", branch_name="protect-me")
    assert leftovers(app, "protect-me", "protect-me") == []


def test_copy_template_inherits_metadata_and_sanitizes(
    app: App, instance: Instance, remote: GitRemote, default_template: str
) -> None:
    meta = app.team_dir(TEAM) / "templates" / default_template / "metadata.json"
    data = json.loads(meta.read_text())
    assert data["odoo_image"] == instance.odoo_image and data["storage"] == "copy"
    data["repo_url"] = remote.url
    meta.write_text(json.dumps(data))
    db = app.db()
    tdb = app.names.template_db(TEAM, default_template)
    assert db.query("SELECT datistemplate, datallowconn FROM pg_database WHERE datname=%s", [tdb]) == [
        (True, False)
    ]
    remote.write(".odoo_sanitize/01_mark.sql", "CREATE TABLE sanitized_by_repo (v int);")
    remote.write(
        ".odoo_sanitize/02_mark.py",
        "import os, psycopg2\nc = psycopg2.connect(host=os.environ['DB_HOST'], "
        "dbname=os.environ['ODOO_DB'], user=os.environ['DB_USER'], password=os.environ['DB_PASSWORD'])\n"
        "c.cursor().execute('CREATE TABLE sanitized_by_python (v int)'); c.commit()\n",
    )
    remote.push("sanitize scripts")
    # a production-like template: an active outgoing mail server that the team script must disable
    team = app.config.team(TEAM)
    dbpool.wait_idle(team, default_template)
    db.set_template(tdb, False)
    try:
        db.query(MAIL_SERVER_SQL, dbname=tdb)
    finally:
        db.set_template(tdb, True)
    dbpool.drain(app, team, default_template)  # spares were cloned before the row existed
    created = call(app, "create_environment", branch_name="from-default")
    try:
        assert created["template"] == "default" and created["storage"] == "copy"
        assert created["repo_url"] == remote.url and created["odoo_image"] == instance.odoo_image
        dbname = created["database"]
        assert db.query(
            "SELECT to_regclass('public.sanitized_by_repo') IS NOT NULL, "
            "to_regclass('public.sanitized_by_python') IS NOT NULL",
            dbname=dbname,
        ) == [(True, True)]
        # the row came from the template and the team script (odoo_sanitize/01_disable_mail.sql)
        # switched it off in the environment only
        assert db.query(MAIL_SERVERS, dbname=dbname) == [("prod-smtp", False)]
        db.set_template(tdb, False)
        try:
            assert db.query(MAIL_SERVERS, dbname=tdb) == [("prod-smtp", True)]
        finally:
            db.set_template(tdb, True)
    finally:
        call(app, "delete_environment", branch_name="from-default")
        db.set_template(tdb, False)
        try:
            db.query("DELETE FROM public.ir_mail_server WHERE name = 'prod-smtp'", dbname=tdb)
        finally:
            db.set_template(tdb, True)
    assert leftovers(app, "from-default", "from-default") == []


def test_overlay_environments_do_not_see_each_other(
    app: App, instance: Instance, remote: GitRemote, big_template: str
) -> None:
    team = app.config.team(TEAM)
    kw = {"template_name": big_template, "repo_url": remote.url}
    call(app, "create_environment", branch_name="ov-a", **kw)
    call(app, "create_environment", branch_name="ov-b", **kw)
    try:
        a, b = get_env(app, team, "ov-a"), get_env(app, team, "ov-b")
        assert a.params.storage == "overlay"
        fa, fb = a.filestore(app).merged, b.filestore(app).merged
        assert (fa / "ab" / "abcdef").stat().st_size == 2 << 20
        container = app.docker().containers.get(a.container_name)
        out = container.exec_run(
            [
                "sh",
                "-c",
                f"echo from-a > /var/lib/odoo/filestore/{a.params.db_name}/new.txt"
                f" && ls -ln /var/lib/odoo/filestore/{a.params.db_name}/new.txt",
            ]
        )
        assert out.exit_code == 0, out.output
        assert (fa / "new.txt").read_text() == "from-a\n"
        assert not (fb / "new.txt").exists()
        assert not (app.team_dir(TEAM) / "templates" / big_template / "filestore" / "new.txt").exists()
        assert (a.paths.workspace / "filestore_upper" / "new.txt").exists()
        assert not (a.paths.workspace / "filestore_upper" / "ab").exists()  # nothing copied up

        # a dead FUSE daemon (or a reboot) leaves a stale mount: the server start repairs it
        import subprocess

        subprocess.run(["pkill", "-f", f"fuse-overlayfs.*{a.paths.workspace}/filestore_upper"], check=True)
        import time

        time.sleep(0.5)
        assert not app.hooks.storage("overlay").is_healthy(a.filestore(app))
        repaired = environments.restore_environments(app).repaired
        assert f"{TEAM}/ov-a" in repaired
        assert (fa / "new.txt").read_text() == "from-a\n"
        out = container.exec_run(["cat", f"/var/lib/odoo/filestore/{a.params.db_name}/new.txt"])
        assert out.output == b"from-a\n"
    finally:
        call(app, "delete_environment", branch_name="ov-a")
        call(app, "delete_environment", branch_name="ov-b")
    assert leftovers(app, "ov-a", "ov-a") == [] and leftovers(app, "ov-b", "ov-b") == []


@pytest.mark.parametrize(
    ("case", "step"),
    [
        ("bad repo", "clone repository"),
        ("failing sanitize", "sanitize database"),
        ("never ready", "wait until Odoo serves the database"),
    ],
)
def test_failed_create_leaves_nothing(
    app: App,
    instance: Instance,
    git_remote: Callable[..., GitRemote],
    default_template: str,
    case: str,
    step: str,
    engine_watch: EngineWatch,
) -> None:
    files = {
        "failing sanitize": {".odoo_sanitize/01_bad.sql": "UPDATE no_such_table SET x = 1;"},
        # Odoo listens elsewhere than 8069: it never serves the database where Oduflow looks
        "never ready": {"odoo.conf": "[options]\nhttp_port = 18069\n"},
    }.get(case)
    remote = git_remote("demo_ok", files=files)
    args = {
        "branch_name": "doomed",
        "template_name": default_template,
        "repo_url": remote.url,
        "odoo_image": instance.odoo_image,
    }
    if case == "bad repo":
        args["repo_url"] = "file:///nonexistent/repo.git"
    target = app
    if case == "never ready":
        target = App(replace(app.config, limits=replace(app.config.limits, ready_timeout=8)))
    with pytest.raises(StepError) as err:
        catalog.invoke(target, target.config.team(TEAM), "create_environment", args)
    assert err.value.step.startswith(step), err.value.step
    assert step.split()[0] in str(err.value)
    assert leftovers(app, "doomed", "doomed") == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image


def test_bad_input_is_refused_before_anything_happens(
    app: App, instance: Instance, remote: GitRemote
) -> None:
    with pytest.raises(NotFoundError, match="template 'nope' does not exist"):
        call(
            app,
            "create_environment",
            branch_name="x1",
            template_name="nope",
            repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )
    with pytest.raises(ValidationError):
        call(
            app,
            "create_environment",
            branch_name="../etc",
            template_name="none",
            repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )
    local = App(replace(app.config, server=replace(app.config.server, allow_local_repos=False)))
    with pytest.raises(ValidationError, match="allow_local_repos"):
        catalog.invoke(
            local,
            local.config.team(TEAM),
            "create_environment",
            {
                "branch_name": "x2",
                "template_name": "none",
                "repo_url": remote.url,
                "odoo_image": instance.odoo_image,
            },
        )
    with pytest.raises(PrerequisiteNotMetError, match="oduflowtest-no-such-odoo:1"):  # checked first
        call(
            app,
            "create_environment",
            branch_name="x3",
            template_name="none",
            repo_url=remote.url,
            odoo_image="oduflowtest-no-such-odoo:1",
        )
    assert leftovers(app, "x1", "x1") == [] and leftovers(app, "x2", "x2") == []
    assert leftovers(app, "x3", "x3") == []


def test_parallel_creates_on_different_branches(
    app: App, instance: Instance, remote: GitRemote, engine_watch: EngineWatch
) -> None:
    """Operations on different branches run at the same time; the same branch is refused at once."""
    import threading
    import time

    from oduflow.errors import BusyError

    results: dict[str, object] = {}
    steps: dict[str, list[tuple[float, str]]] = {"par-a": [], "par-b": []}
    ended: dict[str, float] = {}

    def create(branch: str) -> None:
        def progress(message: str) -> None:
            steps[branch].append((time.monotonic(), message))

        try:
            results[branch] = catalog.invoke(
                app,
                app.config.team(TEAM),
                "create_environment",
                {
                    "branch_name": branch,
                    "template_name": "none",
                    "repo_url": remote.url,
                    "odoo_image": instance.odoo_image,
                },
                progress,
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results[branch] = exc
        finally:
            ended[branch] = time.monotonic()

    threads = [threading.Thread(target=create, args=(b,)) for b in ("par-a", "par-b")]
    for t in threads:
        t.start()
    both_creating = False  # seen: both records in state "creating" at one moment
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and any(t.is_alive() for t in threads):
        records = [app.store.get_env(TEAM, b) for b in ("par-a", "par-b")]
        both_creating = both_creating or all(r is not None and r.status == "creating" for r in records)
        if records[0] is not None:
            break  # the create of par-a holds its lock (its record exists)
        time.sleep(0.02)
    busy: Exception | None = None
    try:
        call(app, "delete_environment", branch_name="par-a")
    except BusyError as exc:
        busy = exc
    while any(t.is_alive() for t in threads):
        records = [app.store.get_env(TEAM, b) for b in ("par-a", "par-b")]
        both_creating = both_creating or all(r is not None and r.status == "creating" for r in records)
        time.sleep(0.02)
    try:
        assert all(isinstance(r, dict) and r["status"] == "running" for r in results.values()), results
        assert busy is not None and "create_environment" in str(busy)
        # each create ran its steps (inside its branch lock) while the other one was running its own
        first = {b: s[0][0] for b, s in steps.items()}
        last_step = {b: s[-1] for b, s in steps.items()}
        assert all(msg == "wait until Odoo serves the database" for _, msg in last_step.values()), steps
        assert max(first.values()) < min(ended.values()), (first, ended)
        assert first["par-a"] < last_step["par-b"][0] and first["par-b"] < last_step["par-a"][0], steps
        assert both_creating, "never saw both environments being created at the same time"
    finally:
        delete_if_present(app, "par-a", "par-b")
    assert leftovers(app, "par-a", "par-a") == [] and leftovers(app, "par-b", "par-b") == []
    engine_watch.assert_clean()  # no anonymous volume, no untagged image
