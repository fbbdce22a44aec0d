"""Every Odoo command line Oduflow runs inside a serving environment container, run the way Oduflow runs it.

A serving stand-in container is started like an environment's (the product's ``odoo.conf``
rendered by :func:`oduflow.services.runtime.render_conf`, the product's serving command, the
image's entrypoint) and already listens on 8069. The argv come from the product
(:func:`oduflow.services.odoo_ops.odoo_argv`, :func:`~oduflow.services.odoo_ops.shell_argv`,
:func:`~oduflow.services.odoo_ops.job_http_port`) and run through ``docker exec`` with the
product's :func:`oduflow.docker_api.exec_in`; exit codes and logs are compared with the captures
of the real server made the same way (``test-inside-serving-container-*.log``,
``test-tags-match-nothing.log``, ``unknown-option.log``). ``/web/health`` of the serving server
is polled while each run goes and must answer 200 throughout.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import oduflow
from oduflow import docker_api
from oduflow.docker_api import ExecResult
from oduflow.odoolog import parse_test_run
from oduflow.services import odoo_ops, runtime
from tests.images.fixtures import reference_exit, reference_log
from tests.images.harness import PG_PASSWORD, StandinEnv, exception_tail, kept, messages, records

pytestmark = pytest.mark.docker

BUNDLED_CONF = Path(oduflow.__file__).parent / "resources" / "odoo.conf"
ADDRESS_IN_USE = "OSError: [Errno 98] Address already in use"
_SUMMARY = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")


@dataclass
class Serving:
    """An environment-like serving container and its database."""

    container: Any
    base: str
    db: str


def _serve(env: StandinEnv, base_db: str, tmp_path: Path, extra_conf: str = "") -> Serving:
    db = env.clone(base_db)
    conf = runtime.OdooConf(db_host=env.pg.name, db_user="odoo", db_password=PG_PASSWORD, db_name=db)
    text = runtime.render_conf(BUNDLED_CONF.read_text() + extra_conf, conf)
    spec = runtime.OdooContainerSpec(
        name="unused",
        image=env.images["odoo"],
        conf_file=tmp_path,
        repo_dir=None,
        filestore_dir=None,
        db_name=db,
    )
    container, base = env.serve_conf(tmp_path, text, spec.command)  # the product's serving command
    return Serving(container, base, db)


def _test_argv(serving: Serving, module: str, *extra: str, port: int | None = None) -> list[str]:
    """The product's argv of a test run of ``module`` (installed and updated) on its own port."""
    return odoo_ops.odoo_argv(
        serving.db, "--test-enable", *extra, "-i", module, "-u", module,
        http_port=odoo_ops.job_http_port() if port is None else port,
    )  # fmt: skip


@pytest.fixture(scope="module")
def serving(env: StandinEnv, base_db: str, tmp_path_factory: pytest.TempPathFactory) -> Serving:
    return _serve(env, base_db, tmp_path_factory.mktemp("serving"))


@pytest.fixture(scope="module")
def serving_test_enable(env: StandinEnv, base_db: str, tmp_path_factory: pytest.TempPathFactory) -> Serving:
    """A serving container whose ``odoo.conf`` (e.g. a repository's) sets ``test_enable``."""
    return _serve(env, base_db, tmp_path_factory.mktemp("serving-tests"), "test_enable = True\n")


@contextmanager
def health_polled(base: str) -> Iterator[list[int]]:
    """Poll ``GET /web/health`` of the serving server before, every 0.1 s during and after; the statuses."""
    statuses: list[int] = []
    stop = threading.Event()

    def once() -> None:
        try:
            statuses.append(httpx.get(base + "/web/health", timeout=5).status_code)
        except httpx.HTTPError:
            statuses.append(0)

    def poll() -> None:
        while not stop.wait(0.1):
            once()

    once()
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join(10)
        once()


def run_in(serving: Serving, argv: list[str]) -> ExecResult:
    """``docker exec`` of ``argv`` like Oduflow's Odoo runs, the serving server polled meanwhile."""
    with health_polled(serving.base) as statuses:
        res = docker_api.exec_in(serving.container, argv, user=odoo_ops.IMAGE_USER, timeout=600)
    assert len(statuses) >= 2 and set(statuses) == {200}, statuses
    return res


def _without_http_port(argv: list[str]) -> list[str]:
    """The argv Oduflow used before it gave each run its own port (``--http-port`` left out)."""
    return [a for a in argv if not a.startswith("--http-port")]


