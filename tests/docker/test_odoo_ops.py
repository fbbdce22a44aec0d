"""The Odoo tools of one environment on the real engine (stand-in Odoo image), through the catalog."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from oduflow.app import App
from oduflow.errors import (
    BusyError,
    ConflictError,
    ExternalCommandError,
    NotFoundError,
    PrerequisiteNotMetError,
    ValidationError,
)
from oduflow.locks import LockScope
from oduflow.odoolog import parse_test_run
from oduflow.services import odoo_ops, runtime
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import TEAM, call, environment
from tests.fixtures.instance import Instance, make_remote

BRANCH = "odoo-ops-tests"
REFERENCE_LOGS = Path(__file__).resolve().parents[1] / "data" / "odoo18-logs"


@pytest.fixture(scope="module")
def branch(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = instance.app()
    remote = make_remote(
        tmp_path_factory.mktemp("odoo-ops"), "demo_ok", "demo_failtest", "demo_syntax", "demo_xml"
    )
    with environment(app, BRANCH, remote, instance.odoo_image) as name:
        yield name


def with_limits(app: App, **limits: int) -> App:
    """The same instance with other ``[limits]``."""
    return App(replace(app.config, limits=replace(app.config.limits, **limits)))


# --- install / upgrade ----------------------------------------------------------------------------
def test_install_ok_then_upgrade(app: App, branch: str) -> None:
    result = call(app, "install_odoo_modules", branch_name=branch, modules="demo_ok")
    assert result["ok"] is True, result["summary"]
    assert result["exit_code"] == 0 and result["error"] is None
    assert "demo_ok" in result["modules_loaded"]
    assert result["restart"] == {"ok": True, "status": "running"}
    assert result["summary"].startswith("install demo_ok: OK")
    assert "--stop-after-init" in result["command"] and "password" not in result["command"]
    mods = call(app, "list_installed_modules", branch_name=branch, name_filter="demo_ok")
    assert [(m["name"], m["state"]) for m in mods["modules"]] == [("demo_ok", "installed")]

    upgraded = call(app, "upgrade_odoo_modules", branch_name=branch, modules="demo_ok")
    assert upgraded["ok"] is True and upgraded["exit_code"] == 0, upgraded["summary"]
    assert upgraded["summary"].startswith("upgrade demo_ok: OK")


def test_install_syntax_error_reports_the_cause(app: App, branch: str) -> None:
    result = call(app, "install_odoo_modules", branch_name=branch, modules="demo_syntax")
    assert result["ok"] is False
    assert result["exit_code"] == 255
    assert "SyntaxError" in result["error"]["exception"]
    assert "demo_syntax" in (result["error"]["file"] or "")
    assert "demo_syntax" not in result["modules_loaded"]
    assert result["modules_not_loaded"] == ["demo_syntax"]
    assert "FAILED (exit code 255)" in result["summary"]
    assert "restart" in result  # reported whatever happened
    mods = call(app, "list_installed_modules", branch_name=branch, name_filter="demo_syntax", state="all")
    assert all(m["state"] != "installed" for m in mods["modules"])


def test_install_xml_with_missing_field_fails(app: App, branch: str) -> None:
    result = call(app, "install_odoo_modules", branch_name=branch, modules="demo_xml")
    assert result["ok"] is False and result["exit_code"] == 255
    error = result["error"]
    assert "no_such_field" in (error["exception"] or error["message"])
    assert error["file"] and error["file"].endswith("bad.xml")


def test_install_malformed_xml_fails(app: App, branch: str) -> None:
    root = "/mnt/extra-addons/demo_badxml"
    files = {
        "__init__.py": "",
        "__manifest__.py": "{'name': 'Bad XML', 'version': '18.0.1.0.0', 'depends': ['base'], "
        "'data': ['views/broken.xml'], 'license': 'LGPL-3'}\n",
        "views/broken.xml": "<odoo>\n  <record id='x' model='ir.ui.view'>\n</odoo>\n",
    }
    for rel, text in files.items():
        call(app, "write_file_in_odoo", branch_name=branch, path=f"{root}/{rel}", content=text)
    result = call(app, "install_odoo_modules", branch_name=branch, modules="demo_badxml")
    assert result["ok"] is False and result["exit_code"] == 255
    error = result["error"]
    assert "XMLSyntaxError" in (error["exception"] or "") or "ParseError" in (error["exception"] or "")
    assert error["module"] == "demo_badxml"


@pytest.mark.parametrize("modules", ["", "Sale", "sale;rm -rf /", "a,,-b", "../x"])
def test_module_names_are_validated(app: App, branch: str, modules: str) -> None:
    with pytest.raises(ValidationError):
        call(app, "install_odoo_modules", branch_name=branch, modules=modules)


# --- tests ---------------------------------------------------------------------------------------
def test_failing_tests_give_the_reference_structure(app: App, branch: str) -> None:
    result = call(app, "run_odoo_tests", branch_name=branch, modules="demo_failtest")
    reference = parse_test_run((REFERENCE_LOGS / "test-fail.log").read_text(), 1)
    assert (result["passed"], result["failed"], result["errors"]) == (1, 1, 1)
    assert result["exit_code"] == 1 and result["ok"] is False
    assert result["summary_line"] and "1 failed, 1 error(s) of 3 tests" in result["summary_line"]

    def key(f: dict) -> tuple:
        return (f["module"], f["test_class"], f["method"], f["kind"], f["message"])

    assert sorted(map(key, result["failures"])) == sorted(key(f.to_dict()) for f in reference.failures)
    for failure in result["failures"]:
        assert failure["traceback"].startswith("Traceback (most recent call last)")
        assert failure["file"].endswith("demo_failtest/tests/test_fail.py")
    assert result["summary"].startswith("3 tests: 1 passed, 1 failed, 1 error(s) (exit code 1)")


def serving_health(app: App, branch: str) -> str:
    """URL of ``/web/health`` of the environment's serving server (its container, port 8069)."""
    env = get_env(app, app.config.team(TEAM), branch)
    container = app.docker().containers.get(env.container_name)
    ip = runtime.container_ip(app, container)
    return f"http://{ip}:{runtime.ODOO_PORT}/web/health"


