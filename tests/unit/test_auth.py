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
