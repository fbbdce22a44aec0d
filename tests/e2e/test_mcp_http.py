"""MCP end to end: the real ``oduflow`` server, a real MCP client (FastMCP) over Streamable HTTP.

Covers the tool listing built from the catalog, structured results, errors as MCP tool
errors, per-team bearer tokens, team resolution by ``Host`` header, progress
notifications, and the stdio transport.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport, StreamableHttpTransport
from fastmcp.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from pydantic.fields import FieldInfo

from oduflow import catalog
from oduflow.services.envmodel import EnvParams
from oduflow.state import EnvRecord
from tests.e2e.conftest import AUTH_TEAMS, LOGS, TEAM2_HOST, TOKENS, LogFile, Server, oduflow_executable
from tests.fixtures.instance import Instance

pytestmark = pytest.mark.anyio

TEAM2_TEMPLATE = "t2only"
TEAM2_BRANCH = "e2e-team2-only"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"},
    },
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def mcp_client(server: Server, token: str | None = None, host: str | None = None) -> Client[Any]:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if host is not None:
        headers["Host"] = f"{host}:{server.port}"
    return Client(StreamableHttpTransport(server.mcp_url, headers=headers), timeout=60)


@pytest.fixture
def stored_env(instance: Instance) -> Iterator[Callable[[str, str], EnvRecord]]:
    """Factory: a record-only environment in the state store (no container), removed afterwards."""
    app = instance.app()
    made: list[EnvRecord] = []

    def add(team: str, branch: str) -> EnvRecord:
        params = EnvParams(
            branch=branch,
            slug=branch,
            template="none",
            repo_url="file:///nowhere/e2e.git",
            odoo_image="odoo:18.0",
            run_image="odoo:18.0",
            db_name="",
            db_role="",
            db_password="",
            storage="",
            url=f"http://localhost/{branch}",
        )
        rec = EnvRecord(team=team, branch=branch, slug=branch, status="ready", params=params.to_dict())
        app.store.add_env(rec)
        made.append(rec)
        return rec

    yield add
    for rec in made:
        app.store.remove_env(rec.team, rec.branch)
    app.store.close()


@pytest.fixture
def team2_only(instance: Instance, stored_env: Callable[[str, str], EnvRecord]) -> Iterator[None]:
    """A template directory and an environment that exist for team 2 only."""
    template = instance.app().team_dir("2") / "templates" / TEAM2_TEMPLATE
    template.mkdir(parents=True)
    (template / "metadata.json").write_text(json.dumps({"odoo_image": "odoo:18.0"}))
    stored_env("2", TEAM2_BRANCH)
    try:
        yield
    finally:
        shutil.rmtree(template)


async def team_view(client: Client[Any]) -> tuple[set[str], set[str]]:
    """(template names, environment branches) that the client's team sees."""
    async with client:
        templates = (await client.call_tool("list_templates", {})).structured_content["result"]
        envs = (await client.call_tool("list_environments", {})).structured_content["result"]
    return {t["name"] for t in templates}, {e["branch"] for e in envs}


# --- the catalog over MCP ------------------------------------------------------------------------
def field_description(annotation: Any) -> str | None:
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, FieldInfo):
                return meta.description
    return None


async def test_every_catalog_tool_is_listed_with_description_and_schema(open_server: Server) -> None:
    async with mcp_client(open_server) as client:
        tools = {t.name: t for t in await client.list_tools()}
    specs = {s.name: s for s in catalog.builtin().all(audience="agent")}
    assert set(tools) == set(specs)
    for name, spec in specs.items():
        tool, schema = tools[name], tools[name].input_schema
        assert tool.description == spec.description, name
        assert schema["type"] == "object", name
        properties = schema.get("properties", {})
        assert list(properties) == [p.name for p in spec.parameters], name
        required = [p.name for p in spec.parameters if p.default is inspect.Parameter.empty]
        assert sorted(schema.get("required", [])) == sorted(required), name
        for param in spec.parameters:
            described = field_description(param.annotation)
            if described is not None:
                assert properties[param.name]["description"] == described, (name, param.name)
            if param.default is not inspect.Parameter.empty:
                assert properties[param.name]["default"] == param.default, (name, param.name)

    create = tools["create_environment"].input_schema
    assert create["required"] == ["branch_name"]
    assert create["properties"]["branch_name"]["type"] == "string"
    assert create["properties"]["sanitize"]["type"] == "boolean"
    mode = tools["read_output"].input_schema["properties"]["mode"]
    assert mode["enum"] == ["lines", "errors", "grep", "tail", "info"]


