"""The test images behave like the official ``postgres`` and ``odoo:18.0`` images where Oduflow uses them.

Everything runs on the real Docker engine: a PostgreSQL container on a private network, Odoo
stand-in containers against it, the reference addons mounted at ``/mnt/extra-addons``, and the
logs, exit codes and HTTP answers compared with the real Odoo 18 server's recorded in
``shared/reference``. Every container, network and volume made here is named
``oduflowtest-img-*``, labelled ``oduflow.test=true`` and removed at the end, even on failure.
Without a Docker engine these tests fail (they never skip). More fidelity tests are in
``test_standin_*.py``.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.images.fixtures import reference_log
from tests.images.harness import StandinEnv, exception_tail, kept, messages, records, rpc

pytestmark = pytest.mark.docker

MASTER = "master-img-pw"
VERSION_RE = r"18\.0-\d{8}"
"""A community build's version string (the reference server, an enterprise build, says 18.0+e-20241005)."""


# -- PostgreSQL ------------------------------------------------------------------------------
def test_postgres_image_has_the_official_interface(
    env: StandinEnv, images: dict[str, str], client: Any
) -> None:
    config = client.images.get(images["postgres"]).attrs["Config"]
    assert config["Entrypoint"] == ["docker-entrypoint.sh"] and config["Cmd"] == ["postgres"]
    assert "PGDATA=/var/lib/postgresql/data" in config["Env"]
    assert "5432/tcp" in config["ExposedPorts"] and "/var/lib/postgresql/data" in config["Volumes"]
    assert config["Labels"]["org.oduflow.test-image"] == "true"
    assert env.query("postgres", "SELECT current_user")[0][0] == "odoo"
    assert env.query("odoo", "SELECT current_database()")[0][0] == "odoo"
    assert env.query("postgres", "SHOW max_connections")[0][0] == "53"
    assert env.query("postgres", "SHOW server_version")[0][0].startswith("15.")
    result = env.pg.exec_run(
        [
            "bash",
            "-c",
            "command -v pg_isready psql pg_dump pg_restore && "
            "pg_isready -h 127.0.0.1 && tr '\\0' ' ' < /proc/1/cmdline && stat -c %U /proc/1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.output.decode().split()[-1] == "postgres"
    assert "config_file=/etc/postgresql/postgresql.conf" in result.output.decode()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1",
            port=env.port,
            user="odoo",
            password="wrong",
            dbname="postgres",
            connect_timeout=5,
        )


# -- Odoo image layout and base -------------------------------------------------------------
def test_odoo_image_has_the_official_layout(env: StandinEnv, images: dict[str, str], client: Any) -> None:
    config = client.images.get(images["odoo"]).attrs["Config"]
    assert (
        config["Entrypoint"] == ["/entrypoint.sh"] and config["Cmd"] == ["odoo"] and config["User"] == "odoo"
    )
    assert {"8069/tcp", "8071/tcp", "8072/tcp"} <= set(config["ExposedPorts"])
    assert "ODOO_RC=/etc/odoo/odoo.conf" in config["Env"]
    assert {"/var/lib/odoo", "/mnt/extra-addons"} <= set(config["Volumes"])
    script = (
        "id; odoo --version; ls -d /usr/lib/python3/dist-packages/odoo /usr/local/bin/wait-for-psql.py "
        "/etc/odoo/odoo.conf /mnt/extra-addons /var/lib/odoo; pg_dump --version; pip --version; "
        "command -v grep ps psql"
    )
    run = env.odoo("bash", "-c", script)
    assert run.rc == 0, run.stderr
    assert "uid=101(odoo) gid=101(odoo)" in run.stdout
    assert re.search(rf"^Odoo Server {VERSION_RE}$", run.stdout, re.M) and "(PostgreSQL) 15." in run.stdout


def test_init_base_creates_the_core_tables(env: StandinEnv, base_db: str) -> None:
    ((state, version),) = env.query(
        base_db, "SELECT state, latest_version FROM ir_module_module WHERE name='base'"
    )
    assert state == "installed" and version.startswith("18.0.")
    assert env.query(base_db, "SELECT state FROM ir_module_module WHERE name='web'") == [("installed",)]
    assert env.query(base_db, "SELECT id, active, company_id FROM res_users WHERE login='admin'") == [
        (2, True, 1)
    ]
    assert env.query(
        base_db,
        "SELECT count(*) FROM ir_config_parameter WHERE key IN "
        "('database.uuid', 'database.secret', 'web.base.url')",
    ) == [(3,)]
    for table in (
        "ir_attachment",
        "ir_mail_server",
        "ir_cron",
        "ir_ui_view",
        "ir_model",
        "ir_model_fields",
        "ir_model_data",
        "res_partner",
        "res_company",
    ):
        assert env.query(base_db, f"SELECT count(*) >= 0 FROM {table}") == [(True,)]
    assert env.query(base_db, "SELECT store_fname FROM ir_attachment LIMIT 0") == []


# -- module installs and tests, compared with the real server -------------------------------
@pytest.mark.parametrize(
    ("module", "log_name", "rc"),
    [
        ("demo_ok", "install-ok.log", 0),
        ("demo_syntax", "install-syntax.log", 255),
        ("demo_xml", "install-xml.log", 255),
    ],
)
def test_install_matches_the_real_server(
    env: StandinEnv, base_db: str, module: str, log_name: str, rc: int
) -> None:
    reference = reference_log(log_name)
    db = env.clone(base_db)
    run = env.odoo("odoo", "--addons-path=/mnt/extra-addons", "-d", db, "-i", module, "--stop-after-init")
    assert run.rc == rc, run.stderr
    keep = re.compile(
        rf"(Loading module {module}|loading {module}/|Module {module} loaded|Couldn't load|"
        "Transient module|Failed to load registry|Failed to initialize|Initiating shutdown|Modules loaded)"
    )
    assert kept(messages(run.stderr), keep) == kept(messages(reference.replace("probe1", db)), keep)
    if rc:
        normalise = lambda text: re.sub(r"ir\.ui\.view\(\d+,\)", "ir.ui.view(ID,)", text)  # noqa: E731
        assert normalise(exception_tail(run.stderr)) == normalise(exception_tail(reference))
        assert env.query(db, "SELECT state FROM ir_module_module WHERE name=%s", (module,)) == [
            ("uninstalled",)
        ]
    else:
        assert env.query(
            db, "SELECT state, latest_version FROM ir_module_module WHERE name=%s", (module,)
        ) == [("installed", "18.0.1.0.0")]
        assert env.query(
            db, "SELECT module, name FROM ir_model_data WHERE model='ir.ui.view' AND module='demo_ok'"
        ) == [("demo_ok", "demo_thing_list")]
        assert env.query(db, "INSERT INTO demo_thing (name) VALUES ('x') RETURNING create_date") == [(None,)]


def _per_test(recs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The records of the demo_failtest test module (Starting/FAIL/ERROR lines with tracebacks)."""
    return [r for r in recs if r[1].startswith("odoo.addons.demo_failtest")]


def _summary(recs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The result lines of a test run."""
    return [
        r
        for r in recs
        if r[1] == "odoo.tests.result" or "failures" in r[2] or r[2].startswith("At least one test failed")
    ]


def test_test_runs_match_the_real_server(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    ok = env.odoo(
        "odoo",
        "--addons-path=/mnt/extra-addons",
        "-d",
        db,
        "--test-enable",
        "-i",
        "demo_ok",
        "-u",
        "demo_ok",
        "--stop-after-init",
    )
    assert ok.rc == 0, ok.stderr
    http_line = re.compile(r"HTTP service \(werkzeug\) running on [\w.-]+:8069$")
    assert [m for m in messages(reference_log("test-ok.log")) if http_line.search(m)]
    assert [m for m in messages(ok.stderr) if http_line.search(m)], ok.stderr  # --test-enable starts HTTP
    summary = "INFO odoo.tests.result: 0 failed, 0 error(s) of 1 tests when loading database '{}'"
    assert summary.format("probe1") in messages(reference_log("test-ok.log"))
    assert summary.format(db) in messages(ok.stderr)
    assert "INFO odoo.addons.demo_ok.tests.test_thing: Starting TestThing.test_create ..." in messages(
        ok.stderr
    )

    fail = env.odoo(
        "odoo",
        "--addons-path=/mnt/extra-addons",
        "-d",
        db,
        "--test-enable",
        "-i",
        "demo_failtest",
        "--stop-after-init",
    )
    assert fail.rc == 1, fail.stderr
    reference = records(reference_log("test-fail.log").replace("probe1", db))
    ours = records(fail.stderr)
    assert _per_test(ours) == _per_test(reference)
    assert _summary(ours) == _summary(reference)
    stats = [
        [r[2].split(" tests ")[0] for r in recs if r[1] == "odoo.tests.stats"] for recs in (ours, reference)
    ]
    assert stats[0] == stats[1] == ["demo_failtest: 5"]

    tagged = env.odoo(
        "odoo",
        "--addons-path=/mnt/extra-addons",
        "-d",
        db,
        "--test-tags",
        "/demo_failtest:TestFail.test_pass",
        "-u",
        "demo_failtest",
        "--stop-after-init",
    )
    assert tagged.rc == 0, tagged.stderr
    assert f"INFO odoo.tests.result: 0 failed, 0 error(s) of 1 tests when loading database '{db}'" in (
        messages(tagged.stderr)
    )


# -- shell ------------------------------------------------------------------------------------
def test_shell_reads_and_writes_records(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    write = env.odoo(
        "odoo",
        "shell",
        "-d",
        db,
        "--no-http",
        stdin=(
            "p = env['res.partner'].create({'name': 'From Shell', 'email': 'shell@example.com'})\n"
            "env['res.users'].search([('login', '=', 'admin')]).password = 'changed'\n"
            "print('created', p.id, self.login)\n"
            "env.cr.commit()\n"
            "env['res.partner'].create({'name': 'Not committed'})\n"
        ),
    )
    assert write.rc == 0, write.stderr
    assert write.stdout.startswith("created ") and write.stdout.strip().endswith("__system__")
    logged = messages(write.stderr)
    assert any(re.fullmatch(rf"INFO odoo: Odoo version {VERSION_RE}", m) for m in logged), logged
    # like the real shell: server.start(preload=[], stop=True) starts and stops the server at once
    assert "INFO odoo.service.server: Initiating shutdown" in logged
    assert not [m for m in logged if "HTTP service" in m]  # no HTTP without test_enable
    read = env.odoo(
        "odoo",
        "shell",
        "-d",
        db,
        "--no-http",
        stdin=(
            "print(env['res.partner'].search_count([('name', '=', 'From Shell')]),"
            " env['res.partner'].search_count([('name', '=', 'Not committed')]),"
            " env['res.users']._login('admin', 'changed'))\n"
        ),
    )
    assert read.rc == 0 and read.stdout.strip() == "1 0 2", read.stderr
    failing = env.odoo(
        "odoo", "shell", "-d", db, "--no-http", stdin="print('before')\nraise ValueError('boom')\n"
    )
    assert failing.rc == 1 and failing.stdout.strip() == "before"
    assert failing.stderr.rstrip().endswith("ValueError: boom")


# -- HTTP -------------------------------------------------------------------------------------
def test_http_endpoints_and_backup(env: StandinEnv, base_db: str, tmp_path: Path) -> None:
    db = env.clone(base_db)
    empty = f"img_empty_{secrets.token_hex(3)}"
    env.execute("postgres", f'CREATE DATABASE "{empty}"')
    attach = env.odoo(
        "odoo",
        "shell",
        "-d",
        db,
        "--no-http",
        stdin=(
            "a = env['ir.attachment'].create({'name': 'hello.txt', 'raw': b'hello filestore'})\n"
            "print(a.store_fname)\nenv.cr.commit()\n"
        ),
    )
    assert attach.rc == 0, attach.stderr
    store_fname = attach.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{40}", store_fname)

    server, base = env.serve(tmp_path, "--dev=xml", conf=f"admin_passwd = {MASTER}\nlist_db = True\n")
    assert httpx.get(base + "/web/health").json() == {"status": "pass"}
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        login = browser.get(base + f"/web/login?db={db}")
        assert login.status_code == 200 and "oe_login_form" in login.text
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        assert browser.get(base + f"/web/login?db={empty}").status_code == 500
    assert httpx.get(base + "/web/login").status_code == 303
    version = rpc(base, "/web/webclient/version_info", {})["result"]
    assert re.fullmatch(VERSION_RE, version.pop("server_version")), version
    assert version == {
        "server_version_info": [18, 0, 0, "final", 0, ""],
        "server_serie": "18.0",
        "protocol_version": 1,
    }
    common = rpc(base, "/jsonrpc", {"service": "common", "method": "version", "args": []})["result"]
    server_version = rpc(base, "/jsonrpc", {"service": "db", "method": "server_version", "args": []})
    assert common["server_version"] == server_version["result"] == common["server_version"]
    assert re.fullmatch(VERSION_RE, server_version["result"]) and common["server_serie"] == "18.0"
    assert db in rpc(base, "/jsonrpc", {"service": "db", "method": "list", "args": []})["result"]
    assert (
        rpc(base, "/jsonrpc", {"service": "common", "method": "login", "args": [db, "admin", "admin"]})[
            "result"
        ]
        == 2
    )
    assert httpx.get(base + "/web/database/manager").status_code == 200
    assert httpx.get(base + "/no/such/page").status_code == 404

    refused = httpx.post(base + "/web/database/backup", data={"master_pwd": "wrong", "name": db}, timeout=60)
    assert refused.status_code == 200 and "Database backup error: Access Denied" in refused.text
    backup = httpx.post(
        base + "/web/database/backup",
        data={"master_pwd": MASTER, "name": db, "backup_format": "zip"},
        timeout=120,
    )
    assert backup.status_code == 200 and backup.content[:2] == b"PK", backup.text[:500]
    archive = zipfile.ZipFile(io.BytesIO(backup.content))
    names = archive.namelist()
    assert names[0] == "dump.sql" and "manifest.json" in names and f"filestore/{store_fname}" in names
    assert archive.read(f"filestore/{store_fname}") == b"hello filestore"
    manifest = json.loads(archive.read("manifest.json"))
    assert {
        "odoo_dump",
        "db_name",
        "version",
        "version_info",
        "major_version",
        "pg_version",
        "modules",
    } <= set(manifest)
    assert manifest["db_name"] == db and manifest["modules"]["base"].startswith("18.0.")
    assert manifest["pg_version"] == "15.0"
    dump = archive.read("dump.sql").decode()
    assert "CREATE TABLE public.res_partner" in dump and "OWNER TO" not in dump
    owner = server.exec_run(["stat", "-c", "%u:%g", f"/var/lib/odoo/filestore/{db}/{store_fname}"])
    assert owner.output.decode().strip() == "101:101"

    started = time.monotonic()
    server.stop(timeout=10)
    server.reload()
    assert time.monotonic() - started < 5 and server.attrs["State"]["ExitCode"] == 0


def test_list_db_off_refuses_listing_and_backup(env: StandinEnv, base_db: str, tmp_path: Path) -> None:
    db = env.clone(base_db)
    _server, base = env.serve(tmp_path, "-d", db, conf=f"admin_passwd = {MASTER}\nlist_db = False\n")
    error = rpc(base, "/jsonrpc", {"service": "db", "method": "list", "args": []})["error"]
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    refused = httpx.post(base + "/web/database/backup", data={"master_pwd": MASTER, "name": db}, timeout=60)
    assert refused.content[:2] != b"PK" and "Database backup error" in refused.text
    login = httpx.get(base + f"/web/login?db={db}", timeout=30)
    assert login.status_code == 200 and "oe_login_form" in login.text
