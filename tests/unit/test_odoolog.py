"""Parsing of Odoo server logs: the real Odoo 18 reference logs and synthetic Odoo 15-19 variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oduflow.odoolog import bare_failure, parse_module_operation, parse_records, parse_test_run

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "odoo18-logs"
SHARED = Path(__file__).resolve().parents[2].parent / "shared/reference"
LOGS = (
    "init-base", "install-ok", "install-syntax", "install-xml", "test-ok", "test-fail",
    "test-inside-serving-container-http-port", "test-inside-serving-container-no-http",
    "test-tags-match-nothing", "unknown-option",
)  # fmt: skip
CAPTURES = ("version.txt", "ir_module_module-columns.txt")


def log(name: str) -> str:
    return (DATA / f"{name}.log").read_text(encoding="utf-8")


def captured(name: str) -> tuple[str, int]:
    """A capture of the newer kind: Odoo's output, then a last line ``exit=N`` (the exit code)."""
    text = log(name).rstrip("\n")
    output, _, last = text.rpartition("\n")
    assert last.startswith("exit="), last
    return output + "\n", int(last.removeprefix("exit="))


def rec(level: str, logger: str, message: str, db: str = "db", sec: int = 0) -> str:
    return f"2024-05-01 10:00:{sec:02d},000 42 {level} {db} {logger}: {message}"


TB_FAIL = """Traceback (most recent call last):
  File "/mnt/extra-addons/{m}/tests/{f}.py", line 7, in {meth}
    self.assertEqual(1, 2)
AssertionError: 1 != 2
 """


@pytest.mark.parametrize("name", [f"{n}.log" for n in LOGS] + list(CAPTURES))
def test_copies_match_shared_reference(name: str) -> None:
    if not SHARED.is_dir():  # a capture missing from a present shared/reference fails
        pytest.skip("shared/reference is not next to the repository (CI): the copies are the reference")
    assert (SHARED / "odoo18-logs" / name).read_bytes() == (DATA / name).read_bytes()


# -- records -------------------------------------------------------------------------------------


def test_parse_records_joins_continuation_lines() -> None:
    records = parse_records(log("test-fail"))
    assert len(records) == 39  # 50 lines: 11 are continuation lines
    first = records[0]
    assert (first.timestamp, first.pid, first.level, first.db, first.logger) == (
        "2026-11-27 06:48:38,388",
        1,
        "INFO",
        None,
        "odoo",
    )
    assert first.message == "Odoo version 18.0+e-20241005"
    assert first.lineno == 1
    fail = next(r for r in records if r.message.startswith("FAIL:"))
    assert fail.db == "probe1"
    assert fail.logger == "odoo.addons.demo_failtest.tests.test_fail"
    assert fail.extra_lines[0] == "Traceback (most recent call last):"
    assert fail.has_traceback
    assert fail.traceback.endswith("AssertionError: 1 != 2 : one is not two")
    # a stray non-log line belongs to the record before it
    assert records[3].extra_lines == ("Warn: Can't find .pfb for face 'Courier'",)


def test_parse_records_leading_lines_colors_and_empty_input() -> None:
    text = "Starting odoo...\n" + rec("\x1b[1;31mERROR\x1b[0m", "odoo.x", "boom")
    records = parse_records(text)
    assert [(r.level, r.logger, r.message) for r in records] == [
        ("", "", "Starting odoo..."),
        ("ERROR", "odoo.x", "boom"),
    ]
    assert parse_records("") == []
    assert parse_records(rec("INFO", "odoo.x", ""))[0].message == ""


# -- test runs: reference logs -------------------------------------------------------------------


def test_test_fail_log_counts_and_failures() -> None:
    run = parse_test_run(log("test-fail"), 1)
    assert (run.passed, run.failed, run.errors, run.total, run.skipped) == (1, 1, 1, 3, 0)
    assert not run.ok
    assert run.exit_code == 1
    assert run.summary_line == (
        "odoo.tests.result: 1 failed, 1 error(s) of 3 tests when loading database 'probe1'"
    )
    assert run.modules == ["demo_failtest"]
    assert run.load_errors == []
    by_kind = {f.kind: f for f in run.failures}
    assert set(by_kind) == {"FAIL", "ERROR"}
    fail = by_kind["FAIL"]
    assert (fail.module, fail.test_file, fail.test_class, fail.method) == (
        "demo_failtest",
        "test_fail",
        "TestFail",
        "test_fail",
    )
    assert fail.message == "AssertionError: 1 != 2 : one is not two"
    assert fail.traceback.startswith("Traceback (most recent call last):")
    assert fail.traceback.endswith(fail.message)
    assert (fail.file, fail.line) == ("/mnt/extra-addons/demo_failtest/tests/test_fail.py", 8)
    error = by_kind["ERROR"]
    assert (error.test_class, error.method, error.message) == ("TestFail", "test_error", "ValueError: boom")
    assert error.line == 11
    data = run.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is False
    assert data["failures"][0]["kind"] == "ERROR"