async def test_tools_return_structured_results(
    open_server: Server, instance: Instance, stored_env: Callable[[str, str], EnvRecord]
) -> None:
    stored_env("1", "e2e-listed")
    guide_file = instance.app().team_dir("1") / "agent_guides" / "odoo_18_guide.md"
    async with mcp_client(open_server) as client:
        guide = await client.call_tool("get_odoo_development_guide", {"version": "18"})
        envs = await client.call_tool("list_environments", {})

    assert not guide.is_error
    assert guide.data == guide_file.read_text()
    assert guide.structured_content == {"result": guide.data}

    assert not envs.is_error
    listing = envs.structured_content["result"]
    [listed] = [e for e in listing if e["branch"] == "e2e-listed"]
    assert listed["status"] == "missing"  # stored as ready, but it has no container
    assert listed["odoo_image"] == "odoo:18.0" and listed["template"] == "none"
    assert listed["protected"] is False
    assert listed["container"].startswith(instance.prefix)


async def test_tool_errors_name_the_error_type_without_traceback(open_server: Server) -> None:
    log_start = open_server.log.size()
    async with mcp_client(open_server) as client:
        with pytest.raises(ToolError, match=r"^ValidationError: no guide for Odoo version '12'"):
            await client.call_tool("get_odoo_development_guide", {"version": "12"})
        missing = await client.call_tool(
            "get_environment_info", {"branch_name": "no-such-branch"}, raise_on_error=False
        )
        bad_version = await client.call_tool(
            "get_odoo_development_guide", {"version": "12"}, raise_on_error=False
        )
        # the session survives tool errors
        still_fine = await client.call_tool("get_odoo_development_guide", {"version": "17.0"})

    assert missing.is_error and bad_version.is_error
    text = missing.content[0].text
    assert text.startswith("NotFoundError: no environment for branch 'no-such-branch'")
    assert bad_version.content[0].text.startswith("ValidationError: ")
    for result in (missing, bad_version):
        body = result.content[0].text
        assert "Traceback" not in body and 'File "' not in body
    assert not still_fine.is_error and "17.0" in still_fine.data
    assert "Traceback" not in open_server.log.since(log_start)  # expected errors are not crashes


async def test_progress_notifications_reach_the_client(
    open_server: Server, instance: Instance, stored_env: Callable[[str, str], EnvRecord]
) -> None:
    """``delete_environment`` reports each step; the client receives them while it runs.

    The environment exists only in the state store, so the delete is quick, but the
    notifications travel the same path as those of a create that takes minutes.
    """
    stored_env("1", "e2e-progress")
    received: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, message))

    async with mcp_client(open_server) as client:
        result = await client.call_tool(
            "delete_environment", {"branch_name": "e2e-progress"}, progress_handler=on_progress
        )
    assert result.structured_content["deleted"] == ["container", "route", "workspace"]
    assert [m for _, m in received] == ["removing container", "removing route", "removing workspace"]
    assert [p for p, _ in received] == [1, 2, 3]
    assert instance.app().store.get_env("1", "e2e-progress") is None


# --- authentication and team resolution ----------------------------------------------------------
def post_initialize(server: Server, **headers: str) -> httpx.Response:
    return httpx.post(server.mcp_url, json=INITIALIZE, headers=MCP_HEADERS | headers, timeout=30)


