"""The CLI: version, plugins, list, call (argument mapping and coercion), errors without traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oduflow import catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ValidationError
from oduflow.locks import LockScope
from oduflow.surfaces.cli import cli, parse_call_args
from oduflow.toolspec import LOCK_TEXT

runner = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = tmp_path / "oduflow.toml"
    p.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[team.1]\n')
    monkeypatch.setenv("ODUFLOW_TOML", str(p))
    return p


def test_version() -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("oduflow ")


def test_plugins_lists_builtins_as_json() -> None:
    result = runner.invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)}
    for name in (
        "storage_overlay",
        "storage_copy",
        "routing_port",
        "routing_traefik",
        "sanitize",
        "changes",
        "dependencies",
    ):
        assert plugins[name]["builtin"] is True and plugins[name]["distribution"] == "oduflow"
    assert plugins["sanitize"]["hooks"] == ["oduflow_sanitize"]


def test_disable_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODUFLOW_DISABLE_PLUGINS", "routing_traefik, sanitize")
    result = runner.invoke(cli, ["plugins", "--json"])
    names = {p["name"] for p in json.loads(result.output)}
    assert "sanitize" not in names and "routing_traefik" not in names and "routing_port" in names


def test_list_and_call_without_tool_list_tools() -> None:
    for args in (["list"], ["call"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0
        assert "list_environments()" in result.output
        assert "get_odoo_development_guide(version)" in result.output


def test_positional_and_json_arguments_are_mapped_raw_and_coerced_by_the_catalog() -> None:
    spec = catalog.get_tool("read_output")
    raw = parse_call_args(spec, ["abc", "tail", "", "50"])
    assert raw == {"output_id": "abc", "mode": "tail", "count": "50"}  # "" keeps the default
    assert spec.validate(raw)["count"] == 50 and spec.validate(raw)["start"] == 1
    assert parse_call_args(spec, ['{"output_id": "x", "count": 3}']) == {"output_id": "x", "count": 3}
    with pytest.raises(ValidationError, match="at most"):
        parse_call_args(spec, ["a"] * 9)
    with pytest.raises(ValidationError, match="invalid JSON arguments"):
        parse_call_args(spec, ["{oops"])
    create = catalog.get_tool("create_environment")
    values = create.validate(parse_call_args(create, ["dev", "", "https://h/r.git", "odoo:17.0", "false"]))
    assert values == {
        "branch_name": "dev",
        "template_name": "",
        "repo_url": "https://h/r.git",
        "odoo_image": "odoo:17.0",
        "sanitize": False,
        "extra_addons": "",
        "extra_addons_branch": "",
    }
    extra = parse_call_args(create, ["dev", "", "https://h/r.git", "odoo:17.0", "true", "enterprise", "17.0"])
    assert create.validate(extra)["extra_addons"] == "enterprise"
    assert create.validate(extra)["extra_addons_branch"] == "17.0"


BAD_START = "read_output: start: Input should be a valid integer"


@pytest.mark.parametrize(
    "args",
    [
        ["aaaaaaaaaaaaaaaaaaaaaaaa", "lines", "x"],
        ['{"output_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "start": "x"}'],
    ],
    ids=["positional", "json"],
)
def test_bad_arguments_get_the_catalog_validation_error(config_file: Path, args: list[str]) -> None:
    result = runner.invoke(cli, ["call", "read_output", *args])
    assert result.exit_code == 1, result.output
    assert f"error: ValidationError: {BAD_START}" in result.output and "(got 'x')" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_bounds_and_choices_are_enforced_on_the_command_line(config_file: Path) -> None:
    big = runner.invoke(cli, ["call", "get_environment_logs", "dev", "99999"])
    assert (
        big.exit_code == 1
        and "get_environment_logs: lines: Input should be less than or equal to 5000" in (big.output)
    )
    user = runner.invoke(cli, ["call", "run_odoo_command", "dev", "id", "admin"])
    assert user.exit_code == 1 and "run_odoo_command: user: Input should be 'odoo' or 'root'" in user.output


def test_list_shows_agent_tools_and_verbose_marks_operator_ones() -> None:
    plain = runner.invoke(cli, ["list"])
    assert plain.exit_code == 0 and "init_template(" not in plain.output
    assert "run_db_query(branch_name, query)\n" in plain.output  # no lock: it locks only writes
    verbose = runner.invoke(cli, ["list", "--verbose"])
    assert "init_template(odoo_image" in verbose.output and "[operator-only: not on MCP]" in verbose.output
    assert LOCK_TEXT["branch"] in verbose.output
    markdown = runner.invoke(cli, ["list", "--markdown"])
    assert markdown.output.startswith("# Tools reference")
    refused = runner.invoke(cli, ["call", "cleanup"])
    assert refused.exit_code == 1 and "operator tool" in refused.output


def test_admin_commands_take_the_lock_of_their_tool(config_file: Path) -> None:
    app = App(load())
    with app.locks.hold(LockScope.team("1"), "a template operation"):
        busy = runner.invoke(cli, ["delete-template", "old"])
    assert busy.exit_code == 1 and busy.output.startswith("error: BusyError: ")
    with app.locks.hold(LockScope.system(), "another init"):
        for command in (["init"], ["destroy"]):
            result = runner.invoke(cli, command)
            assert result.exit_code == 1 and "error: BusyError: " in result.output, command
    bad = runner.invoke(cli, ["cleanup", "--team", "9"])
    assert bad.exit_code == 1 and bad.output.startswith("error: NotFoundError: team")


def test_call_a_tool_and_errors_exit_nonzero_without_traceback(config_file: Path) -> None:
    result = runner.invoke(cli, ["call", "get_odoo_development_guide", "17.0"])
    assert result.exit_code == 0, result.output
    assert "17" in result.output
    bad = runner.invoke(cli, ["call", "get_odoo_development_guide", "12"])
    assert bad.exit_code == 1
    assert "ValidationError" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(cli, ["call", "no_such_tool"])
    assert unknown.exit_code == 1 and "unknown tool" in unknown.output
