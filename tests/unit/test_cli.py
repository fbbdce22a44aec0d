"""The CLI: version, plugins, list, call (argument mapping and coercion), errors without traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oduflow import catalog
from oduflow.errors import ValidationError
from oduflow.surfaces.cli import cli, parse_call_args

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


def test_positional_and_json_arguments_with_coercion() -> None:
    spec = catalog.get_tool("read_output")
    assert parse_call_args(spec, ["abc", "tail", "", "50"]) == {
        "output_id": "abc",
        "mode": "tail",
        "count": 50,
    }
    assert parse_call_args(spec, ['{"output_id": "x", "count": 3}']) == {"output_id": "x", "count": 3}
    with pytest.raises(ValidationError, match="expects int"):
        parse_call_args(spec, ["abc", "tail", "one"])
    with pytest.raises(ValidationError, match="expects one of"):
        parse_call_args(spec, ["abc", "sideways"])
    with pytest.raises(ValidationError, match="at most"):
        parse_call_args(spec, ["a"] * 9)
    create = catalog.get_tool("create_environment")
    assert parse_call_args(create, ["dev", "", "https://h/r.git", "odoo:17.0", "false"]) == {
        "branch_name": "dev",
        "repo_url": "https://h/r.git",
        "odoo_image": "odoo:17.0",
        "sanitize": False,
    }


def test_call_a_tool_and_errors_exit_nonzero_without_traceback(config_file: Path) -> None:
    result = runner.invoke(cli, ["call", "get_odoo_development_guide", "17.0"])
    assert result.exit_code == 0, result.output
    assert "17" in result.output
    bad = runner.invoke(cli, ["call", "get_odoo_development_guide", "12"])
    assert bad.exit_code == 1
    assert "ValidationError" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(cli, ["call", "no_such_tool"])
    assert unknown.exit_code == 1 and "unknown tool" in unknown.output