def _summary_counts(log: str) -> tuple[int, int, int]:
    lines = [r[2] for r in records(log) if r[1] == "odoo.tests.result"]
    assert len(lines) == 1, log
    match = _SUMMARY.match(lines[0])
    assert match, lines
    failed, errors, total = (int(g) for g in match.groups())
    return failed, errors, total


def _http_lines(log: str) -> list[str]:
    return [m for m in messages(log) if "HTTP service (werkzeug) running on" in m]


# -- tests inside the serving container ------------------------------------------------------------
def test_a_test_run_on_the_serving_port_dies_like_the_real_server(serving: Serving) -> None:
    name = "test-inside-serving-container-no-http.log"
    argv = _without_http_port(odoo_ops.odoo_argv(serving.db, "--test-enable", "-i", "demo_ok", http_port=1))
    assert "--no-http" in argv and "--stop-after-init" in argv
    res = run_in(serving, argv)
    assert res.exit_code == reference_exit(name) == 1, res.stderr
    reference = reference_log(name)
    assert res.stderr.rstrip().endswith(ADDRESS_IN_USE) and reference.rstrip().endswith(ADDRESS_IN_USE)
    assert exception_tail(res.stderr) == exception_tail(reference) == ADDRESS_IN_USE
    # the same records, then a bare traceback out of the HTTP service's bind in the main thread
    assert [r[:2] for r in records(res.stderr)] == [r[:2] for r in records(reference)]
    for log in (res.stderr, reference):
        frames = re.findall(r"^  File .*, in (\w+)$", log, re.M)
        assert frames[-2:] == ["server_bind", "server_bind"] and "http_spawn" in frames, frames
    assert res.stdout == ""


def test_a_test_run_serves_beside_the_serving_server(serving: Serving) -> None:
    name = "test-inside-serving-container-http-port.log"
    port = odoo_ops.job_http_port()
    argv = _test_argv(serving, "demo_ok", port=port)
    res = run_in(serving, argv)
    assert res.exit_code == reference_exit(name) == 0, res.stderr
    assert [h.rsplit(":", 1)[1] for h in _http_lines(res.stderr)] == [str(port)]
    reference = reference_log(name).replace("cap1", serving.db).replace(":8089", f":{port}")
    keep = re.compile(
        r"(HTTP service|Importing test|Starting TestThing|post-tests|tests\.stats|tests\.result|shutdown)"
    )
    hostless = [re.sub(r"running on [\w.-]+:", "running on HOST:", m) for m in messages(res.stderr)]
    expected = [re.sub(r"running on [\w.-]+:", "running on HOST:", m) for m in messages(reference)]
    assert kept(hostless, keep) == kept(expected, keep)
    run = parse_test_run(res.stderr, res.exit_code)
    assert (run.failed, run.errors, run.total) == _summary_counts(res.stderr) == (0, 0, 1)
    assert run.passed >= 1 and run.ok


def test_failing_tests_beside_the_serving_server(serving: Serving) -> None:
    argv = _test_argv(serving, "demo_failtest")
    res = run_in(serving, argv)
    assert res.exit_code == 1, res.stderr
    reference = reference_log("test-fail.log").replace("probe1", serving.db)
    per_test = [r for r in records(res.stderr) if r[1].startswith("odoo.addons.demo_failtest")]
    assert per_test == [r for r in records(reference) if r[1].startswith("odoo.addons.demo_failtest")]
    run = parse_test_run(res.stderr, res.exit_code)
    assert (run.failed, run.errors, run.total) == _summary_counts(res.stderr) == (1, 1, 3)
    assert sorted((f.kind, f.test_class, f.method) for f in run.failures) == [
        ("ERROR", "TestFail", "test_error"),
        ("FAIL", "TestFail", "test_fail"),
    ]
    assert not run.ok


def test_test_tags_selecting_nothing_beside_the_serving_server(serving: Serving) -> None:
    name = "test-tags-match-nothing.log"
    argv = _test_argv(serving, "demo_ok", "--test-tags=/no_such_module")
    res = run_in(serving, argv)
    assert res.exit_code == reference_exit(name) == 0, res.stderr
    reference = reference_log(name).replace("cap1", serving.db)
    summary = [r for r in records(res.stderr) if r[1] == "odoo.tests.result"]
    assert summary == [r for r in records(reference) if r[1] == "odoo.tests.result"]
    assert summary[0][0] == "WARNING"
    run = parse_test_run(res.stderr, res.exit_code)
    assert (run.failed, run.errors, run.total) == _summary_counts(res.stderr) == (0, 0, 0)
    assert not run.ok  # no test ran