def test_test_ok_log_all_pass() -> None:
    run = parse_test_run(log("test-ok"), 0)
    assert (run.passed, run.failed, run.errors, run.total) == (1, 0, 0, 1)
    assert run.ok
    assert run.failures == []
    assert run.summary_line is not None
    assert "0 failed, 0 error(s) of 1 tests" in run.summary_line
    assert run.modules == ["demo_ok"]


def test_nonzero_exit_code_is_never_ok() -> None:
    assert not parse_test_run(log("test-ok"), 1).ok


@pytest.mark.parametrize(
    ("name", "exception", "module"),
    [
        ("install-syntax", "SyntaxError: expected ':'", "demo_syntax"),
        ("install-xml", "odoo.tools.convert.ParseError: while parsing", "demo_xml"),
    ],
)
def test_run_that_fails_before_tests_reports_load_errors(name: str, exception: str, module: str) -> None:
    run = parse_test_run(log(name), 255)
    assert not run.ok
    assert run.total == 0
    critical = [e for e in run.load_errors if e.message.startswith("Failed to initialize database")]
    assert len(critical) == 1
    assert critical[0].exception is not None
    assert critical[0].exception.startswith(exception)
    assert critical[0].module == module
    assert critical[0].traceback.startswith("Traceback")


# -- test runs: synthetic variants ---------------------------------------------------------------


def test_setupclass_error_odoo17_suite_logger() -> None:
    text = "\n".join(
        [
            rec("INFO", "odoo.addons.m.tests.test_a", "Starting TestA.test_one ..."),
            rec("INFO", "odoo.tests.suite", "=" * 70),
            rec("ERROR", "odoo.tests.suite", "ERROR: setUpClass (odoo.addons.m.tests.test_b.TestB)"),
            "Traceback (most recent call last):",
            '  File "/usr/lib/python3/dist-packages/odoo/tests/suite.py", line 60, in _handleClassSetUp',
            "    currentClass.setUpClass()",
            '  File "/mnt/extra-addons/m/tests/test_b.py", line 9, in setUpClass',
            "    cls.partner = cls.env['res.partner'].create({})",
            'psycopg2.errors.NotNullViolation: null value in column "name"',
            "DETAIL:  Failing row contains (1).",
            " ",
            rec("ERROR", "odoo.tests.result", "0 failed, 1 error(s) of 1 tests when loading database 'db'"),
        ]
    )
    run = parse_test_run(text, 1)
    assert (run.passed, run.failed, run.errors, run.total) == (0, 0, 1, 1)
    (failure,) = run.failures
    assert (failure.module, failure.test_file, failure.test_class, failure.method, failure.kind) == (
        "m",
        "test_b",
        "TestB",
        "setUpClass",
        "ERROR",
    )
    assert failure.message == 'psycopg2.errors.NotNullViolation: null value in column "name"'
    assert (failure.file, failure.line) == ("/mnt/extra-addons/m/tests/test_b.py", 9)


def test_setupclass_error_odoo15_unittest_logger_and_teardown() -> None:
    text = "\n".join(
        [
            rec("ERROR", "unittest.suite", "ERROR: setUpClass (odoo.addons.m.tests.test_b.TestB)"),
            "Traceback (most recent call last):",
            '  File "/mnt/extra-addons/m/tests/test_b.py", line 9, in setUpClass',
            "    raise UserError('no')",
            "odoo.exceptions.UserError: no",
            rec("ERROR", "unittest.suite", "ERROR: tearDownClass (odoo.addons.m.tests.test_c.TestC)"),
            "Traceback (most recent call last):",
            '  File "/mnt/extra-addons/m/tests/test_c.py", line 3, in tearDownClass',
            "    1 / 0",
            "ZeroDivisionError: division by zero",
        ]
    )
    run = parse_test_run(text, 1)
    assert [(f.test_class, f.method, f.message) for f in run.failures] == [
        ("TestB", "setUpClass", "odoo.exceptions.UserError: no"),
        ("TestC", "tearDownClass", "ZeroDivisionError: division by zero"),
    ]
    assert run.errors == 2  # no summary line: counted from the records
    assert run.modules == ["m"]


