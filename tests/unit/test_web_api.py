"""The REST API without Docker: the route table against the reference, the envelope, arguments
from path/query/body and the catalog's validation, locks and admission, progress as Server-Sent
Events, router errors as JSON and the OpenAPI document.

The app is real (catalog, state store, locks); Docker is made unreachable (``DOCKER_HOST`` on a
missing socket), so environments exist only as state-store records: what needs no container
(protection, delete refused, listing, guides) runs for real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field
from starlette.applications import Starlette
from starlette.testclient import TestClient

from oduflow import hookimpl
from oduflow.app import App
from oduflow.config import parse
from oduflow.locks import LockScope
from oduflow.plugins import get_plugin_manager
from oduflow.services.envmodel import EnvParams
from oduflow.state import EnvRecord
from oduflow.surfaces.http import build_http_app
from oduflow.surfaces.web import api
from oduflow.surfaces.web.auth import WebAuthMiddleware
from oduflow.surfaces.web.openapi import openapi_document
from oduflow.toolspec import Call, tool

REFERENCE_ROWS = {
    # the reference's "REST API Endpoints": Environments (the terminal socket aside), System,
    # Agent Guides
    ("GET", "/api/environments"),
    ("POST", "/api/environments/create"),
    *(
        ("POST", f"/api/environments/{{branch}}/{action}")
        for action in ("start", "stop", "restart", "sync", "recreate", "delete", "protect", "unprotect")
    ),
    ("GET", "/api/environments/{branch}/logs"),
    ("GET", "/api/stats"),
    ("GET", "/api/templates"),
    ("GET", "/api/agent-guides"),
    ("GET", "/api/agent-guides/{filename}"),
    # Services, Service Presets
    ("GET", "/api/services"),
    ("POST", "/api/services/create"),
    *(("POST", f"/api/services/{{name}}/{action}") for action in ("update", "delete")),
    ("GET", "/api/services/{name}/logs"),
    ("GET", "/api/service-presets"),
    ("POST", "/api/service-presets/restore"),
    ("POST", "/api/service-presets/{name}/delete"),
    # Credentials
    ("GET", "/api/credentials"),
    *(("POST", f"/api/credentials/{action}") for action in ("add", "delete", "validate")),
    # Extra Addons
    ("GET", "/api/extra-repos"),
    ("POST", "/api/extra-repos/add"),
    *(
        ("POST", f"/api/extra-repos/{{name}}/{action}")
        for action in ("pull", "protect", "unprotect", "delete")
    ),
}


def add_env(app: App, branch: str, team: str = "1", protected: bool = False) -> None:
    """A ready environment as the state store knows it (no container: Docker is unreachable)."""
    params = EnvParams(
        branch=branch, slug=branch, template="none", repo_url="https://example.com/r.git",
        odoo_image="odoo:18.0", run_image="odoo:18.0", db_name=f"db_{branch}", db_role=f"r_{branch}",
        db_password="x", storage="",
    )  # fmt: skip
    app.store.add_env(
        EnvRecord(team=team, branch=branch, slug=branch, status="ready", protected=protected,
                  params=params.to_dict())
    )  # fmt: skip


@pytest.fixture(autouse=True)
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(parse({"storage": {"data_dir": str(tmp_path / "data")}}))


@pytest.fixture
def client(app: App) -> Any:
    with TestClient(build_http_app(app)) as c:
        yield c


def test_the_route_table_is_the_reference_table_each_row_one_agent_tool(app: App) -> None:
    assert {(e.method, e.path) for e in api.ENDPOINTS} == REFERENCE_ROWS
    assert len({e.tool for e in api.ENDPOINTS}) == len(api.ENDPOINTS)
    for endpoint in api.ENDPOINTS:
        spec = app.catalog.get(endpoint.tool)
        assert spec.audience == "agent", endpoint
        params = {p.name for p in spec.parameters}
        assert set(endpoint.path_args.values()) | set(endpoint.query_args.values()) <= params
        assert all(f"{{{name}}}" in endpoint.path for name in endpoint.path_args)


def test_answers_are_the_tools_results_in_the_envelope(app: App, client: TestClient) -> None:
    add_env(app, "feature-a")
    listed = client.get("/api/environments").json()
    assert listed["ok"] is True
    assert [(e["branch"], e["protected"], e["repo_url"]) for e in listed["result"]] == [
        ("feature-a", False, "https://example.com/r.git")
    ]
    assert client.get("/api/templates").json() == {"ok": True, "result": []}
    guides = client.get("/api/agent-guides").json()["result"]
    assert "agent_guide.md" in {g["filename"] for g in guides}
    guide = client.get("/api/agent-guides/agent_guide.md").json()["result"]
    assert guide["filename"] == "agent_guide.md" and guide["content"].startswith("# ")


def test_protection_round_trip_and_a_protected_delete_refused(app: App, client: TestClient) -> None:
    add_env(app, "feature/login")  # a branch with a slash: the path carries it as is
    answer = client.post("/api/environments/feature/login/protect")
    assert answer.status_code == 200 and answer.json() == {
        "ok": True,
        "result": {"branch": "feature/login", "protected": True},
    }
    refused = client.post("/api/environments/feature/login/delete")
    assert refused.status_code == 423 and refused.json()["type"] == "ProtectedError"
    assert client.post("/api/environments/feature/login/stop").json()["type"] == "ProtectedError"
    stored = app.store.get_env("1", "feature/login")
    assert stored is not None and stored.protected
    assert client.post("/api/environments/feature/login/unprotect").json()["result"]["protected"] is False
    stored = app.store.get_env("1", "feature/login")
    assert stored is not None and not stored.protected


def test_errors_carry_the_error_trees_status_and_type(client: TestClient) -> None:
    cases = [
        (client.post("/api/environments/nope/start"), 404, "NotFoundError"),
        (client.get("/api/agent-guides/../etc.md"), 404, "NotFoundError"),  # no such route
        (client.get("/api/agent-guides/missing.md"), 404, "NotFoundError"),
        (client.get("/api/agent-guides/bad name"), 400, "ValidationError"),
        (client.get("/api/environments/x/logs?n=abc"), 400, "ValidationError"),
        (client.get("/api/environments/x/logs?n=0"), 400, "ValidationError"),
        (client.post("/api/environments/create", json={"branch_name": "a..b"}), 400, "ValidationError"),
        (client.get("/api/stats"), 503, "PrerequisiteNotMetError"),  # Docker unreachable
        (client.get("/api/nothing"), 404, "NotFoundError"),
    ]
    for response, status, kind in cases:
        assert (response.status_code, response.json()["type"]) == (status, kind), response.text
        assert response.json()["ok"] is False and response.json()["error"]
    wrong_method = client.get("/api/environments/x/start")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert wrong_method.json()["ok"] is False
    assert client.get("/not-an-api-path").headers["content-type"].startswith("text/plain")


def test_the_body_holds_the_other_arguments_validated_by_the_catalog(app: App, client: TestClient) -> None:
    add_env(app, "b1")
    unknown = client.post("/api/environments/b1/protect", json={"force": True})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "protect_environment: force: unknown parameter (got True)"
    clash = client.post("/api/environments/b1/protect", json={"branch_name": "other"})
    assert clash.status_code == 400 and "given in the URL" in clash.json()["error"]
    for body in (b"[1, 2]", b"{not json", b'"text"'):
        bad = client.post(
            "/api/environments/b1/protect", content=body, headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["type"] == "ValidationError", body
    big = client.post(
        "/api/environments/create",
        content=json.dumps({"branch_name": "x" * (api.MAX_BODY_BYTES + 1)}),
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 400 and "over" in big.json()["error"]
    stored = app.store.get_env("1", "b1")
    assert stored is not None and not stored.protected  # nothing was run


def test_the_branch_lock_and_the_team_slots_are_the_catalogs(app: App, client: TestClient) -> None:
    add_env(app, "busy")
    with app.locks.hold(LockScope.branch("1", "busy"), "another operation"):
        held = client.post("/api/environments/busy/protect")
    assert held.status_code == 409 and held.json()["type"] == "BusyError"
    limit = app.config.limits.max_concurrent_per_team
    slots = [app.locks.slot("team:1", limit, f"op{i}", holder="team '1'") for i in range(limit)]
    for slot in slots:
        slot.__enter__()
    try:
        full = client.post("/api/environments/busy/protect")
    finally:
        for slot in slots:
            slot.__exit__(None, None, None)
    assert full.status_code == 409 and full.json()["type"] == "BusyError"
    assert client.post("/api/environments/busy/protect").json()["ok"] is True


@tool(title="Count with progress", read_only=True)
def count_with_progress(
    call: Call, upto: Annotated[int, Field(ge=1, le=5, description="Last number.")]
) -> dict[str, Any]:
    """Report each number as progress. Returns ``counted``."""
    for n in range(1, upto + 1):
        call.progress(f"counted {n}")
    return {"counted": upto}


class CountPlugin:
    @hookimpl
    def oduflow_register_tools(self, register: Any) -> None:
        register(count_with_progress)


def events(text: str) -> list[tuple[str, Any]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_progress_streams_as_server_sent_events_then_the_result(tmp_path: Path) -> None:
    pm = get_plugin_manager()
    pm.register(CountPlugin(), name="count-test")
    app = App(parse({"storage": {"data_dir": str(tmp_path / "data")}}), pm)
    endpoint = api.Endpoint("POST", "/api/count", "count_with_progress")
    web = Starlette(routes=api.routes(app, (endpoint,)))
    web.add_middleware(WebAuthMiddleware, oduflow_app=app)
    stream = {"accept": "text/event-stream"}
    with TestClient(web) as client:
        ok = client.post("/api/count", json={"upto": 3}, headers=stream)
        refused = client.post("/api/count", json={"upto": 9}, headers=stream)
        plain = client.post("/api/count", json={"upto": 2})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in ok.headers
    assert events(ok.text) == [
        ("progress", {"message": "counted 1"}),
        ("progress", {"message": "counted 2"}),
        ("progress", {"message": "counted 3"}),
        ("result", {"ok": True, "result": {"counted": 3}}),
    ]
    [(kind, body)] = events(refused.text)
    assert kind == "result" and body["ok"] is False and body["type"] == "ValidationError"
    assert plain.json() == {"ok": True, "result": {"counted": 2}}


def test_the_openapi_document_describes_every_endpoint_from_the_catalog(app: App, client: TestClient) -> None:
    served = client.get("/api/openapi.json")
    assert served.status_code == 200
    doc = served.json()
    assert doc == openapi_document(app.catalog) and doc["openapi"].startswith("3.1")
    assert {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops} == REFERENCE_ROWS
    create = doc["paths"]["/api/environments/create"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["branch_name"] and body["additionalProperties"] is False
    assert set(body["properties"]) == {
        "branch_name",
        "template_name",
        "repo_url",
        "odoo_image",
        "sanitize",
    } | {
        "extra_addons",
        "extra_addons_branch",
    }
    logs = doc["paths"]["/api/environments/{branch}/logs"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in logs["parameters"]] == [
        ("branch", "path", True),
        ("n", "query", False),
    ]
    assert logs["parameters"][1]["schema"]["maximum"] == 5000
    result = create["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"]
    assert result["title"] == "CreatedEnvironment" and "url" in result["properties"]
    listed = doc["paths"]["/api/environments"]["get"]["responses"]["200"]["content"]["application/json"]
    items = listed["schema"]["properties"]["result"]["items"]
    assert items == {"$ref": "#/components/schemas/EnvironmentSummary"}
    assert "protected" in doc["components"]["schemas"]["EnvironmentSummary"]["properties"]
    assert "requestBody" not in doc["paths"]["/api/environments/{branch}/start"]["post"]
    assert "$defs" not in json.dumps(doc)