def test_mcp_http_refuses_missing_and_wrong_tokens(auth_server: Server) -> None:
    for headers, message in (
        ({}, "team 1 requires a bearer token"),
        ({"authorization": "Bearer not-a-token"}, "invalid bearer token"),
        ({"authorization": f"Basic {TOKENS['1']}"}, "team 1 requires a bearer token"),
        ({"host": f"{TEAM2_HOST}:{auth_server.port}"}, "team 2 requires a bearer token"),
    ):
        response = post_initialize(auth_server, **headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"ok": False, "error": response.json()["error"], "type": "AuthError"}
        assert message in response.json()["error"]
        assert not any(token in response.text for token in TOKENS.values())

    for token in TOKENS.values():
        response = post_initialize(auth_server, authorization=f"Bearer {token}")
        assert response.status_code == 200, response.text
        assert "mcp-session-id" in response.headers
    assert httpx.get(f"{auth_server.base_url}/healthz", timeout=10).status_code == 200  # no token needed


async def test_mcp_client_without_a_valid_token_is_refused(auth_server: Server) -> None:
    for token in (None, "not-a-token"):
        with pytest.raises(MCPError):
            async with mcp_client(auth_server, token=token) as client:
                await client.list_tools()


async def test_each_token_sees_its_own_team_only(auth_server: Server, team2_only: None) -> None:
    templates_1, envs_1 = await team_view(mcp_client(auth_server, token=TOKENS["1"]))
    templates_2, envs_2 = await team_view(mcp_client(auth_server, token=TOKENS["2"]))
    assert TEAM2_TEMPLATE in templates_2 and TEAM2_BRANCH in envs_2
    assert TEAM2_TEMPLATE not in templates_1 and TEAM2_BRANCH not in envs_1
    # the token decides, not the Host header
    templates_1b, envs_1b = await team_view(mcp_client(auth_server, token=TOKENS["1"], host=TEAM2_HOST))
    assert (templates_1b, envs_1b) == (templates_1, envs_1)


async def test_host_header_picks_the_team_without_tokens(open_server: Server, team2_only: None) -> None:
    templates_2, envs_2 = await team_view(mcp_client(open_server, host=TEAM2_HOST))
    assert TEAM2_TEMPLATE in templates_2 and TEAM2_BRANCH in envs_2
    # 127.0.0.1 is no team's hostname: with two teams the request falls back to team 1
    templates_1, envs_1 = await team_view(mcp_client(open_server))
    assert TEAM2_TEMPLATE not in templates_1 and TEAM2_BRANCH not in envs_1
    templates_1b, _ = await team_view(mcp_client(open_server, host="localhost"))
    assert templates_1b == templates_1


# --- stdio -------------------------------------------------------------------------------------------
async def test_stdio_transport_serves_the_catalog(
    instance: Instance, team2_only: None, tmp_path: Path
) -> None:
    """``oduflow --transport stdio --team 2``: an MCP client spawns it; no token on stdio."""
    config = instance.write_config("e2e-stdio.toml", teams=AUTH_TEAMS)
    env = {"ODUFLOW_TOML": str(config)}
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    log = LogFile("oduflow --transport stdio stderr", tmp_path / "stdio.log")
    transport = StdioTransport(
        command=oduflow_executable(),
        args=["--transport", "stdio", "--team", "2"],
        env=env,
        keep_alive=False,
        log_file=log.path,
    )
    LOGS.append(log)
    try:
        client = Client(transport, timeout=60)
        async with client:
            names = {t.name for t in await client.list_tools()}
            guide = await client.call_tool("get_odoo_development_guide", {"version": "odoo:16.0"})
        templates, envs = await team_view(Client(transport, timeout=60))
    finally:
        LOGS.remove(log)
    assert names == {s.name for s in catalog.builtin().all(audience="agent")}
    assert guide.data.startswith("# Odoo 16")
    assert TEAM2_TEMPLATE in templates and TEAM2_BRANCH in envs