def test_several_modules_and_odoo16_style_summary() -> None:
    text = "\n".join(
        [
            rec("INFO", "odoo.addons.sale_x.tests.test_order", "Starting TestOrder.test_confirm ..."),
            rec("INFO", "odoo.addons.sale_x.tests.test_order", "Starting TestOrder.test_cancel ..."),
            rec("ERROR", "odoo.addons.sale_x.tests.test_order", "FAIL: TestOrder.test_cancel"),
            TB_FAIL.format(m="sale_x", f="test_order", meth="test_cancel"),
            rec("INFO", "odoo.addons.stock_y.tests.test_move", "Starting TestMove.test_done ..."),
            rec("INFO", "odoo.addons.stock_y.tests.test_move", "Starting TestMove.test_split ..."),
            rec("ERROR", "odoo.addons.stock_y.tests.test_move", "FAIL: TestMove.test_split"),
            TB_FAIL.format(m="stock_y", f="test_move", meth="test_split"),
            rec("ERROR", "odoo.modules.loading", "Module stock_y: 1 failures, 0 errors of 2 tests"),
            rec("INFO", "odoo.service.server", "2 post-tests in 0.20s, 10 queries"),
            rec("ERROR", "odoo.service.server", "2 failed, 0 error(s) of 4 tests when loading database 'db'"),
        ]
    )
    run = parse_test_run(text, 1)
    assert (run.passed, run.failed, run.errors, run.total) == (2, 2, 0, 4)
    assert (
        run.summary_line == "odoo.service.server: 2 failed, 0 error(s) of 4 tests when loading database 'db'"
    )
    assert run.modules == ["sale_x", "stock_y"]
    assert [(f.module, f.test_file, f.method) for f in run.failures] == [
        ("sale_x", "test_order", "test_cancel"),
        ("stock_y", "test_move", "test_split"),
    ]
    assert all(f.message == "AssertionError: 1 != 2" for f in run.failures)


def test_python311_description_subtest_and_skips() -> None:
    lg = "odoo.addons.m.tests.test_a"
    text = "\n".join(
        [
            rec("INFO", lg, "Starting TestA.test_sub ..."),
            rec("ERROR", lg, "FAIL: Subtest (i=2)"),  # Odoo 15: no class in the description
            TB_FAIL.format(m="m", f="test_a", meth="test_sub"),
            rec("ERROR", lg, "ERROR: test_x (odoo.addons.m.tests.test_a.TestA.test_x)"),
            "Traceback (most recent call last):",
            '  File "/mnt/extra-addons/m/tests/test_a.py", line 20, in test_x',
            "    {}['k']",
            "KeyError: 'k'",
            rec("INFO", lg, "Starting TestA.test_skip ..."),
            rec("INFO", lg, "skipped TestA.test_skip : not today"),
            rec("INFO", "odoo.tests.result", "1 failed, 1 error(s) of 4 tests when loading database 'db'"),
        ]
    )
    run = parse_test_run(text, 1)
    assert (run.passed, run.failed, run.errors, run.skipped, run.total) == (1, 1, 1, 1, 4)
    assert [(f.test_class, f.method, f.kind) for f in run.failures] == [
        ("TestA", "test_sub", "FAIL"),
        ("TestA", "test_x", "ERROR"),
    ]
    assert run.failures[0].description == "Subtest (i=2)"


def test_summary_variants_with_suffix_and_zero_tests() -> None:
    aborted = "0 failed, 2 error(s) of 5 tests (1 skipped because the environment could not run them)"
    run = parse_test_run(rec("ERROR", "odoo.tests.result", f"{aborted} when loading database 'db'"), 1)
    assert (run.failed, run.errors, run.total, run.passed) == (0, 2, 5, 3)
    assert not run.ok
    empty = parse_test_run(rec("WARNING", "odoo.tests.result", "0 failed, 0 error(s) of 0 tests"), 0)
    assert not empty.ok and empty.total == 0  # no test ran: not a success


