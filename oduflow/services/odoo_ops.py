"""Odoo operations inside an environment's running container: install, upgrade, tests, logs,
commands and the Odoo shell.

Everything runs through ``docker exec`` (:func:`oduflow.docker_api.exec_in`) with a timeout and a
bounded output; arguments are passed as argv, never through a host shell. Odoo reads its
connection settings (password included) from ``/etc/odoo/odoo.conf``, so no secret appears on a
command line. Works with the official ``odoo`` images unchanged.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.docker_api import ExecResult
from oduflow.errors import (
    ConflictError,
    ExternalCommandError,
    NotFoundError,
    OduflowError,
    ValidationError,
)
from oduflow.odoolog import LogIssue, TestRun, parse_module_operation, parse_records, parse_test_run
from oduflow.services import environments
from oduflow.services.envmodel import Env, get_env
from oduflow.services.runtime import CONF_PATH

MODULE_RE = re.compile(r"[a-z0-9_]+")
_ANY_MODULE_RE = re.compile(r"[A-Za-z0-9_]+")  # names found in a repository (pull_and_apply)
TEST_TAGS_RE = re.compile(r"[A-Za-z0-9_.,:/*+\-\[\]]+")
MAX_LOG_LINES = 5000
MAX_LOG_BYTES = 1_000_000
"""Bytes of log ``get_environment_logs`` returns at most (its end: lines can be endless)."""
FOLLOW_TIMEOUT = 900.0
"""Seconds one ``follow_environment_logs`` follows a log (the viewer offers to follow again)."""
FOLLOW_MAX_LINES = 50_000
"""Lines one ``follow_environment_logs`` yields at most."""
MAX_FAILURES = 50
JOB_PORTS = (20000, 30000)
USERS = ("odoo", "root")
IMAGE_USER = ""
"""``docker exec`` user for Odoo runs: the image's default user (``odoo`` in the official images)."""


# --- helpers shared by the Odoo tool modules -------------------------------------------------
def running_container(app: App, env: Env) -> Container:
    """The environment's container, or :class:`ConflictError` when it is not running."""
    container = environments._container(app, env)
    if container.status != "running":
        raise ConflictError(
            f"environment '{env.branch}' is {container.status}, not running: start_environment first"
        )
    return container


def exec_user(user: str) -> str:
    """``odoo`` -> the image's default user, ``root`` -> root; anything else is refused."""
    if user not in USERS:
        raise ValidationError(f"user must be 'odoo' or 'root', not {user!r}")
    return "root" if user == "root" else IMAGE_USER


