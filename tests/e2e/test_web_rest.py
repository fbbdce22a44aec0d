"""The REST API end to end: the real server (``oduflow`` under uvicorn) on the real engine, a
script's round trip over HTTP with its login: create (watching the progress as Server-Sent
Events), list, logs, stats, protect (delete refused), a cross-site delete refused, unprotect,
recreate, delete. Team 2, with its own password, never sees team 1's environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import TEAM2_HOST, Server, start_server
from tests.fixtures.instance import GitRemote, Instance

PASSWORDS = {"1": "web-pass-1", "2": "web-pass-2"}
WEB_TEAMS = (
    f'[team.1]\nui_password = "{PASSWORDS["1"]}"\nport_range = [56100, 56150]\n'
    f'[team.2]\nhostname = "{TEAM2_HOST}"\nui_password = "{PASSWORDS["2"]}"\nport_range = [56150, 56200]\n'
)
BRANCH = "web/round-trip"
TIMEOUT = httpx.Timeout(600.0, connect=10.0)


@pytest.fixture(scope="module")
def web_server(instance: Instance) -> Iterator[Server]:
    """The server with a ``ui_password`` per team (team 2 on its own hostname)."""
    config = instance.write_config("e2e-web.toml", teams=WEB_TEAMS)
    yield from start_server(config, instance.root / "e2e-web-server.log")


def client(server: Server, team: str = "1") -> httpx.Client:
    headers = {"host": TEAM2_HOST} if team == "2" else {}
    return httpx.Client(
        base_url=server.base_url, auth=("admin", PASSWORDS[team]), headers=headers, timeout=TIMEOUT
    )


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    found = []
    for block in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True, body
    return body["result"]


def create_with_progress(web: httpx.Client, instance: Instance, remote: GitRemote) -> dict[str, Any]:
    body = {
        "branch_name": BRANCH,
        "template_name": "none",
        "repo_url": remote.url,
        "odoo_image": instance.odoo_image,
    }
    response = web.post("/api/environments/create", json=body, headers={"accept": "text/event-stream"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    progress = [data["message"] for kind, data in events if kind == "progress"]
    assert len(progress) >= 3, events  # the creation's steps, as they ran
    kind, result = events[-1]
    assert kind == "result" and result["ok"] is True, result
    return dict(result["result"])


def test_a_scripts_round_trip_over_rest(
    web_server: Server, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    with client(web_server) as web, client(web_server, "2") as other:
        created = create_with_progress(web, instance, remote)
        try:
            assert created["branch"] == BRANCH and created["status"] == "running"
            listed = {e["branch"]: e for e in ok(web.get("/api/environments"))}
            assert listed[BRANCH]["status"] == "running" and listed[BRANCH]["protected"] is False
            assert BRANCH not in [e["branch"] for e in ok(other.get("/api/environments"))]
            assert other.post(f"/api/environments/{BRANCH}/delete").status_code == 404
            logs = ok(web.get(f"/api/environments/{BRANCH}/logs", params={"n": 50}))
            assert logs["branch"] == BRANCH and logs["logs"]
            stats = ok(web.get("/api/stats"))
            assert BRANCH in [c["branch"] for c in stats["containers"]]
            assert len(stats["host"]["load_average"]) == 3
            check_protection(web)
            recreated = ok(web.post(f"/api/environments/{BRANCH}/recreate"))
            assert recreated["status"] == "running" and recreated["repo_url"] == remote.url
            assert recreated["database"] == created["database"]
        finally:
            web.post(f"/api/environments/{BRANCH}/unprotect")
            deleted = web.post(f"/api/environments/{BRANCH}/delete")
        assert ok(deleted)["branch"] == BRANCH
        assert BRANCH not in [e["branch"] for e in ok(web.get("/api/environments"))]


def check_protection(web: httpx.Client) -> None:
    """Protected: delete and recreate refused; a cross-site delete refused whatever the protection."""
    assert ok(web.post(f"/api/environments/{BRANCH}/protect")) == {"branch": BRANCH, "protected": True}
    refused = web.post(f"/api/environments/{BRANCH}/delete")
    assert refused.status_code == 423 and refused.json()["type"] == "ProtectedError"
    assert web.post(f"/api/environments/{BRANCH}/recreate").json()["type"] == "ProtectedError"
    assert ok(web.post(f"/api/environments/{BRANCH}/unprotect"))["protected"] is False
    forged = web.post(f"/api/environments/{BRANCH}/delete", headers={"origin": "http://evil.example"})
    assert forged.status_code == 403 and forged.json()["type"] == "ForbiddenError"
    assert BRANCH in [e["branch"] for e in ok(web.get("/api/environments"))]  # it survived


def test_a_wrong_password_is_refused_and_logged(web_server: Server) -> None:
    offset = web_server.log.size()
    response = httpx.get(f"{web_server.base_url}/api/environments", auth=("admin", "not-it-42"), timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Oduflow"'
    wrong_team = httpx.get(
        f"{web_server.base_url}/api/environments", auth=("admin", PASSWORDS["2"]), timeout=10
    )
    assert wrong_team.status_code == 401  # team 2's password does not open team 1
    logged = web_server.log.since(offset)
    assert "web login refused for team 1" in logged and "not-it-42" not in logged
