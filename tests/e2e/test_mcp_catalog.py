"""The catalog over MCP, with a real FastMCP client in memory: annotations, typed output
schemas, the catalog's validation errors (FastMCP does not validate on its own), plugin tools,
and operator tools kept off MCP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from pydantic import Field

from oduflow import hookimpl
from oduflow.app import App
from oduflow.config import parse
from oduflow.plugins import get_plugin_manager
from oduflow.surfaces.mcp import build_mcp
from oduflow.toolspec import LOCK_TEXT, Call, tool

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@tool(title="Add two numbers", read_only=True, idempotent=True)
def add_numbers(
    call: Call,
    a: Annotated[int, Field(ge=0, description="First.")],
    b: Annotated[int, Field(le=10, description="Second.")] = 1,
) -> dict[str, Any]:
    """Add ``a`` and ``b``. Returns ``sum``."""
    return {"sum": a + b}


class AddPlugin:
    @hookimpl
    def oduflow_register_tools(self, register: Any) -> None:
        register(add_numbers)


@pytest.fixture
def app(tmp_path: Path) -> App:
    pm = get_plugin_manager()
    pm.register(AddPlugin(), name="add-test")
    return App(parse({"storage": {"data_dir": str(tmp_path)}}), pm)


async def test_list_tools_shows_annotations_and_typed_output_schemas(app: App) -> None:
    async with Client(build_mcp(app)) as client:
        tools = {t.name: t for t in await client.list_tools()}
    assert "init" not in tools and "cleanup" not in tools and "init_template" not in tools  # operator
    assert "add_numbers" in tools  # registered by a plugin
    for name, listed in tools.items():
        hints = listed.annotations
        assert hints is not None and hints.title, name
        assert listed.title == hints.title, name
        assert {hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint} <= {True, False}, name
        assert listed.output_schema is not None and listed.output_schema["type"] == "object", name
    read = tools["read_output"].annotations
    assert read is not None and read.read_only_hint is True and read.idempotent_hint is True
    delete = tools["delete_environment"].annotations
    assert delete is not None and delete.destructive_hint is True and delete.read_only_hint is False
    info = tools["get_environment_info"].output_schema
    assert info is not None and {"branch", "url", "db_name", "container_status"} <= set(info["properties"])
    envs = tools["list_environments"].output_schema
    assert envs is not None and envs.get("x-fastmcp-wrap-result") is True
    assert envs["properties"]["result"]["type"] == "array"
    assert tools["install_odoo_modules"].description.endswith(LOCK_TEXT["branch"])
    assert "Lock: fails at once" not in (tools["read_file_in_odoo"].description or "")


async def test_bad_arguments_get_the_catalog_validation_error(app: App) -> None:
    async with Client(build_mcp(app)) as client:
        with pytest.raises(ToolError) as err:
            await client.call_tool("read_output", {"output_id": "a" * 24, "start": "x"})
        with pytest.raises(ToolError, match=r"^ValidationError: add_numbers: b: Input should be less"):
            await client.call_tool("add_numbers", {"a": 1, "b": 11})
        with pytest.raises(ToolError, match=r"^ValidationError: add_numbers: c: unknown parameter"):
            await client.call_tool("add_numbers", {"a": 1, "c": 2})
        coerced = await client.call_tool("add_numbers", {"a": "2", "b": "3"})
    text = str(err.value)
    assert text.startswith("ValidationError: read_output: start: Input should be a valid integer")
    assert "(got 'x')" in text and "Traceback" not in text
    assert coerced.structured_content == {"sum": 5}


async def test_string_and_list_results_are_wrapped(app: App) -> None:
    async with Client(build_mcp(app)) as client:
        guide = await client.call_tool("get_agent_instructions", {})
        envs = await client.call_tool("list_environments", {})
    assert guide.structured_content == {"result": guide.data} and guide.data.startswith("#")
    assert envs.structured_content == {"result": []}