def parse_modules(modules: str | Sequence[str]) -> list[str]:
    """``"sale, crm"`` or ``["sale", "crm"]`` -> ``["sale", "crm"]`` (validated, de-duplicated)."""
    items = modules.split(",") if isinstance(modules, str) else list(modules)
    names: list[str] = []
    for raw in items:
        name = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(name, str) or not MODULE_RE.fullmatch(name):
            raise ValidationError(
                f"invalid module name {raw!r}: module names are lowercase letters, digits and '_', "
                "separated by commas (e.g. 'sale,crm')"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise ValidationError("no module given: pass module names separated by commas, e.g. 'sale,crm'")
    return names


def job_http_port() -> int:
    """A port for the HTTP server of a one-off Odoo run inside a serving container.

    Odoo ignores ``--no-http`` under ``--test-enable`` (HttpCase tests need the server; ``odoo shell``
    and ``--stop-after-init`` runs start it too when ``test_enable`` is set in ``odoo.conf``), so a
    run that kept the serving server's port would die with "Address already in use". The port is
    random in 20000-29999 (below the ephemeral range, so no outgoing connection holds it).
    """
    return JOB_PORTS[0] + secrets.randbelow(JOB_PORTS[1] - JOB_PORTS[0])


def odoo_argv(db_name: str, *args: str, http_port: int) -> list[str]:
    """``odoo -c CONF -d DB ARGS... --stop-after-init --no-http --http-port=PORT``.

    ``--no-http`` keeps install/upgrade runs from serving; ``--http-port`` gives a test run's
    own HTTP server (started whatever ``--no-http`` says) a port the serving server does not hold.
    """
    return [
        "odoo", "-c", CONF_PATH, "-d", db_name, *args,
        "--stop-after-init", "--no-http", f"--http-port={http_port}",
    ]  # fmt: skip


_SHELL_COMMAND = 'exec odoo shell -c "$1" -d "$2" --no-http --http-port="$3"'
_PORT_TAKEN = "Address already in use"


def shell_argv(db_name: str, code_path: str, http_port: int) -> list[str]:
    """``odoo shell`` reading ``code_path`` on standard input (``sh`` runs in the container)."""
    script = _SHELL_COMMAND + ' < "$4"'
    return ["sh", "-c", script, "sh", CONF_PATH, db_name, str(http_port), code_path]


def terminal_argv(db_name: str, http_port: int) -> list[str]:
    """:func:`shell_argv` reading the standard input it is given: on a TTY, Odoo's interactive
    console (the web terminal, :mod:`oduflow.services.terminal`)."""
    return ["sh", "-c", _SHELL_COMMAND, "sh", CONF_PATH, db_name, str(http_port)]


def exec_odoo(
    container: Container, argv_for: Callable[[int], list[str]], timeout: int
) -> tuple[list[str], ExecResult]:
    """Run the Odoo command ``argv_for(port)`` in the serving container; (argv, result).

    When the port drawn by :func:`job_http_port` was taken (the run died with "Address already
    in use" before logging anything), the run is repeated once on another port.
    """
    for attempt in (1, 2):
        argv = argv_for(job_http_port())
        res = docker_api.exec_in(container, argv, user=IMAGE_USER, timeout=timeout)
        if attempt == 2 or res.exit_code != 1 or not _died_on_taken_port(res.output):
            break
    return argv, res


def _died_on_taken_port(output: str) -> bool:
    tail = output.rstrip().splitlines()[-1:]
    return bool(tail) and _PORT_TAKEN in tail[0] and " odoo.modules.loading: " not in output


def _timeout_issue(seconds: int) -> dict[str, Any]:
    return LogIssue(
        "",
        "",
        f"timed out after {seconds} s ([limits].command_timeout) and was killed; the log holds "
        "what ran until then",
        0,
    ).to_dict()


def _restart(app: App, team: TeamConfig, env: Env) -> dict[str, Any]:
    """Restart the server so it loads the new state; failures are reported, not raised."""
    try:
        environments.restart_environment(app, team, env.branch)
    except OduflowError as exc:
        return {"ok": False, "error": f"{exc.type_name}: {exc}"}
    return {"ok": True, "status": "running"}


# --- install / upgrade -------------------------------------------------------------------
def module_operation(app: App, env: Env, install: Sequence[str], upgrade: Sequence[str]) -> dict[str, Any]:
    """Run one ``odoo -i INSTALL -u UPGRADE --stop-after-init`` in the running container.

    Returns :meth:`ModuleOperation.to_dict` plus ``command``, ``timed_out`` and the full ``log``.
    Does not restart the server.
    """
    bad = [m for m in (*install, *upgrade) if not _ANY_MODULE_RE.fullmatch(m)]
    if bad or not (install or upgrade):
        raise ValidationError(f"invalid or missing module names: {bad or 'none given'}")
    container = running_container(app, env)
    args: list[str] = []
    if install:
        args += ["-i", ",".join(install)]
    if upgrade:
        args += ["-u", ",".join(upgrade)]
    timeout = app.config.limits.command_timeout
    argv, res = exec_odoo(
        container, lambda port: odoo_argv(env.params.db_name, *args, http_port=port), timeout
    )
    log = res.output
    result: dict[str, Any] = parse_module_operation(log, res.exit_code, [*install, *upgrade]).to_dict()
    if res.timed_out:
        result.update(ok=False, error=_timeout_issue(timeout))
    result.update(command=" ".join(argv), timed_out=res.timed_out, log=log)
    return result


def operation_summary(label: str, op: dict[str, Any]) -> str:
    """One line: what ran (``label``, e.g. ``"install sale, crm"``) and how it ended."""
    if op["ok"]:
        return f"{label}: OK (exit code 0)"
    error = op.get("error") or {}
    why = error.get("summary") or error.get("message") or "see log"
    return f"{label}: FAILED (exit code {op['exit_code']}): {why}"


def _install_or_upgrade(
    app: App, team: TeamConfig, branch: str, modules: str, *, upgrade: bool
) -> dict[str, Any]:
    env = get_env(app, team, branch)
    names = parse_modules(modules)
    op = module_operation(app, env, [] if upgrade else names, names if upgrade else [])
    op["restart"] = _restart(app, team, env)
    restarted = "server restarted" if op["restart"]["ok"] else "server restart FAILED"
    label = f"{'upgrade' if upgrade else 'install'} {', '.join(names)}"
    op["summary"] = f"{operation_summary(label, op)}; {restarted}"
    return op


def install_odoo_modules(app: App, team: TeamConfig, branch: str, modules: str) -> dict[str, Any]:
    """``odoo -i MODULES --stop-after-init`` in the environment, then restart its server."""
    return _install_or_upgrade(app, team, branch, modules, upgrade=False)


def upgrade_odoo_modules(app: App, team: TeamConfig, branch: str, modules: str) -> dict[str, Any]:
    """``odoo -u MODULES --stop-after-init`` in the environment, then restart its server."""
    return _install_or_upgrade(app, team, branch, modules, upgrade=True)


# --- tests ---------------------------------------------------------------------------------
def run_odoo_tests(
    app: App, team: TeamConfig, branch: str, modules: str, test_tags: str = ""
) -> dict[str, Any]:
    """``odoo --test-enable [--test-tags T] -i M -u M --stop-after-init`` and the parsed result."""
    env = get_env(app, team, branch)
    names = parse_modules(modules)
    args = ["--test-enable"]
    tags = test_tags.strip()
    if tags:
        if not TEST_TAGS_RE.fullmatch(tags):
            raise ValidationError(
                f"invalid test_tags {test_tags!r}: use Odoo's syntax, e.g. '/my_module', "
                "':TestClass.test_method', 'post_install,-at_install'"
            )
        args.append(f"--test-tags={tags}")
    mods = ",".join(names)
    args += ["-i", mods, "-u", mods]
    container = running_container(app, env)
    timeout = app.config.limits.command_timeout
    argv, res = exec_odoo(
        container, lambda port: odoo_argv(env.params.db_name, *args, http_port=port), timeout
    )
    log = res.output
    run = parse_test_run(log, res.exit_code)
    result: dict[str, Any] = run.to_dict(max_failures=MAX_FAILURES)
    if res.timed_out:
        result["ok"] = False
        result["load_errors"] = [*result["load_errors"], _timeout_issue(timeout)]
    result.update(
        summary=_test_summary(run, res.timed_out),
        command=" ".join(argv),
        timed_out=res.timed_out,
        log=log,
    )
    return result


def _test_summary(run: TestRun, timed_out: bool) -> str:
    """One line: the counts (as Odoo's ``odoo.tests.result`` line has them) and the verdict."""
    text = (
        f"{run.total} tests: {run.passed} passed, {run.failed} failed, {run.errors} error(s) "
        f"(exit code {run.exit_code})"
    )
    if timed_out:
        return text + "; TIMED OUT"
    if run.load_errors:
        return f"{text}; the run failed outside tests: {run.load_errors[0].summary}"
    if run.exit_code != 0 and not (run.failed or run.errors):
        return text + "; the run failed outside tests, see tail"
    if run.total == 0:
        return text + "; no test ran: check the module names and test_tags (tests live in MODULE/tests/)"
    return text


# --- logs ------------------------------------------------------------------------------------
def _log_container(app: App, team: TeamConfig, branch: str, lines: int) -> tuple[Env, Container]:
    if not isinstance(lines, int) or not 1 <= lines <= MAX_LOG_LINES:
        raise ValidationError(f"lines must be between 1 and {MAX_LOG_LINES}")
    env = get_env(app, team, branch)
    return env, environments._container(app, env)


def get_environment_logs(app: App, team: TeamConfig, branch: str, lines: int = 100) -> dict[str, Any]:
    """The last ``lines`` lines (1-5000) of the environment container's log."""
    env, container = _log_container(app, team, branch, lines)
    text, truncated = docker_api.read_logs(container, tail=lines, max_output=MAX_LOG_BYTES)
    out = {"branch": env.branch, "status": container.status, "lines": lines, "logs": text}
    return out | ({"truncated": True} if truncated else {})


def follow_environment_logs(
    app: App, team: TeamConfig, branch: str, lines: int = 200
) -> docker_api.LogFollower:
    """The last ``lines`` lines (1-5000) of the environment container's log, then what it prints,
    for at most :data:`FOLLOW_TIMEOUT` seconds and :data:`FOLLOW_MAX_LINES` lines."""
    _env, container = _log_container(app, team, branch, lines)
    return docker_api.LogFollower(container, tail=lines, timeout=FOLLOW_TIMEOUT, max_lines=FOLLOW_MAX_LINES)


# --- commands ----------------------------------------------------------------------------------
def _exec_dict(res: ExecResult) -> dict[str, Any]:
    return {
        "exit_code": res.exit_code,
        "stdout": res.stdout,
        "stderr": res.stderr,
        "timed_out": res.timed_out,
        "truncated": res.truncated,
    }


def run_odoo_command(
    app: App, team: TeamConfig, branch: str, command: str, user: str = "odoo"
) -> dict[str, Any]:
    """``sh -c COMMAND`` inside the environment's container (never on the host)."""
    if not isinstance(command, str) or not command.strip():
        raise ValidationError("command is empty")
    if "\0" in command:
        raise ValidationError("command contains a NUL byte")
    who = exec_user(user)
    env = get_env(app, team, branch)
    container = running_container(app, env)
    timeout = app.config.limits.exec_timeout
    res = docker_api.exec_in(container, ["sh", "-c", command], user=who, timeout=timeout)
    out = _exec_dict(res)
    if res.timed_out:
        out["error"] = f"timed out after {timeout} s ([limits].exec_timeout) and was killed"
    return out


# --- Odoo shell ---------------------------------------------------------------------------------
_TRACEBACK_HEAD = "Traceback (most recent call last):"


def extract_traceback(stderr: str) -> str:
    """The last Python traceback in ``stderr`` (up to the next log record), or ``""``."""
    lines = stderr.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith(_TRACEBACK_HEAD)]
    if not starts:
        return ""
    block = lines[starts[-1] :]
    records = parse_records("\n".join(block))
    # continuation lines join the first "record" (the traceback head); stop at the next real record
    first = records[0] if records else None
    if first is not None and not first.timestamp:
        block = [first.message, *first.extra_lines]
    return "\n".join(block).rstrip()


