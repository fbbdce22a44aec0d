"""The one error mapping of the HTTP surface: the error tree's statuses, a Bearer challenge on 401."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import AuthError, BusyError, NotFoundError, ValidationError
from oduflow.surfaces.http import build_http_app, error_response


def test_errors_answer_with_their_http_status_and_type() -> None:
    for exc, status in (
        (ValidationError("bad"), 400),
        (NotFoundError("gone"), 404),
        (BusyError("busy"), 409),
    ):
        response = error_response(exc)
        assert response.status_code == status
        assert json.loads(response.body) == {"ok": False, "error": str(exc), "type": type(exc).__name__}
        assert "www-authenticate" not in response.headers
    assert error_response(AuthError("no token")).headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_refused_by_the_mapping(tmp_path: Path) -> None:
    app = App(parse({"storage": {"data_dir": str(tmp_path)}, "team": {"1": {"auth_token": "secret"}}}))
    with TestClient(build_http_app(app)) as client:
        response = client.post("/mcp", headers={"authorization": "Bearer wrong"}, json={})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"ok": False, "error": "invalid bearer token", "type": "AuthError"}
