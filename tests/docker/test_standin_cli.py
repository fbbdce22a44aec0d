"""The Odoo stand-in's command line, version, test mode and storage match the real Odoo 18 server.

Each test runs the stand-in image on the real engine (against the PostgreSQL image) and compares
exit codes, output and database contents with the captures of the real server in
``tests/data/odoo18-logs`` (copies of ``shared/reference``). Without a Docker engine they fail.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.images import build
from tests.images.fixtures import reference_exit, reference_file, reference_log
from tests.images.harness import LABELS, Lab, StandinEnv, messages, records

pytestmark = pytest.mark.docker

VERSION_RE = r"18\.0-\d{8}"


def _summary(log: str) -> list[tuple[str, str, str]]:
    return [r for r in records(log) if r[1] == "odoo.tests.result"]


def _probe(lab: Lab, image: str, argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
    """Run ``argv`` as the entrypoint of a throw-away container of ``image``: (rc, stdout, stderr)."""
    container = lab.client.containers.create(
        image, name=lab.name("probe"), entrypoint=argv, labels=LABELS, network_disabled=True, **kwargs
    )
    try:
        container.start()
        rc = int(container.wait(timeout=120)["StatusCode"])
        out = container.logs(stdout=True, stderr=False).decode()
        err = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True, v=True)
    return rc, out, err


# -- command line ------------------------------------------------------------------------------
def test_unknown_option_is_a_usage_error(env: StandinEnv) -> None:
    run = env.odoo("odoo", "--no-such-option")
    assert run.rc == reference_exit("unknown-option.log") == 2
    assert run.stderr == reference_log("unknown-option.log")
    assert run.stdout == ""
    shell = env.odoo("odoo", "shell", "--no-such-option")
    assert shell.rc == 2
    assert (
        shell.stderr == "Usage: odoo shell [options]\n\nodoo shell: error: no such option: --no-such-option\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["-d", "x", "extra"], "unrecognized parameters: 'extra'"),
        (["--http-port=abc"], "option --http-port: invalid integer value: 'abc'"),
        (["-p", "abc"], "option -p: invalid integer value: 'abc'"),
        (["--addons-path=/nowhere"], "option --addons-path: no such directory: '/nowhere'"),
        (["--log", "x"], "ambiguous option: --log ("),
    ],
)
def test_command_line_errors_exit_2_like_optparse(env: StandinEnv, args: list[str], error: str) -> None:
    run = env.odoo("odoo", *args)
    assert run.rc == 2, run.stderr
    assert run.stderr.startswith(f"Usage: odoo server [options]\n\nodoo server: error: {error}"), run.stderr
    assert run.stderr.count("\n") == 3 and run.stdout == ""


def test_long_options_may_be_abbreviated_like_optparse(env: StandinEnv) -> None:
    run = env.odoo("odoo", "--versio")
    assert run.rc == 0 and re.fullmatch(rf"Odoo Server {VERSION_RE}\n", run.stdout), run.stderr


# -- version -----------------------------------------------------------------------------------
def test_version_is_a_build_string_like_the_real_server(lab: Lab, images: dict[str, str]) -> None:
    reference = reference_log("version.txt")
    assert re.fullmatch(r"Odoo Server 18\.0(\+e)?-\d{8}\n", reference)
    rc, out, err = _probe(lab, images["odoo"], ["odoo", "--version"])
    assert rc == reference_exit("version.txt") == 0, err
    assert re.fullmatch(rf"Odoo Server {VERSION_RE}\n", out)
    rc, shell_out, _ = _probe(lab, images["odoo"], ["odoo", "shell", "--version"])
    assert rc == 0 and shell_out == out
    rc, other, _ = _probe(lab, images["odoo"], ["odoo", "--version"], environment={"ODOO_VERSION": "17.0"})
    assert rc == 0 and other == out.replace("18.0-", "17.0-")


# -- test mode -----------------------------------------------------------------------------------
def test_tags_selecting_no_test_log_a_warning(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    install = env.odoo("odoo", "-d", db, "-i", "demo_ok", "--stop-after-init")
    assert install.rc == 0, install.stderr
    run = env.odoo(
        "odoo", "-d", db, "--test-tags", "/no_such_module", "-u", "demo_ok", "--stop-after-init"
    )  # fmt: skip
    assert run.rc == reference_exit("test-tags-match-nothing.log") == 0, run.stderr
    reference = reference_log("test-tags-match-nothing.log").replace("'cap1'", f"'{db}'")
    assert (
        _summary(run.stderr)
        == _summary(reference)
        == [("WARNING", "odoo.tests.result", f"0 failed, 0 error(s) of 0 tests when loading database '{db}'")]
    )


def test_test_mode_serves_http_whatever_no_http_says(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    run = env.odoo(
        "odoo", "-d", db, "--test-enable", "-i", "demo_ok", "--stop-after-init", "--no-http", "-p", "8099"
    )
    assert run.rc == 0, run.stderr
    logged = messages(run.stderr)
    http = [m for m in logged if "HTTP service (werkzeug) running on" in m]
    assert len(http) == 1 and http[0].endswith(":8099"), logged
    assert logged.index(http[0]) < logged.index("INFO odoo.tests.common: Importing test framework")
    quiet = env.odoo("odoo", "-d", db, "-u", "demo_ok", "--stop-after-init", "--no-http")
    assert quiet.rc == 0 and not [m for m in messages(quiet.stderr) if "HTTP service" in m]


def test_http_case_requests_the_runs_own_server(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    run = env.odoo("odoo", "-d", db, "--test-enable", "-i", "demo_http", "--stop-after-init", "-p", "8077")
    assert run.rc == 0, run.stderr
    assert _summary(run.stderr) == [
        ("INFO", "odoo.tests.result", f"0 failed, 0 error(s) of 2 tests when loading database '{db}'")
    ]
    started = [m for m in messages(run.stderr) if "Starting TestOwnServer." in m]
    assert len(started) == 2, run.stderr
    assert [m for m in messages(run.stderr) if m.startswith("INFO werkzeug:") and "/web/health" in m]


# -- storage ---------------------------------------------------------------------------------------
def test_translatable_fields_are_jsonb_keyed_by_language(env: StandinEnv, base_db: str) -> None:
    *columns, stored = reference_file("ir_module_module-columns.txt").splitlines()
    names = [c.split("|")[0] for c in columns]
    found = dict(
        env.query(
            base_db,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'ir_module_module' AND column_name = ANY(%s)",
            (names,),
        )
    )
    assert [f"{n}|{found[n]}" for n in names] == columns
    assert env.query(base_db, "SELECT shortdesc FROM ir_module_module WHERE name = 'base'") == [
        (json.loads(stored),)
    ]
    for table, column in (("res_groups", "name"), ("ir_model", "name"), ("ir_ui_view", "arch_db")):
        assert env.query(
            base_db,
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            (table, column),
        ) == [("jsonb",)]


def test_the_orm_reads_and_writes_translations_like_odoo(env: StandinEnv, base_db: str) -> None:
    db = env.clone(base_db)
    code = (
        "import json\n"
        "base = env['ir.module.module'].search([('shortdesc', '=', 'Base')])\n"
        "print(base.name, base.shortdesc, base.read(['shortdesc'])[0]['shortdesc'])\n"
        "sql = \"UPDATE res_country SET name = name || %s::jsonb WHERE code = 'BE'\"\n"
        "env.cr.execute(sql, [json.dumps({'fr_FR': 'Belgique'})])\n"
        "be = env['res.country'].search([('code', '=', 'BE')])\n"
        "be.name = 'Kingdom of Belgium'\n"
        "print(be.name, '|', be.with_context(lang='fr_FR').name, '|', be.with_context(lang='de_DE').name)\n"
        "env.cr.execute(\"SELECT name FROM res_country WHERE code = 'BE'\")\n"
        "print(json.dumps(env.cr.fetchone()[0], sort_keys=True))\n"
        "print(env['res.country'].search_count([('name', 'ilike', 'kingdom of belg')]))\n"
    )
    run = env.odoo("odoo", "shell", "-d", db, "--no-http", stdin=code)
    assert run.rc == 0, run.stderr
    assert run.stdout.splitlines() == [
        "base Base Base",
        "Kingdom of Belgium | Belgique | Kingdom of Belgium",
        '{"en_US": "Kingdom of Belgium", "fr_FR": "Belgique"}',
        "1",
    ]


# -- an image whose user is not 101 ----------------------------------------------------------------
def test_the_other_uid_variant_differs_only_by_its_user(
    client: Any, lab: Lab, images: dict[str, str]
) -> None:
    other = build.ensure_odoo_image(client, uid=build.OTHER_UID)
    assert other != images["odoo"] and build.odoo_tag(uid=build.OTHER_UID) == other
    config, default = (client.images.get(tag).attrs["Config"] for tag in (other, images["odoo"]))
    for key in ("Entrypoint", "Cmd", "User", "Volumes", "ExposedPorts", "Env"):
        assert config[key] == default[key], key
    script = "id -u; id -g; stat -c %u:%g /var/lib/odoo /mnt/extra-addons /etc/odoo/odoo.conf"
    rc, out, err = _probe(lab, other, ["sh", "-c", script])
    uid = str(build.OTHER_UID)
    assert rc == 0 and out.split() == [uid, uid, *[f"{uid}:{uid}"] * 3], err
