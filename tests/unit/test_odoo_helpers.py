"""Pure helpers of the Odoo tools and the git fetch / fast-forward helpers (real git, no Docker)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from oduflow import git
from oduflow.errors import ExternalCommandError, ValidationError
from oduflow.services.odoo_db import json_safe
from oduflow.services.odoo_files import parse_range
from oduflow.services.odoo_http import parse_headers
from oduflow.services.odoo_ops import exec_user, extract_traceback, parse_modules
from oduflow.urlpolicy import UrlPolicy

LOCAL = git.GitAccess(UrlPolicy(allow_local=True), Path("/nonexistent/team"))


def test_parse_modules() -> None:
    assert parse_modules("sale, crm,sale") == ["sale", "crm"]
    assert parse_modules(["l10n_be"]) == ["l10n_be"]
    for bad in ("", " , ", "Sale", "a;b", "-u", "a b", "../x"):
        with pytest.raises(ValidationError):
            parse_modules(bad)


def test_exec_user() -> None:
    assert exec_user("odoo") == "" and exec_user("root") == "root"
    with pytest.raises(ValidationError):
        exec_user("postgres")


def test_parse_range() -> None:
    assert parse_range("") is None and parse_range(" 3 : 9 ") == (3, 9) and parse_range("4:4") == (4, 4)
    for bad in ("0:1", "5:4", "a:b", "1-2", "3", ":3", "3:"):
        with pytest.raises(ValidationError):
            parse_range(bad)


def test_parse_headers_never_splits_on_commas() -> None:
    value = "a, b; q=0.5, c"
    assert parse_headers(json.dumps({"Accept": value, "X-N": 3})) == {"Accept": value, "X-N": "3"}
    assert parse_headers({"Accept": value}) == {"Accept": value}
    assert parse_headers(None) == parse_headers("") == {}
    for bad in ("Accept: a, b", "[1]", {"Bad Name": "x"}, {"X": "a\nb"}, {"X": ["a"]}):
        with pytest.raises(ValidationError):
            parse_headers(bad)  # type: ignore[arg-type]


def test_json_safe() -> None:
    row = [
        decimal.Decimal("42"),
        decimal.Decimal("2.50"),
        decimal.Decimal("0.1234567890123456789"),
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.date(2024, 1, 2),
        dt.timedelta(days=1),
        b"\x01\x02",
        memoryview(b"x" * 100),
        uuid.UUID(int=1),
        {"en_US": decimal.Decimal("1")},
        float("nan"),
    ]
    out = [json_safe(v) for v in row]
    json.dumps(out)
    assert out[:3] == [42, 2.5, "0.1234567890123456789"]
    assert out[3] == "2024-01-02T03:04:05" and out[6] == "base64:AQI=" and out[7] == "<100 bytes>"
    assert out[9] == {"en_US": 1} and out[10] == "nan"


def test_extract_traceback_stops_at_the_next_log_record() -> None:
    stderr = (
        "2024-01-01 00:00:00,000 1 INFO db odoo.modules.loading: loading 1 modules...\n"
        "Traceback (most recent call last):\n"
        '  File "<string>", line 3, in <module>\n'
        "ZeroDivisionError: division by zero\n"
        "2024-01-01 00:00:01,000 1 INFO db odoo.sql_db: closed\n"
    )
    tb = extract_traceback(stderr)
    assert tb.splitlines()[0] == "Traceback (most recent call last):"
    assert tb.splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert extract_traceback("no traceback\n") == ""


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _commit(work: Path, name: str, text: str, branch: str = "dev") -> str:
    (work / name).write_text(text)
    _git("add", "-A", cwd=work)
    _git("commit", "-qm", name, cwd=work)
    _git("push", "-q", "origin", f"HEAD:{branch}", cwd=work)
    return _git("rev-parse", "HEAD", cwd=work).strip()


@pytest.fixture
def remote_and_clone(tmp_path: Path) -> tuple[Path, Path]:
    bare, work, clone = tmp_path / "r.git", tmp_path / "work", tmp_path / "clone"
    _git("init", "-q", "--bare", "-b", "dev", str(bare), cwd=tmp_path)
    _git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    _git("checkout", "-q", "-b", "dev", cwd=work)
    _commit(work, "a.txt", "1\n")
    git.clone_branch(f"file://{bare}", "dev", clone, LOCAL)
    if os.geteuid() == 0:  # like an environment's checkout: owned by the container user
        for root, dirs, files in os.walk(clone):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), 101, 101)
        os.chown(clone, 101, 101)
    return work, clone


def test_fetch_then_fast_forward_in_a_checkout_owned_by_another_user(
    remote_and_clone: tuple[Path, Path],
) -> None:
    work, clone = remote_and_clone
    env = git.workspace_env(clone, git.credential_env(None))
    old = git.head(clone, env)
    new = _commit(work, "b.txt", "2\n")
    assert git.fetch(clone, "dev", env, LOCAL) == new
    assert git.head(clone, env) == old and not (clone / "b.txt").exists()  # fetch moves nothing
    git.ensure_fast_forward(clone, old, new, env, LOCAL)
    assert git.fast_forward(clone, new, env) == new and (clone / "b.txt").is_file()
    assert git.fetch(clone, "no-such-branch", env, LOCAL) is None


def test_diverged_history_is_refused(remote_and_clone: tuple[Path, Path]) -> None:
    work, clone = remote_and_clone
    env = git.workspace_env(clone)
    old = git.head(clone, env)
    _git("commit", "-q", "--amend", "-m", "rewritten", cwd=work)
    _git("push", "-q", "-f", "origin", "HEAD:dev", cwd=work)
    new = git.fetch(clone, "dev", env, LOCAL)
    assert new is not None and new != old
    with pytest.raises(ExternalCommandError, match="diverged"):
        git.ensure_fast_forward(clone, old, new, env, LOCAL)


def test_workspace_env_appends_to_credential_settings(tmp_path: Path) -> None:
    creds = tmp_path / ".git-credentials"
    creds.write_text("https://u:t@example.com\n")
    env = git.workspace_env(tmp_path, git.credential_env(creds))
    assert env["GIT_CONFIG_COUNT"] == "4"
    assert env["GIT_CONFIG_KEY_0"] == "credential.helper"
    keys = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(4)}
    assert keys["safe.directory"] == str(tmp_path.resolve()) and keys["core.hooksPath"] == "/dev/null"


def test_cli_arguments_of_the_odoo_tools() -> None:
    from oduflow import catalog
    from oduflow.surfaces.cli import parse_call_args

    def parse(tool: str, *args: str) -> dict[str, object]:  # as `oduflow call` maps and the catalog coerces
        spec = catalog.get_tool(tool)
        raw = parse_call_args(spec, list(args))
        return {k: v for k, v in spec.validate(raw).items() if k in raw}

    assert parse("get_environment_logs", "dev", "500") == {"branch_name": "dev", "lines": 500}
    assert parse("run_odoo_command", "dev", "pip3 install x", "root")["user"] == "root"
    assert parse("pull_and_apply", "dev", "true") == {"branch_name": "dev", "dry_run": True}
    headers = '{"Content-Type": "application/json", "Accept": "a, b"}'
    args = parse("http_request_to_odoo", "dev", "POST", "/jsonrpc", headers, "{}")
    assert args["headers"] == headers and parse_headers(args["headers"])["Accept"] == "a, b"
    with pytest.raises(ValidationError):
        parse("run_odoo_command", "dev", "id", "admin")
    locks = {t.name: t.lock for t in catalog.all_tools()}
    branch_locked = {
        "pull_and_apply",
        "install_odoo_modules",
        "upgrade_odoo_modules",
        "run_odoo_tests",
        "run_odoo_command",
        "run_odoo_shell",
        "write_file_in_odoo",
        "reset_admin_password",
    }
    unlocked = {  # run_db_query locks the branch itself, for a write only
        "run_db_query",
        "get_environment_logs",
        "read_file_in_odoo",
        "search_in_odoo",
        "http_request_to_odoo",
        "list_installed_modules",
    }
    assert {n for n in branch_locked if locks[n] == "branch"} == branch_locked
    assert {n for n in unlocked if locks[n] == "none"} == unlocked
