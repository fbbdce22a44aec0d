"""The dashboard's own routes without Docker: the page and its static files behind the login,
with a same-origin Content-Security-Policy, and the live log route's answers before any stream
(a bad ``n``, an unknown or another team's environment). Following a real log is the browser
tier's (``tests/browser``) and ``tests/docker/test_log_follow.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from oduflow.app import App
from oduflow.config import parse
from oduflow.services.envmodel import EnvParams
from oduflow.state import EnvRecord
from oduflow.surfaces.http import build_http_app
from oduflow.surfaces.web.dashboard import STATIC_DIR

PASSWORD = "dash-pass"
LOGIN = ("admin", PASSWORD)


@pytest.fixture(autouse=True)
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


@pytest.fixture
def app(tmp_path: Path) -> App:
    teams = {
        "1": {"ui_password": PASSWORD},
        "2": {"hostname": "team2.localhost", "ui_password": "other"},
    }
    return App(parse({"storage": {"data_dir": str(tmp_path / "data")}, "team": teams}))


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(build_http_app(app)) as c:
        yield c


def test_the_page_and_its_files_need_the_login(client: TestClient) -> None:
    for path in ("/", "/static/app.js", "/static/app.css"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    page = client.get("/", auth=LOGIN)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (STATIC_DIR / "index.html").read_text()
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    script = client.get("/static/app.js", auth=LOGIN)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["x-frame-options"] == "DENY"


def test_the_page_loads_nothing_from_another_origin() -> None:
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC_DIR / name).read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


def test_no_file_outside_the_static_directory(client: TestClient) -> None:
    for path in ("/static/../dashboard.py", "/static/%2e%2e/dashboard.py", "/static/nothing.js"):
        assert client.get(path, auth=LOGIN).status_code == 404, path


def add_env(app: App, team: str, branch: str) -> None:
    params = EnvParams(
        branch=branch, slug=branch, template="none", repo_url="https://example.com/r.git",
        odoo_image="odoo:18.0", run_image="odoo:18.0", db_name="", db_role="", db_password="", storage="",
    )  # fmt: skip
    app.store.add_env(
        EnvRecord(team=team, branch=branch, slug=branch, status="ready", params=params.to_dict())
    )


def test_the_live_log_route_refuses_before_streaming(app: App, client: TestClient) -> None:
    add_env(app, "2", "team2-only")
    url = "/api/environments/{}/logs/stream"
    assert client.get(url.format("x")).status_code == 401
    for query, message in (
        ("?n=abc", "whole number"),
        ("?n=0", "between 1 and 5000"),
        ("?n=5001", "between"),
    ):
        answer = client.get(url.format("x") + query, auth=LOGIN)
        assert answer.status_code == 400 and answer.json()["type"] == "ValidationError", query
        assert message in answer.json()["error"]
    for branch in ("no-such-branch", "team2-only"):  # another team's environment is not found
        answer = client.get(url.format(branch), auth=LOGIN)
        body = answer.json()
        assert answer.status_code == 404 and body["type"] == "NotFoundError", answer.text
        assert body["ok"] is False and f"no environment for branch '{branch}'" in body["error"]