def run_shell_code(
    app: App, env: Env, code: str, *, timeout: int | None = None
) -> tuple[ExecResult, str, str]:
    """Run ``code`` with ``odoo shell`` in the running container; (result, traceback, error line).

    The code goes to a temporary file (0600, owned by the image user) read on standard input;
    the file is removed afterwards.
    """
    if not isinstance(code, str) or not code.strip():
        raise ValidationError("code is empty")
    container = running_container(app, env)
    p = env.params
    path = f"/tmp/oduflow-shell-{secrets.token_hex(8)}.py"
    docker_api.put_file(container, path, code.encode("utf-8"), mode=0o600, uid=p.uid, gid=p.gid)
    try:
        limit = timeout or app.config.limits.command_timeout
        _, res = exec_odoo(container, lambda port: shell_argv(p.db_name, path, port), limit)
    finally:
        with contextlib.suppress(OduflowError):  # the container went away: so did the file
            docker_api.exec_in(container, ["rm", "-f", "--", path], user="root", timeout=30)
    traceback = extract_traceback(res.stderr) if res.exit_code != 0 else ""
    error = next((ln for ln in reversed(traceback.splitlines()) if ln.strip()), "")
    if res.timed_out:
        error = f"timed out after {timeout or app.config.limits.command_timeout} s and was killed"
    return res, traceback, error