def test_http_case_tests_reach_the_runs_own_server(serving: Serving) -> None:
    port = odoo_ops.job_http_port()
    argv = _test_argv(serving, "demo_http", port=port)
    res = run_in(serving, argv)
    assert res.exit_code == 0, res.stderr
    run = parse_test_run(res.stderr, res.exit_code)
    assert (run.failed, run.errors, run.total) == _summary_counts(res.stderr) == (0, 0, 2)
    assert (run.passed, run.skipped) == (2, 0), res.stderr  # run, not skipped
    assert [h.rsplit(":", 1)[1] for h in _http_lines(res.stderr)] == [str(port)]
    # the requests were answered (and logged) by the run's own server, not by the serving one
    served = [m for m in messages(res.stderr) if m.startswith("INFO werkzeug:")]
    assert [m for m in served if '"GET /web/health HTTP/1.1" 200' in m], served
    assert [m for m in served if '"POST /web/session/authenticate HTTP/1.1" 200' in m], served


# -- install / upgrade, usage errors -------------------------------------------------------------------
def test_install_and_upgrade_do_not_serve(serving: Serving) -> None:
    for args in (("-i", "demo_ok"), ("-u", "demo_ok")):
        res = run_in(serving, odoo_ops.odoo_argv(serving.db, *args, http_port=odoo_ops.job_http_port()))
        assert res.exit_code == 0, res.stderr
        assert not _http_lines(res.stderr)  # --no-http holds outside test mode
        assert "INFO odoo.modules.loading: Modules loaded." in messages(res.stderr)


def test_an_unknown_option_is_a_usage_error_in_the_container(serving: Serving) -> None:
    res = run_in(serving, ["odoo", "--no-such-option"])
    assert res.exit_code == reference_exit("unknown-option.log") == 2
    assert res.stderr == reference_log("unknown-option.log") and res.stdout == ""


# -- odoo shell ------------------------------------------------------------------------------------------
def _shell(serving: Serving, code: str, argv: list[str] | None = None) -> ExecResult:
    """Run ``code`` with the product's ``shell_argv`` (or ``argv``), the code in a file like Oduflow does."""
    path = "/tmp/oduflow-shell-fidelity.py"
    docker_api.put_file(serving.container, path, code.encode(), mode=0o600, uid=101, gid=101)
    try:
        return run_in(serving, argv or odoo_ops.shell_argv(serving.db, path, odoo_ops.job_http_port()))
    finally:
        docker_api.exec_in(serving.container, ["rm", "-f", path], user="root", timeout=30)


def test_shell_argv_runs_code_beside_the_serving_server(serving: Serving) -> None:
    res = _shell(serving, "print(env['res.users'].search([('login', '=', 'admin')]).login)\n")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "admin\n"
    assert "INFO odoo.service.server: Initiating shutdown" in messages(res.stderr)  # server.start(stop=True)
    assert not _http_lines(res.stderr)


def test_with_test_enable_in_the_conf_every_run_needs_its_own_port(serving_test_enable: Serving) -> None:
    serving = serving_test_enable
    code = "print(env.cr.dbname)\n"
    plain = [
        "sh",
        "-c",
        f"exec odoo shell -c {runtime.CONF_PATH} -d {serving.db} --no-http < /tmp/oduflow-shell-fidelity.py",
    ]
    died = _shell(serving, code, plain)
    assert died.exit_code == 1 and died.stderr.rstrip().endswith(ADDRESS_IN_USE), died.stderr
    assert died.stdout == ""
    res = _shell(serving, code)
    assert res.exit_code == 0 and res.stdout == f"{serving.db}\n", res.stderr
    assert len(_http_lines(res.stderr)) == 1  # test_enable: the shell binds its own port, then stops
    install = odoo_ops.odoo_argv(serving.db, "-i", "demo_ok", http_port=odoo_ops.job_http_port())
    old = run_in(serving, _without_http_port(install))
    assert old.exit_code == 1 and exception_tail(old.stderr) == ADDRESS_IN_USE, old.stderr
    new = run_in(serving, install)
    assert new.exit_code == 0, new.stderr
    assert _summary_counts(new.stderr) == (0, 0, 1)  # test_enable runs demo_ok's test at install
