"""The web surface's authentication and cross-site protection, attacked for real over HTTP (and a
websocket handshake) against a real app whose environments are state-store records (no Docker).

Team 1 answers on any host, team 2 on ``team2.localhost``; each has its own ``ui_password``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import AuthError
from oduflow.surfaces.http import build_http_app, startup_warnings
from oduflow.surfaces.web.auth import WebAuthMiddleware, own_origin, request_team
from tests.unit.test_web_api import add_env

TEAM2 = {"host": "team2.localhost"}
ONE = ("admin", "pass-one")
TWO = ("admin", "pass-two")


@pytest.fixture(autouse=True)
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


@pytest.fixture
def app(tmp_path: Path) -> App:
    teams = {"1": {"ui_password": ONE[1]}, "2": {"hostname": "team2.localhost", "ui_password": TWO[1]}}
    app = App(parse({"storage": {"data_dir": str(tmp_path / "data")}, "team": teams}))
    add_env(app, "team1-env", team="1")
    add_env(app, "team2-env", team="2")
    return app


@pytest.fixture
def client(app: App) -> Any:
    with TestClient(build_http_app(app)) as c:
        yield c


def branches(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["branch"] for e in response.json()["result"]]


def test_a_login_is_required_and_a_wrong_password_is_refused_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    anonymous = client.get("/api/environments")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="Oduflow"'  # the browser's prompt
    assert anonymous.json()["type"] == "AuthError"
    with caplog.at_level(logging.WARNING, logger="oduflow.web"):
        wrong = client.get("/api/environments", auth=("admin", "guess-123"))
        wrong_user = client.get("/api/environments", auth=("root", ONE[1]))
    assert wrong.status_code == 401 and wrong_user.status_code == 401
    logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(logged) == 2 and "team 1" in logged[0]
    assert not any("guess-123" in m or ONE[1] in m for m in logged)
    assert client.get("/api/environments", headers={"authorization": "Basic !!!"}).status_code == 401
    assert branches(client.get("/api/environments", auth=ONE)) == ["team1-env"]
    assert client.get("/", auth=("admin", "wrong")).status_code == 401  # the dashboard too


def test_a_team_sees_only_its_own_environments_and_its_password_opens_only_itself(
    app: App, client: TestClient
) -> None:
    assert branches(client.get("/api/environments", auth=TWO, headers=TEAM2)) == ["team2-env"]
    assert client.get("/api/environments", auth=TWO).status_code == 401  # team 2's password, team 1
    assert client.get("/api/environments", auth=ONE, headers=TEAM2).status_code == 401
    # team 2 cannot reach team 1's environment by its name either
    missing = client.post("/api/environments/team1-env/protect", auth=TWO, headers=TEAM2)
    assert missing.status_code == 404
    stored = app.store.get_env("1", "team1-env")
    assert stored is not None and not stored.protected


def test_mcp_and_the_health_check_are_not_behind_the_web_login(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    mcp = client.post("/mcp", json={})
    assert "basic" not in mcp.headers.get("www-authenticate", "").lower()


def test_a_foreign_origin_cannot_delete_an_environment(app: App, client: TestClient) -> None:
    attacks = [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "https://testserver"},  # same host, another scheme
        {"origin": "http://testserver:8443"},  # same host, another port
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ]
    for headers in attacks:
        refused = client.post("/api/environments/team1-env/protect", auth=ONE, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.json()["type"] == "ForbiddenError" and "www-authenticate" not in refused.headers
    # the delete itself, as a logged-in browser tricked by another site would send it
    attack = client.post(
        "/api/environments/team1-env/delete", auth=ONE, headers={"origin": "http://evil.example"}
    )
    assert attack.status_code == 403
    assert app.store.get_env("1", "team1-env") is not None  # the environment survives
    form = client.post(
        "/api/environments/team1-env/delete",
        auth=ONE,
        content=b"confirm=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 400 and "JSON" in form.json()["error"]
    assert client.post("/api/environments/team1-env/delete", auth=ONE, content=b"{}").status_code == 400
    assert app.store.get_env("1", "team1-env") is not None
    stored = app.store.get_env("1", "team1-env")
    assert stored is not None and not stored.protected  # none of the attacks ran the tool


def test_same_origin_and_non_browser_requests_pass(app: App, client: TestClient) -> None:
    allowed = [
        {},  # curl, scripts: neither Origin nor Sec-Fetch-Site
        {"origin": "http://testserver"},
        {"origin": "http://TestServer:80"},
        {"sec-fetch-site": "same-origin"},
        {"origin": "https://testserver", "x-forwarded-proto": "https"},  # behind a TLS proxy
    ]
    for headers in allowed:
        answer = client.post("/api/environments/team1-env/protect", auth=ONE, headers=headers)
        assert answer.status_code == 200, (headers, answer.text)
    cross_team = client.post(
        "/api/environments/team2-env/unprotect",
        auth=TWO,
        headers={**TEAM2, "origin": "http://team2.localhost"},
    )
    assert cross_team.status_code == 200
    assert (
        client.get("/api/environments", auth=ONE, headers={"origin": "http://evil.example"}).status_code
        == 200
    )


def test_origins_are_compared_normalised() -> None:
    scope: dict[str, Any] = {"type": "http", "scheme": "http"}
    assert own_origin(scope, Headers({"host": "Example.COM:80"})) == "http://example.com"
    assert own_origin(scope, Headers({"host": "[::1]:8000"})) == "http://[::1]:8000"
    assert own_origin({"scheme": "wss"}, Headers({"host": "h:443"})) == "https://h"
    assert own_origin(scope, Headers({"host": "h:bad"})) == "http://h:bad"


def _socket_app(app: App) -> Starlette:
    async def echo_team(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(request_team(websocket).id)
        await websocket.close()

    web = Starlette(routes=[WebSocketRoute("/api/socket", echo_team)])
    web.add_middleware(WebAuthMiddleware, oduflow_app=app)
    return web


def test_websocket_handshakes_are_authenticated_and_same_origin(app: App) -> None:
    login = {"authorization": "Basic YWRtaW46cGFzcy1vbmU="}  # admin:pass-one
    with TestClient(_socket_app(app)) as client:
        with client.websocket_connect("/api/socket", headers=login) as ws:
            assert ws.receive_text() == "1"
        foreign = {**login, "origin": "http://evil.example"}
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            client.websocket_connect("/api/socket", headers=foreign),
        ):
            pass
        assert denied.value.status_code == 403
        with pytest.raises(WebSocketDenialResponse) as anonymous, client.websocket_connect("/api/socket"):
            pass
        assert anonymous.value.status_code == 401
        assert anonymous.value.headers["www-authenticate"] == 'Basic realm="Oduflow"'
        same = {**login, "origin": "http://testserver"}
        with client.websocket_connect("/api/socket", headers=same) as ws:
            assert ws.receive_text() == "1"


def test_request_team_needs_the_middleware_and_open_teams_are_warned_about(tmp_path: Path) -> None:
    app = App(parse({"storage": {"data_dir": str(tmp_path)}}))
    bare = Starlette(routes=_socket_app(app).routes)  # no middleware
    with (
        TestClient(bare) as client,
        pytest.raises(AuthError, match="did not pass"),
        client.websocket_connect("/api/socket") as ws,
    ):
        ws.receive_text()
    warnings = startup_warnings(parse({"team": {"1": {"ui_password": "x"}, "2": {"hostname": "b"}}}))
    assert len(warnings) == 1 and warnings[0].startswith("[team.2] ui_password is empty")


def test_an_open_team_needs_no_login(tmp_path: Path) -> None:
    app = App(parse({"storage": {"data_dir": str(tmp_path)}}))
    with TestClient(build_http_app(app)) as client:
        assert client.get("/api/environments").json() == {"ok": True, "result": []}
        assert (
            client.post("/api/environments/x/delete", headers={"origin": "http://evil.example"}).status_code
            == 403
        )