def run_odoo_shell(app: App, team: TeamConfig, branch: str, code: str) -> dict[str, Any]:
    """Run Python ``code`` in ``odoo shell`` (``env`` bound) on the environment's database."""
    env = get_env(app, team, branch)
    res, traceback, error = run_shell_code(app, env, code)
    return {
        "ok": res.exit_code == 0,
        "exit_code": res.exit_code,
        "stdout": res.stdout,
        "error": error or None,
        "traceback": traceback or None,
        "stderr": res.stderr,
        "timed_out": res.timed_out,
    }


_RESET_CODE = """\
users = env['res.users'].with_context(active_test=False).search([('login', '=', {login!r})])
if users:
    users.write({{'password': {password!r}}})
    env.cr.commit()
print('ODUFLOW_USERS_CHANGED=%d' % len(users))
"""
_CHANGED_RE = re.compile(r"^ODUFLOW_USERS_CHANGED=(\d+)$", re.M)


def reset_admin_password(
    app: App, team: TeamConfig, branch: str, login: str = "admin", password: str = "test"
) -> dict[str, Any]:
    """Set the password of the user ``login`` through the ORM (real Odoo hashing)."""
    for what, value in (("login", login), ("password", password)):
        if not isinstance(value, str) or not value or any(c in value for c in "\0\r\n"):
            raise ValidationError(f"{what} must be a non-empty single-line string")
    env = get_env(app, team, branch)
    res, _, error = run_shell_code(app, env, _RESET_CODE.format(login=login, password=password))
    found = _CHANGED_RE.search(res.stdout)
    if res.exit_code != 0 or found is None:
        detail = (error or res.stderr[-3000:] or res.stdout[-3000:]).replace(password, "***")
        raise ExternalCommandError(
            "resetting the password failed", command="odoo shell", exit_code=res.exit_code, output=detail
        )
    changed = int(found.group(1))
    if changed == 0:
        raise NotFoundError(
            f"no user with login '{login}' in the database of '{env.branch}' "
            '(run_db_query "SELECT login FROM res_users" lists the logins)'
        )
    return {
        "branch": env.branch,
        "login": login,
        "users_changed": changed,
        "message": f"password of '{login}' changed; log in at {env.params.url or 'the environment URL'}",
    }