def test_tests_in_a_serving_container_on_their_own_port() -> None:
    text, code = captured("test-inside-serving-container-http-port")
    run = parse_test_run(text, code)
    assert (code, run.ok, run.total, run.passed, run.failed, run.errors) == (0, True, 1, 1, 0, 0)
    assert (
        run.summary_line == "odoo.tests.result: 0 failed, 0 error(s) of 1 tests when loading database 'cap1'"
    )
    assert run.tail == ""


def test_tests_dying_on_a_taken_port_report_the_exception() -> None:
    text, code = captured("test-inside-serving-container-no-http")
    run = parse_test_run(text, code)
    assert code == 1 and not run.ok and run.total == 0 and run.summary_line is None
    [issue] = run.load_errors
    assert issue.exception == "OSError: [Errno 98] Address already in use"
    assert "code 1" in issue.message and issue.exception in issue.message
    assert issue.traceback.startswith("Traceback (most recent call last):")
    assert "self.socket.bind(self.server_address)" in issue.traceback
    assert run.tail.endswith("OSError: [Errno 98] Address already in use")


def test_test_tags_matching_nothing_is_not_ok() -> None:
    text, code = captured("test-tags-match-nothing")
    run = parse_test_run(text, code)
    assert code == 0 and run.total == 0 and run.load_errors == []
    assert not run.ok
    assert run.summary_line is not None and "of 0 tests" in run.summary_line


def test_usage_error_is_reported() -> None:
    text, code = captured("unknown-option")
    assert code == 2
    run = parse_test_run(text, code)
    [issue] = run.load_errors
    assert issue.message == "Odoo refused its command line (exit code 2): no such option: --no-such-option"
    op = parse_module_operation(text, code, ["demo_ok"])
    assert not op.ok and op.error == issue
    assert "Usage: odoo server [options]" in op.excerpt


def test_bare_failure_without_traceback_or_usage_names_the_last_line() -> None:
    issue = bare_failure("starting\nKilled\n", 137)
    assert issue.message == "Odoo exited with code 137 without logging an error: Killed"
    assert bare_failure("", 1).message.endswith("no output")


def test_reference_summary_counts_are_odoos_own() -> None:
    """The structured counts always equal the ``odoo.tests.result`` line, whatever else was logged."""
    for name, code in (("test-ok", 0), ("test-fail", 1)):
        run = parse_test_run(log(name), code)
        assert run.summary_line is not None
        assert f"{run.failed} failed, {run.errors} error(s) of {run.total} tests" in run.summary_line
    text, code = captured("test-inside-serving-container-http-port")
    assert "demo_ok: 3 tests" in text  # odoo.tests.stats counts differently: the result line wins
    assert parse_test_run(text, code).total == 1


def test_unknown_module_name_is_a_load_error() -> None:
    text = rec("WARNING", "odoo.modules.loading", "invalid module names, ignored: nope")
    run = parse_test_run(text, 0)
    assert not run.ok
    assert run.load_errors[0].message == "invalid module names, ignored: nope"


def test_to_dict_caps_failures() -> None:
    run = parse_test_run(log("test-fail"), 1)
    data = run.to_dict(max_failures=1)
    assert len(data["failures"]) == 1
    assert data["failures_omitted"] == 1


# -- module operations ---------------------------------------------------------------------------


def test_install_ok() -> None:
    op = parse_module_operation(log("install-ok"), 0, ["demo_ok"])
    assert op.ok
    assert op.error is None
    assert op.modules_loaded == ["demo_ok"]
    assert op.modules_not_loaded == []
    # Odoo logs an ERROR about unrelated modules even on success: listed, not fatal
    assert [e.message for e in op.errors] == [
        "Some modules have inconsistent states, some dependencies may be missing: "
        "['account_online_payment', 'spreadsheet_dashboard_marketing_automation']"
    ]
    assert "Some modules have inconsistent states" in op.excerpt
    data = op.to_dict()
    assert json.loads(json.dumps(data)) == data


