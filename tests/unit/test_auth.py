"""Team resolution: token, Host header, single team, team "1"; refused without the token."""

from __future__ import annotations

import pytest

from oduflow.config import parse
from oduflow.errors import AuthError
from oduflow.surfaces.auth import resolve_team

TWO = parse(
    {
        "team": {
            "1": {"hostname": "a.example.com", "auth_token": "tok-a"},
            "2": {"hostname": "b.example.com", "auth_token": "tok-b"},
            "3": {"hostname": "open.example.com"},
        }
    }
)


def test_token_selects_team_whatever_the_host() -> None:
    assert resolve_team(TWO, {"authorization": "Bearer tok-b", "host": "a.example.com"}).id == "2"
    assert resolve_team(TWO, {"Authorization": "bearer tok-a"}).id == "1"


def test_wrong_or_missing_token_refused() -> None:
    with pytest.raises(AuthError, match="invalid bearer token"):
        resolve_team(TWO, {"authorization": "Bearer nope"})
    with pytest.raises(AuthError, match="requires a bearer token"):
        resolve_team(TWO, {"host": "a.example.com:8000"})
    with pytest.raises(AuthError):
        resolve_team(TWO, {})  # falls back to team "1", which has a token


def test_host_then_single_then_default() -> None:
    assert resolve_team(TWO, {"host": "open.example.com:8000"}).id == "3"
    single = parse({"team": {"9": {}}})
    assert resolve_team(single, {"host": "whatever"}).id == "9"
    multi = parse({"team": {"1": {}, "2": {"hostname": "x"}}})
    assert resolve_team(multi, {"host": "unknown"}).id == "1"


def test_startup_lines_show_the_served_port_and_auth_state() -> None:
    from oduflow.surfaces.http import startup_lines

    lines = startup_lines(parse({"team": {"1": {"auth_token": "t"}}}), 18999)
    assert lines == ["[team.1] http://localhost:18999/ (MCP token ON, UI auth OFF)"]


def test_the_middleware_resolves_the_team_once_and_hands_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers are read once per request (duplicated ``Authorization`` headers cannot make the
    middleware and the tool disagree): the tools take the team the middleware put in the state."""
    import asyncio
    from types import SimpleNamespace

    from oduflow.surfaces import http, mcp

    calls: list[dict[str, str]] = []

    def counting(config: object, headers: dict[str, str]) -> object:
        calls.append(headers)
        return resolve_team(TWO, headers)

    monkeypatch.setattr(http, "resolve_team", counting)
    seen: dict[str, object] = {}

    async def inner(scope: dict, receive: object, send: object) -> None:
        seen.update(scope.get("state", {}))

    app = SimpleNamespace(config=TWO)
    middleware = http.McpAuthMiddleware(inner, app)  # type: ignore[arg-type]
    headers = [(b"authorization", b"Bearer nope"), (b"authorization", b"Bearer tok-b")]
    scope = {"type": "http", "path": "/mcp", "headers": headers}
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    assert len(calls) == 1 and seen == {mcp.TEAM_STATE: "2"}

    request = SimpleNamespace(scope={"state": {mcp.TEAM_STATE: "2"}})
    monkeypatch.setattr(mcp, "get_http_request", lambda: request)
    assert mcp.current_team(app, None).id == "2"  # type: ignore[arg-type]
    request.scope = {}  # a request that did not go through the middleware is refused
    with pytest.raises(AuthError, match="authentication middleware"):
        mcp.current_team(app, None)  # type: ignore[arg-type]