def poll_while(url: str, work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], list[object]]:
    """Run ``work`` while a thread requests ``url`` every 0.2 s; (its result, the answers seen)."""
    answers: list[object] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - test container
                    answers.append(resp.status)
            except (urllib.error.URLError, OSError) as exc:
                answers.append(repr(exc))
            done.wait(0.2)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        return work(), answers
    finally:
        done.set()
        thread.join(10)


def test_tests_run_beside_the_serving_server(app: App, branch: str) -> None:
    """Odoo starts its HTTP server under --test-enable whatever --no-http says: the run gets its
    own port, and the environment's server answers throughout."""
    url = serving_health(app, branch)
    result, answers = poll_while(
        url, lambda: call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok")
    )
    assert result["ok"] is True, (result["summary"], result["load_errors"], result["tail"])
    assert (result["passed"], result["failed"], result["errors"], result["exit_code"]) == (1, 0, 0, 0)
    counts = f"{result['failed']} failed, {result['errors']} error(s) of {result['total']} tests"
    assert result["summary_line"] and counts in result["summary_line"]
    port = int(result["command"].rsplit("--http-port=", 1)[1].split()[0])
    assert port != runtime.ODOO_PORT
    assert len(answers) >= 3 and set(answers) == {200}, answers


def test_a_taken_test_port_is_retried_then_reported(
    app: App, branch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serving server holds 8069: a run drawn onto it dies with "Address already in use"
    before any test (like real Odoo), is retried once elsewhere, and reported when it cannot run."""
    drawn = iter([runtime.ODOO_PORT, 0])
    monkeypatch.setattr(odoo_ops, "job_http_port", lambda: next(drawn) or 20000 + os.getpid() % 9000)
    retried = call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok")
    assert retried["ok"] is True, (retried["summary"], retried["tail"])
    assert f"--http-port={runtime.ODOO_PORT}" not in retried["command"]

    monkeypatch.setattr(odoo_ops, "job_http_port", lambda: runtime.ODOO_PORT)
    failed = call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok")
    assert failed["ok"] is False and failed["exit_code"] == 1 and failed["total"] == 0
    [issue] = failed["load_errors"]
    assert issue["exception"] == "OSError: [Errno 98] Address already in use"
    assert "Address already in use" in failed["summary"] and "exit code 1" in failed["summary"]
    assert failed["tail"].rstrip().endswith("OSError: [Errno 98] Address already in use")


def test_tags_that_select_no_test_are_not_ok(app: App, branch: str) -> None:
    result = call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok", test_tags="/no_such_module")
    assert result["exit_code"] == 0 and result["total"] == 0
    assert result["ok"] is False
    assert "no test ran" in result["summary"]


def test_passing_tests_and_test_tags(app: App, branch: str) -> None:
    result = call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok", test_tags="/demo_ok")
    assert result["ok"] is True, result["summary"]
    assert (result["passed"], result["failed"], result["errors"], result["exit_code"]) == (1, 0, 0, 0)
    assert "--test-tags=/demo_ok" in result["command"]
    with pytest.raises(ValidationError):
        call(app, "run_odoo_tests", branch_name=branch, modules="demo_ok", test_tags="x; rm -rf /")


# --- logs, commands, shell --------------------------------------------------------------------------
def test_environment_logs_are_bounded(app: App, branch: str) -> None:
    result = call(app, "get_environment_logs", branch_name=branch, lines=5)
    assert result["status"] == "running"
    assert 0 < len(result["logs"].splitlines()) <= 5
    for bad in (0, 5001):
        with pytest.raises(ValidationError):
            call(app, "get_environment_logs", branch_name=branch, lines=bad)


def test_command_runs_in_the_container_as_odoo_or_root(app: App, branch: str) -> None:
    result = call(app, "run_odoo_command", branch_name=branch, command="id -un; echo oops >&2; exit 3")
    assert result == {
        "exit_code": 3,
        "stdout": "odoo\n",
        "stderr": "oops\n",
        "timed_out": False,
        "truncated": False,
    }
    root = call(app, "run_odoo_command", branch_name=branch, command="id -u", user="root")
    assert root["stdout"] == "0\n"
    with pytest.raises(ValidationError):
        call(app, "run_odoo_command", branch_name=branch, command="id", user="postgres")
    with pytest.raises(ValidationError):
        call(app, "run_odoo_command", branch_name=branch, command="  ")


def test_command_timeout(app: App, branch: str) -> None:
    fast = with_limits(app, exec_timeout=2)
    started = time.monotonic()
    result = call(fast, "run_odoo_command", branch_name=branch, command="echo started; sleep 60")
    assert time.monotonic() - started < 15
    assert result["timed_out"] is True and result["exit_code"] in (124, 137)
    assert result["stdout"] == "started\n"
    assert "exec_timeout" in result["error"]


def test_huge_output_is_cached_per_team(app: App, branch: str) -> None:
    result = call(app, "run_odoo_command", branch_name=branch, command="seq 1 50000")
    summary = result["stdout"]
    assert "50000 lines" in summary and len(summary) < 20000
    output_id = summary.split("cached as id ", 1)[1].split("]", 1)[0]
    page = call(app, "read_output", output_id=output_id, mode="lines", start=25000, count=3)
    assert [ln.split()[-1] for ln in page["text"].splitlines()] == ["25000", "25001", "25002"]
    tail = call(app, "read_output", output_id=output_id, mode="tail", count=1)
    assert tail["text"].split()[-1] == "50000"
    with pytest.raises(NotFoundError):
        call(app, "read_output", team="2", output_id=output_id)


def test_branch_lock_is_taken_by_writing_tools_only(app: App, branch: str) -> None:
    call(app, "run_db_query", branch_name=branch, query="CREATE SEQUENCE IF NOT EXISTS oduflow_seq")
    with app.locks.hold(LockScope.branch(TEAM, branch), "test"):
        with pytest.raises(BusyError):
            call(app, "run_odoo_command", branch_name=branch, command="true")
        # a read runs read-only without the branch lock; a write needs the lock
        assert call(app, "run_db_query", branch_name=branch, query="SELECT 1 AS one")["rows"] == [[1]]
        with pytest.raises(BusyError):
            call(app, "run_db_query", branch_name=branch, query="CREATE TABLE oduflow_locked (x int)")
        with pytest.raises(BusyError):  # a SELECT that writes is refused read-only, then needs the lock
            call(app, "run_db_query", branch_name=branch, query="SELECT nextval('oduflow_seq')")
        assert (
            call(app, "read_file_in_odoo", branch_name=branch, path="/mnt/extra-addons")["type"]
            == "directory"
        )
    assert call(app, "run_db_query", branch_name=branch, query="SELECT nextval('oduflow_seq')")["rows"] == [
        [1]
    ]
    call(app, "run_db_query", branch_name=branch, query="DROP SEQUENCE oduflow_seq")


def test_shell_prints_and_reports_errors(app: App, branch: str) -> None:
    ok = call(
        app,
        "run_odoo_shell",
        branch_name=branch,
        code="print('users:', env['res.users'].search_count([]) > 0)",
    )
    assert ok["ok"] is True and ok["exit_code"] == 0
    assert ok["stdout"].strip() == "users: True"
    assert ok["error"] is None and ok["traceback"] is None

    bad = call(app, "run_odoo_shell", branch_name=branch, code="print('before')\nx = 1\n1 / 0\n")
    assert bad["ok"] is False and bad["exit_code"] != 0
    assert bad["stdout"].strip() == "before"
    assert bad["error"] == "ZeroDivisionError: division by zero"
    assert bad["traceback"].startswith("Traceback (most recent call last)")
    leftovers = call(
        app, "run_odoo_command", branch_name=branch, command="ls /tmp | grep -c oduflow-shell || true"
    )
    assert leftovers["stdout"].strip() == "0"


def test_shell_timeout(app: App, branch: str) -> None:
    fast = with_limits(app, command_timeout=3)
    started = time.monotonic()
    result = call(
        fast,
        "run_odoo_shell",
        branch_name=branch,
        code="import time\nprint('go', flush=True)\ntime.sleep(60)",
    )
    assert time.monotonic() - started < 20
    assert result["timed_out"] is True and result["ok"] is False
    assert "timed out" in result["error"] and result["stdout"].strip() == "go"


def test_reset_admin_password(app: App, branch: str) -> None:
    query = "SELECT password FROM res_users WHERE login = 'admin'"
    before = call(app, "run_db_query", branch_name=branch, query=query)["rows"]
    result = call(app, "reset_admin_password", branch_name=branch, password="s3cret-pw")
    assert result["users_changed"] == 1 and result["login"] == "admin"
    assert "s3cret-pw" not in json.dumps(result)
    after = call(app, "run_db_query", branch_name=branch, query=query)["rows"]
    assert after != before and after[0][0] != "s3cret-pw"  # stored hashed
    with pytest.raises(NotFoundError, match="nobody"):
        call(app, "reset_admin_password", branch_name=branch, login="nobody")


# --- files ------------------------------------------------------------------------------------------
def test_read_file_and_ranges(app: App, branch: str) -> None:
    path = "/mnt/extra-addons/demo_failtest/tests/test_fail.py"
    whole = call(app, "read_file_in_odoo", branch_name=branch, path=path)
    assert whole["type"] == "file" and whole["truncated"] is False
    assert whole["total_lines"] == 11 and whole["content"].startswith("from odoo.tests.common import")
    part = call(app, "read_file_in_odoo", branch_name=branch, path=path, read_range="7:8")
    assert part["content"] == '    def test_fail(self):\n        self.assertEqual(1, 2, "one is not two")\n'
    assert (part["start_line"], part["end_line"], part["total_lines"]) == (7, 8, 11)
    past = call(app, "read_file_in_odoo", branch_name=branch, path=path, read_range="50:60")
    assert past["content"] == "" and "only 11 lines" in past["note"]
    listing = call(app, "read_file_in_odoo", branch_name=branch, path="/mnt/extra-addons/")
    assert listing["type"] == "directory" and "demo_ok" in listing["listing"] and "drwx" in listing["listing"]


@pytest.mark.parametrize("read_range", ["5:2", "0:3", "abc", "1-5", "3", ":4"])
def test_bad_read_range_is_refused(app: App, branch: str, read_range: str) -> None:
    with pytest.raises(ValidationError, match="START:END"):
        call(app, "read_file_in_odoo", branch_name=branch, path="/etc/odoo/odoo.conf", read_range=read_range)


def test_read_refuses_binary_missing_and_relative(app: App, branch: str) -> None:
    call(app, "run_odoo_command", branch_name=branch, command="printf 'ab\\000cd' > /tmp/blob.bin")
    with pytest.raises(ValidationError, match="binary"):
        call(app, "read_file_in_odoo", branch_name=branch, path="/tmp/blob.bin")
    with pytest.raises(NotFoundError):
        call(app, "read_file_in_odoo", branch_name=branch, path="/no/such/file")
    with pytest.raises(ValidationError, match="absolute"):
        call(app, "read_file_in_odoo", branch_name=branch, path="etc/passwd")


def test_large_file_is_cut_at_100kb(app: App, branch: str) -> None:
    call(app, "run_odoo_command", branch_name=branch, command="seq 1 60000 > /tmp/big.txt")
    result = call(app, "read_file_in_odoo", branch_name=branch, path="/tmp/big.txt")
    assert result["truncated"] is True and result["total_lines"] == 60000
    assert "read_range" in result["note"]
    assert result["end_line"] < 60000
    # the content itself is long: the catalog cached it behind read_output
    assert "cached as id" in result["content"]
    tail = call(app, "read_file_in_odoo", branch_name=branch, path="/tmp/big.txt", read_range="59999:60000")
    assert tail["content"] == "59999\n60000\n"


def test_write_file_creates_parents_with_the_image_user(app: App, branch: str) -> None:
    path = "/tmp/oduflow-write/a/b/data.csv"
    result = call(app, "write_file_in_odoo", branch_name=branch, path=path, content="id,name\n1,é\n")
    uid, gid = (
        get_env(app, app.config.team(TEAM), branch).params.uid,
        get_env(app, app.config.team(TEAM), branch).params.gid,
    )
    assert result == {"path": path, "bytes": 13, "owner": f"{uid}:{gid}", "mode": "0644"}
    back = call(app, "read_file_in_odoo", branch_name=branch, path=path)
    assert back["content"] == "id,name\n1,é\n"
    owner = call(
        app, "run_odoo_command", branch_name=branch, command=f"stat -c %u:%g {path} /tmp/oduflow-write/a"
    )
    assert owner["stdout"].split() == [f"{uid}:{gid}", f"{uid}:{gid}"]
    with pytest.raises(ValidationError):
        call(app, "write_file_in_odoo", branch_name=branch, path="relative.txt", content="x")
    with pytest.raises(ValidationError, match="directory"):
        call(app, "write_file_in_odoo", branch_name=branch, path="/tmp", content="x")
    with pytest.raises(ValidationError, match="5 MB"):
        call(
            app,
            "write_file_in_odoo",
            branch_name=branch,
            path="/tmp/huge",
            content="x" * (5 * 1024 * 1024 + 1),
        )


def test_search_fixed_string_dash_pattern_glob_and_cap(app: App, branch: str) -> None:
    call(
        app,
        "write_file_in_odoo",
        branch_name=branch,
        path="/tmp/search/a.txt",
        content="x\n-v --dash (a.*b)\n",
    )
    call(app, "write_file_in_odoo", branch_name=branch, path="/tmp/search/b.py", content="-v --dash (a.*b)\n")
    found = call(app, "search_in_odoo", branch_name=branch, pattern="-v --dash (a.*b)", path="/tmp/search")
    assert found["matches"] == 2 and found["truncated"] is False
    assert "/tmp/search/a.txt:2:-v --dash (a.*b)" in found["results"].splitlines()
    only_py = call(
        app, "search_in_odoo", branch_name=branch, pattern="--dash", path="/tmp/search", glob="*.py"
    )
    assert only_py["results"] == "/tmp/search/b.py:1:-v --dash (a.*b)"
    none = call(app, "search_in_odoo", branch_name=branch, pattern="a.*b)x", path="/tmp/search")
    assert none["matches"] == 0 and none["results"] == ""
    addons = call(app, "search_in_odoo", branch_name=branch, pattern="_name = 'demo.thing'")
    assert addons["matches"] == 1 and "demo_ok/models/thing.py" in addons["results"]

    call(
        app,
        "run_odoo_command",
        branch_name=branch,
        command="mkdir -p /tmp/many && seq 1 800 | sed 's/^/hit /' > /tmp/many/f.txt",
    )
    capped = call(app, "search_in_odoo", branch_name=branch, pattern="hit", path="/tmp/many")
    assert capped["matches"] == 500 and capped["truncated"] is True and "500" in capped["note"]
    with pytest.raises(NotFoundError):
        call(app, "search_in_odoo", branch_name=branch, pattern="x", path="/no/such/dir")


# --- HTTP -----------------------------------------------------------------------------------------
def test_http_health_and_jsonrpc_with_comma_header(app: App, branch: str) -> None:
    health = call(app, "http_request_to_odoo", branch_name=branch)
    assert health["status"] == 200 and json.loads(health["body"]) == {"status": "pass"}
    assert health["elapsed_ms"] >= 0 and isinstance(health["headers"], dict)

    headers = json.dumps(
        {"Content-Type": "application/json", "X-Values": "a, b, c", "Accept-Language": "en-US, en;q=0.8"}
    )
    rpc = call(
        app,
        "http_request_to_odoo",
        branch_name=branch,
        method="POST",
        path="/web/webclient/version_info",
        headers=headers,
        body=json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}}),
    )
    assert rpc["status"] == 200, rpc
    assert json.loads(rpc["body"])["result"]["server_serie"].startswith("18")

    missing = call(app, "http_request_to_odoo", branch_name=branch, path="/no/such/route")
    assert missing["status"] == 404


@pytest.mark.parametrize(
    "path", ["http://example.com/x", "//example.com/x", "web/health", "/a b", "/x\r\nHost: y"]
)
def test_http_path_cannot_leave_the_environment(app: App, branch: str, path: str) -> None:
    with pytest.raises(ValidationError):
        call(app, "http_request_to_odoo", branch_name=branch, path=path)


def test_http_headers_must_be_a_json_object(app: App, branch: str) -> None:
    for bad in ("X-A: 1, X-B: 2", "[1, 2]", {"X-A": "1\r\nX-B: 2"}):
        with pytest.raises(ValidationError):
            call(app, "http_request_to_odoo", branch_name=branch, headers=bad)


# --- SQL --------------------------------------------------------------------------------------------
def test_db_query_rows_types_and_commit(app: App, branch: str) -> None:
    result = call(
        app,
        "run_db_query",
        branch_name=branch,
        query="SELECT 1 AS n, 2.5::numeric AS d, 42::numeric AS i, now() AS ts, '\\x0102'::bytea AS b, "
        "interval '1 day' AS iv, gen_random_uuid() AS u, NULL AS z",
    )
    assert result["columns"] == ["n", "d", "i", "ts", "b", "iv", "u", "z"]
    row = result["rows"][0]
    json.dumps(result)
    assert row[:3] == [1, 2.5, 42] and row[4] == "base64:AQI=" and row[7] is None
    assert result["rowcount"] == 1 and result["truncated"] is False

    call(app, "run_db_query", branch_name=branch, query="CREATE TABLE oduflow_probe (x int)")
    ins = call(app, "run_db_query", branch_name=branch, query="INSERT INTO oduflow_probe VALUES (1), (2)")
    assert ins["status"] == "INSERT 0 2" and ins["rowcount"] == 2 and ins["columns"] == []
    assert call(app, "run_db_query", branch_name=branch, query="SELECT count(*) FROM oduflow_probe")[
        "rows"
    ] == [[2]]
    call(app, "run_db_query", branch_name=branch, query="DROP TABLE oduflow_probe")


def test_db_query_row_cap(app: App, branch: str) -> None:
    result = call(app, "run_db_query", branch_name=branch, query="SELECT generate_series(1, 1200) AS n")
    assert len(result["rows"]) == 500 and result["rows"][-1] == [500]
    assert result["truncated"] is True and result["rowcount"] == 1200 and "LIMIT" in result["note"]


def test_db_query_errors(app: App, branch: str) -> None:
    with pytest.raises(ValidationError, match="syntax error"):
        call(app, "run_db_query", branch_name=branch, query="SELEC 1")
    with pytest.raises(ValidationError, match="does not exist"):
        call(app, "run_db_query", branch_name=branch, query="SELECT * FROM no_such_table")
    with pytest.raises(ValidationError, match="one SQL statement"):
        call(app, "run_db_query", branch_name=branch, query="SELECT 1; SELECT 2")


def test_db_query_statement_timeout(app: App, branch: str) -> None:
    fast = with_limits(app, query_timeout=1)
    started = time.monotonic()
    with pytest.raises(ExternalCommandError, match="longer than 1 s"):
        call(fast, "run_db_query", branch_name=branch, query="SELECT pg_sleep(5)")
    assert time.monotonic() - started < 4


def test_db_role_cannot_escape_its_database(app: App, branch: str, instance: Instance) -> None:
    with pytest.raises(
        ValidationError, match=r"permission denied|must be superuser|pg_execute_server_program"
    ):
        call(app, "run_db_query", branch_name=branch, query="COPY (SELECT 1) TO PROGRAM 'id'")
    with pytest.raises(ValidationError):
        call(app, "run_db_query", branch_name=branch, query="SELECT pg_read_file('/etc/passwd')")
    with pytest.raises(ValidationError):
        call(app, "run_db_query", branch_name=branch, query=f"SET ROLE {app.config.database.user}")
    with pytest.raises(ValidationError):
        call(app, "run_db_query", branch_name=branch, query="CREATE EXTENSION dblink")

    # another environment's database (same shape: own role, own database, CONNECT revoked)
    db = app.db()
    other_db, other_role = "oduflow_1_other-env-probe", "oduflow_u_1_other-env-probe"
    db.create_role(other_role)
    try:
        db.create_empty(other_db, owner=other_role)
        db.hand_over(other_db, other_role)
        privilege = call(
            app,
            "run_db_query",
            branch_name=branch,
            query=f"SELECT has_database_privilege('{other_db}', 'CONNECT')",
        )
        assert privilege["rows"] == [[False]]
        params = get_env(app, app.config.team(TEAM), branch).params
        with (
            pytest.raises(PrerequisiteNotMetError, match="permission denied"),
            db.connect(other_db, user=params.db_role, password=params.db_password),
        ):
            pass
    finally:
        db.drop(other_db)
        db.drop_role(other_role)


def test_list_installed_modules_filters(app: App, branch: str) -> None:
    base = call(app, "list_installed_modules", branch_name=branch, name_filter="base")
    assert any(m["name"] == "base" and m["state"] == "installed" and m["title"] for m in base["modules"])
    everything = call(app, "list_installed_modules", branch_name=branch, state="all")
    assert everything["count"] >= base["count"]
    # '_' and '%' are literal characters of the filter, not LIKE wildcards
    assert call(app, "list_installed_modules", branch_name=branch, name_filter="%", state="all")["count"] == 0
    underscored = call(app, "list_installed_modules", branch_name=branch, name_filter="demo_", state="all")
    names = {m["name"] for m in underscored["modules"]}
    assert names and all(n.startswith("demo_") for n in names)
    with pytest.raises(ValidationError):
        call(app, "list_installed_modules", branch_name=branch, state="broken")


def test_tools_refuse_a_stopped_environment(app: App, branch: str) -> None:
    call(app, "stop_environment", branch_name=branch)
    try:
        with pytest.raises(ConflictError, match="not running"):
            call(app, "read_file_in_odoo", branch_name=branch, path="/etc/odoo/odoo.conf")
        assert call(app, "get_environment_logs", branch_name=branch, lines=3)["status"] == "exited"
    finally:
        call(app, "start_environment", branch_name=branch)
    assert call(app, "http_request_to_odoo", branch_name=branch)["status"] == 200