def test_install_syntax_error() -> None:
    op = parse_module_operation(log("install-syntax"), 255, ["demo_syntax"])
    assert not op.ok
    assert op.exit_code == 255
    assert op.error is not None
    assert op.error.level == "CRITICAL"
    assert op.error.message == "Failed to initialize database `probe1`."
    assert op.error.exception == "SyntaxError: expected ':'"
    assert (op.error.file, op.error.line) == ("/mnt/extra-addons/demo_syntax/__init__.py", 3)
    assert op.error.module == "demo_syntax"
    assert (
        op.error.summary
        == "demo_syntax: SyntaxError: expected ':' (/mnt/extra-addons/demo_syntax/__init__.py:3)"
    )
    assert "class Broken(models.Model)" in op.error.traceback
    assert op.errors[0].message == "Couldn't load module demo_syntax"
    assert op.modules_loaded == []  # it started loading and failed: never reported as loaded
    assert op.modules_not_loaded == ["demo_syntax"]
    assert "Loading module demo_syntax" in op.excerpt
    assert "SyntaxError: expected ':'" in op.excerpt
    assert len(op.excerpt) <= 6200
    assert [w.message for w in op.warnings] == ["Transient module states were reset"]
    assert op.warnings_total == 1


def test_install_xml_parse_error() -> None:
    op = parse_module_operation(log("install-xml"), 255, ["demo_xml"])
    assert not op.ok
    assert op.error is not None
    assert op.error.exception is not None
    assert op.error.exception.startswith("odoo.tools.convert.ParseError: while parsing")
    assert 'Field "no_such_field" does not exist in model "res.partner"' in op.error.exception
    assert (op.error.file, op.error.line) == ("/mnt/extra-addons/demo_xml/views/bad.xml", 2)
    assert op.error.module == "demo_xml"
    assert "no_such_field" in op.excerpt
    assert op.modules_loaded == [] and op.modules_not_loaded == ["demo_xml"]


def test_init_base() -> None:
    op = parse_module_operation(log("init-base"), 0, ["base"])
    assert op.ok
    assert op.modules_loaded[0] == "base"
    assert "web" in op.modules_loaded


def test_unknown_module_with_exit_code_zero_is_not_ok() -> None:
    text = "\n".join(
        [
            rec("INFO", "odoo.modules.loading", "updating modules list"),
            rec("WARNING", "odoo.modules.loading", "invalid module names, ignored: demo_typo"),
            rec("INFO", "odoo.modules.loading", "Modules loaded."),
        ]
    )
    op = parse_module_operation(text, 0, ["demo_typo"])
    assert not op.ok
    assert op.error is not None
    assert "demo_typo" in op.error.message
    assert op.modules_not_loaded == ["demo_typo"]
    assert "invalid module names" in op.excerpt
    # the same warning about another module does not fail this operation
    assert parse_module_operation(text, 0, ["demo_ok"]).ok


def test_failure_without_any_error_record() -> None:
    text = "\n".join(rec("INFO", "odoo.modules.loading", f"loading step {i}") for i in range(100))
    op = parse_module_operation(text, 137, ["m"])
    assert not op.ok
    assert op.error is not None
    assert "exited with code 137" in op.error.message
    assert "loading step 99" in op.error.message
    assert "loading step 99" in op.excerpt
    assert "loading step 10\n" not in op.excerpt  # only the tail


def test_warnings_are_capped_and_counted() -> None:
    text = "\n".join(rec("WARNING", "odoo.models", f"field w{i} is weird") for i in range(50))
    op = parse_module_operation(text, 0, ["m"])
    assert op.ok
    assert len(op.warnings) == 20
    assert op.warnings_total == 50
    assert op.excerpt == ""


def test_error_traceback_inside_operated_module_is_located() -> None:
    text = "\n".join(
        [
            rec("INFO", "odoo.modules.loading", "Loading module m (3/31)"),
            rec("CRITICAL", "odoo.service.server", "Failed to initialize database `db`."),
            "Traceback (most recent call last):",
            '  File "/mnt/extra-addons/m/models/thing.py", line 12, in <module>',
            "    class Thing(models.Model):",
            '  File "/usr/lib/python3/dist-packages/odoo/fields.py", line 300, in __init__',
            "    raise TypeError('bad')",
            "TypeError: bad",
        ]
    )
    op = parse_module_operation(text, 255, ["m"])
    assert op.error is not None
    assert (op.error.file, op.error.line, op.error.module) == ("/mnt/extra-addons/m/models/thing.py", 12, "m")
