"""Services through every surface of the real server and the real command line: the reference's
examples with ``oduflow call`` (positional arguments, ``""`` for the default hostname, an
environment value with a space), ``oduflow list-services``, the REST endpoints of "Services" and
"Service Presets", and MCP's ``list_services``; the environment value never shows in any output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import docker
import httpx
import pytest

from tests.e2e.conftest import Server, oduflow_executable
from tests.e2e.test_mcp_http import mcp_client
from tests.fixtures.instance import Instance
from tests.images.redis import ensure_redis_image

SECRET = "dev key 123"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis_ref(instance: Instance, docker_client: docker.DockerClient) -> Iterator[str]:
    """The Redis test image under a short tag of this session (``redis:7`` stands for it)."""
    ref = f"{instance.prefix}-redis:7"
    docker_client.images.get(ensure_redis_image(docker_client)).tag(*ref.split(":"))
    yield ref
    docker_client.images.remove(ref)


def oduflow(*args: str) -> str:
    done = subprocess.run([oduflow_executable(), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    return done.stdout


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    return response.json()["result"]


@pytest.mark.anyio
async def test_the_reference_examples_through_call_rest_and_mcp(open_server: Server, redis_ref: str) -> None:
    created = json.loads(oduflow("call", "create_service", "redis", redis_ref, "6379"))
    try:
        assert created["status"] == "running" and created["env_vars"] == {}
        search = json.loads(
            oduflow("call", "create_service", "search", redis_ref, "6380", "", f"KEY={SECRET},B=x")
        )
        assert search["env_vars"] == {"KEY": "***", "B": "***"}
        listing = oduflow("list-services")
        assert "redis" in listing and "search" in listing and "env=KEY,B" in listing
        assert "Ready to accept" in json.loads(oduflow("call", "get_service_logs", "redis", "200"))["logs"]
        with httpx.Client(base_url=open_server.base_url, timeout=300) as web:
            names = [s["name"] for s in ok(web.get("/api/services"))]
            assert names == ["redis", "search"]
            logs = ok(web.get("/api/services/redis/logs", params={"n": 5}))
            assert logs["lines"] == 5
            assert ok(web.post("/api/services/redis/update"))["status"] == "already up-to-date"
            assert ok(web.post("/api/services/search/delete"))["preset_kept"] is True
            presets = ok(web.get("/api/service-presets"))
            assert {p["name"] for p in presets} >= {"redis", "search"}
            restored = ok(web.post("/api/service-presets/restore", json={"name": "search"}))
            assert restored["env_vars"] == {"KEY": "***", "B": "***"}
            ok(web.post("/api/services/search/delete"))
            ok(web.post("/api/service-presets/search/delete"))
            assert "search" not in {p["name"] for p in ok(web.get("/api/service-presets"))}
        async with mcp_client(open_server) as client:
            result = await client.call_tool("list_services", {})
            assert [s["name"] for s in result.structured_content["result"]] == ["redis"]
            assert SECRET not in json.dumps(result.structured_content)
    finally:
        for name in ("redis", "search"):
            subprocess.run(
                [oduflow_executable(), "call", "delete_service", name], capture_output=True, timeout=120
            )
            subprocess.run(
                [oduflow_executable(), "call", "delete_service_preset", name], capture_output=True, timeout=60
            )
