"""The catalog: built explicitly (twice, or with a plugin's tool), validation and coercion in
one place, MCP annotations, descriptions with the lock, and the generated tools reference."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from oduflow import catalog, hookimpl
from oduflow.app import App
from oduflow.catalog import Catalog, build_catalog
from oduflow.config import parse
from oduflow.docgen import tools_reference
from oduflow.errors import BusyError, ConfigError, ValidationError
from oduflow.locks import LockScope
from oduflow.plugins import get_plugin_manager
from oduflow.toolspec import LOCK_TEXT, Call, tool

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tools.md"


@tool(lock="team", title="Echo", read_only=True, idempotent=True)
def echo_times(
    call: Call,
    text: Annotated[str, Field(description="What to repeat.")],
    times: Annotated[int, Field(ge=1, le=3, description="How often.")] = 1,
) -> dict[str, Any]:
    """Repeat ``text``. Returns ``team`` and ``text`` repeated ``times`` times."""
    return {"team": call.team.id, "text": text * times}


class EchoPlugin:
    @hookimpl
    def oduflow_register_tools(self, register: Any) -> None:
        register(echo_times)


@pytest.fixture
def plugin_app(tmp_path: Path) -> App:
    pm = get_plugin_manager()
    pm.register(EchoPlugin(), name="echo-test")
    return App(parse({"storage": {"data_dir": str(tmp_path)}}), pm)


def test_each_build_is_a_catalog_of_its_own() -> None:
    first, second = build_catalog(), build_catalog()
    assert first is not second
    assert [s.name for s in first.all()] == [s.name for s in second.all()]
    second.add(echo_times)
    assert "echo_times" in {s.name for s in second.all()}
    assert "echo_times" not in {s.name for s in first.all()}
    with pytest.raises(ConfigError, match="two tools are called 'echo_times'"):
        second.add(echo_times)
    with pytest.raises(TypeError, match="not marked"):
        Catalog().add(lambda call: None)


def test_a_plugin_tool_is_validated_and_locked_like_the_built_ins(plugin_app: App) -> None:
    team = plugin_app.config.team("1")
    spec = plugin_app.catalog.get("echo_times")
    assert spec.description.endswith(LOCK_TEXT["team"])
    assert catalog.invoke(plugin_app, team, "echo_times", {"text": "ab", "times": "2"}) == {
        "team": "1",
        "text": "abab",
    }
    with pytest.raises(ValidationError, match=r"^echo_times: times: Input should be less than or equal to 3"):
        catalog.invoke(plugin_app, team, "echo_times", {"text": "ab", "times": 9})
    with plugin_app.locks.hold(LockScope.team("1"), "something else"), pytest.raises(BusyError):
        catalog.invoke(plugin_app, team, "echo_times", {"text": "ab"})
    assert "echo_times" not in {s.name for s in catalog.builtin().all()}


def test_validation_coerces_strings_and_enforces_bounds_and_literals() -> None:
    spec = catalog.get_tool("read_output")
    assert spec.validate({"output_id": "x", "start": "5", "mode": "tail"}) == {
        "output_id": "x",
        "mode": "tail",
        "start": 5,
        "count": 200,
        "pattern": None,
        "context": 2,
    }
    with pytest.raises(ValidationError) as err:
        spec.validate({"output_id": "x", "start": "x", "count": 0, "mode": "sideways", "colour": 1})
    lines = str(err.value).splitlines()
    assert lines[0].startswith("read_output: mode: Input should be 'lines', 'errors'")
    assert lines[0].endswith("(got 'sideways')")
    assert (
        lines[1].startswith("read_output: start: Input should be a valid integer") and "(got 'x')" in lines[1]
    )
    assert lines[2] == "read_output: count: Input should be greater than or equal to 1 (got 0)"
    assert lines[3] == "read_output: colour: unknown parameter (got 1)"
    with pytest.raises(ValidationError, match=r"^create_environment: branch_name: Field required$"):
        catalog.get_tool("create_environment").validate({})
    pull = catalog.get_tool("pull_and_apply")
    assert pull.validate({"branch_name": "dev", "dry_run": "true"})["dry_run"] is True
    assert catalog.get_tool("get_odoo_development_guide").validate({"version": 17.0}) == {"version": "17.0"}


def test_every_tool_has_annotations_a_return_description_and_its_lock_in_words() -> None:
    for spec in catalog.all_tools():
        hints = spec.annotations()
        assert hints["title"] and set(hints) >= {"readOnlyHint", "destructiveHint", "idempotentHint"}
        assert re.search(r"\breturns?\b", spec.docstring, re.I), spec.name
        if spec.lock == "none":
            assert "Lock: fails at once" not in spec.description, spec.name
        else:
            assert spec.description.endswith(LOCK_TEXT[spec.lock]), spec.name
        if spec.audience == "agent":  # agents cannot run operator commands
            assert not re.search(r"\boduflow [a-z]", spec.description), spec.name
    locks = {s.name: s.lock for s in catalog.all_tools()}
    assert locks["init"] == locks["destroy"] == "system"
    assert locks["delete_template"] == locks["init_template"] == locks["cleanup"] == "team"
    assert locks["run_db_query"] == "none"  # it takes the branch lock itself, for writes only
    read_only = {s.name for s in catalog.all_tools() if s.mark.read_only}
    assert {"list_environments", "get_environment_info", "read_file_in_odoo", "read_output"} <= read_only
    assert not read_only & {n for n, lock in locks.items() if lock != "none"}


def test_operator_tools_are_off_the_agent_surfaces() -> None:
    operator = {s.name for s in catalog.builtin().all(audience="operator")}
    assert operator == {
        "init",
        "destroy",
        "init_template",
        "reload_template",
        "template_up",
        "template_down",
        "cleanup",
    }


def test_result_schemas_are_typed_objects() -> None:
    info = catalog.get_tool("get_environment_info").result_schema()
    assert info["type"] == "object" and {"branch", "url", "db_name", "stats"} <= set(info["properties"])
    assert "stats" not in info["required"] and "branch" in info["required"]
    envs = catalog.get_tool("list_environments").result_schema()
    assert envs["x-fastmcp-wrap-result"] is True
    assert envs["properties"]["result"]["type"] == "array"
    guide = catalog.get_tool("get_agent_instructions").result_schema()
    assert guide["properties"]["result"] == {"type": "string"}


def test_the_tools_reference_is_generated_from_the_catalog() -> None:
    expected = tools_reference(build_catalog())
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/tools.md is out of date: run `python -m oduflow.docgen > docs/tools.md`"
    )
    assert "## `run_db_query`" in expected and "| `branch_name` | `str` | required |" in expected
