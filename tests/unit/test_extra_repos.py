"""Extra addons repositories without Docker: real bare clones of real git remotes, worktrees,
protection, refusals, team isolation, ``odoo.conf`` merging, and the surfaces (catalog, MCP,
``oduflow call``, REST)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from oduflow import catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import ConflictError, NotFoundError, ProtectedError, ValidationError
from oduflow.layout import team_layout
from oduflow.services import extra_repos, runtime
from oduflow.services.envmodel import EnvParams, env_paths, extra_volumes, new_identity
from oduflow.state import EnvRecord
from oduflow.surfaces.cli import cli
from oduflow.surfaces.http import build_http_app
from oduflow.surfaces.mcp import build_mcp
from tests.fixtures.instance import GitRemote, make_remote

MODULE = {
    "only_extra/__init__.py": "",
    "only_extra/__manifest__.py": "{'name': 'Only Extra', 'version': '18.0.1.0.0', 'depends': ['base'], "
    "'license': 'LGPL-3'}\n",
}


@pytest.fixture(autouse=True)
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "oduflow.toml"
    data = tmp_path / "data"
    path.write_text(
        f'[server]\nallow_local_repos = true\n[storage]\ndata_dir = "{data}"\n[team.1]\n[team.2]\n'
    )
    monkeypatch.setenv("ODUFLOW_TOML", str(path))
    return path


@pytest.fixture
def app(config_file: Path) -> App:
    return App(load(config_file))


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    return make_remote(tmp_path, files=MODULE)


def call(app: App, tool: str, team: str = "1", **args: Any) -> Any:
    return catalog.invoke(app, app.config.team(team), tool, args)


def git_out(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def use(app: App, branch: str, name: str, team: str = "1") -> None:
    """An environment record of ``team`` that mounts ``name`` (as create_environment stores it)."""
    params = EnvParams(
        branch=branch, slug=branch, template="none", repo_url="https://example.com/r.git",
        odoo_image="odoo:18.0", run_image="odoo:18.0", db_name=f"db_{branch}", db_role=f"r_{branch}",
        db_password="x", storage="", extra_addons=[{"name": name, "branch": "main", "commit": "0" * 40}],
    )  # fmt: skip
    app.store.add_env(
        EnvRecord(team=team, branch=branch, slug=branch, status="ready", params=params.to_dict())
    )


def test_add_list_update_protect_and_delete(app: App, remote: GitRemote) -> None:
    added = call(app, "add_extra_repo", name="enterprise", repo_url=remote.url)
    assert added == {
        "name": "enterprise",
        "repo_url": remote.url,
        "default_branch": "main",
        "branches": ["main"],
        "protected": False,
        "used_by": [],
    }
    bare = team_layout(app, "1").shared_repo("enterprise")
    assert git_out("rev-parse", "--is-bare-repository", cwd=bare).strip() == "true"
    with pytest.raises(ConflictError, match="exists already"):
        call(app, "add_extra_repo", name="enterprise", repo_url=remote.url)

    old = git_out("rev-parse", "HEAD", cwd=remote.work).strip()
    remote.write("only_extra/models.py", "# changed\n")
    new = remote.push("second")
    remote.push("a branch", branch="17.0")
    fetched = call(app, "update_extra_repo", name="enterprise")
    assert fetched["updated"] == [{"branch": "main", "old_commit": old, "new_commit": new}]
    assert fetched["added"] == ["17.0"] and fetched["branches"] == ["17.0", "main"]

    assert call(app, "protect_extra_repo", name="enterprise") == {"name": "enterprise", "protected": True}
    assert (bare / extra_repos.PROTECTED_MARKER).is_file()
    with pytest.raises(ProtectedError):
        call(app, "delete_extra_repo", name="enterprise")
    call(app, "unprotect_extra_repo", name="enterprise")
    use(app, "feature-x", "enterprise")
    assert call(app, "list_extra_repos")[0]["used_by"] == ["feature-x"]
    with pytest.raises(ConflictError, match="feature-x"):
        call(app, "delete_extra_repo", name="enterprise")
    app.store.remove_env("1", "feature-x")
    assert call(app, "delete_extra_repo", name="enterprise") == {"name": "enterprise", "deleted": True}
    assert not bare.exists() and call(app, "list_extra_repos") == []


def test_a_failed_clone_leaves_nothing(app: App, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="git clone failed"):
        call(app, "add_extra_repo", name="broken", repo_url=f"file://{tmp_path}/missing.git")
    assert list(team_layout(app, "1").shared_repos.iterdir()) == []


def test_another_team_neither_sees_nor_uses_nor_deletes_it(app: App, remote: GitRemote) -> None:
    call(app, "add_extra_repo", name="enterprise", repo_url=remote.url)
    assert call(app, "list_extra_repos", team="2") == []
    with pytest.raises(NotFoundError):
        extra_repos.resolve(app, app.config.team("2"), [("enterprise", "main")])
    with pytest.raises(NotFoundError):
        call(app, "delete_extra_repo", team="2", name="enterprise")
    use(app, "other-team-env", "enterprise", team="2")  # same name in team 2: not a user of team 1's
    assert call(app, "list_extra_repos")[0]["used_by"] == []


def test_requests_are_parsed_and_resolved_to_commits(app: App, remote: GitRemote) -> None:
    assert extra_repos.parse_request("enterprise, themes:17.0", "16.0") == [
        ("enterprise", "16.0"),
        ("themes", "17.0"),
    ]
    assert extra_repos.parse_request({"enterprise": "17.0"}) == [("enterprise", "17.0")]
    assert extra_repos.parse_request("") == []
    for bad in ("Enterprise", "../x", "a,a"):
        with pytest.raises(ValidationError):
            extra_repos.parse_request(bad)
    team = app.config.team("1")
    call(app, "add_extra_repo", name="enterprise", repo_url=remote.url)
    head = git_out("rev-parse", "HEAD", cwd=remote.work).strip()
    assert extra_repos.resolve(app, team, [("enterprise", "")]) == (
        extra_repos.WorktreeRequest("enterprise", "main", head),
    )
    with pytest.raises(NotFoundError, match=r"no branch '17\.0'"):
        extra_repos.resolve(app, team, [("enterprise", "17.0")])
    with pytest.raises(NotFoundError, match="no extra addons repository 'themes'"):
        extra_repos.resolve(app, team, [("themes", "main")])


def test_worktrees_are_pinned_and_removed_with_their_records(app: App, remote: GitRemote) -> None:
    team = app.config.team("1")
    call(app, "add_extra_repo", name="enterprise", repo_url=remote.url)
    (request,) = extra_repos.resolve(app, team, [("enterprise", "main")])
    layout = team_layout(app, "1").workspace("feature-x")
    path = extra_repos.add_worktree(app, team, layout, request)
    assert path == layout.root / "extra" / "enterprise"
    assert (path / "only_extra" / "__manifest__.py").is_file()
    bare = team_layout(app, "1").shared_repo("enterprise")
    assert str(path) in git_out("worktree", "list", cwd=bare)

    remote.write("only_extra/models.py", "from odoo import fields, models\n")
    newer = remote.push("newer")
    call(app, "update_extra_repo", name="enterprise")
    assert git_out("rev-parse", "HEAD", cwd=path).strip() == request.commit != newer  # still pinned
    (pinned,) = extra_repos.pinned_changes(app, team, [request.to_dict()])
    assert pinned["commit"] == request.commit and pinned["branch_head"] == newer
    assert pinned["changed_files_total"] == 1 and "not applied" in pinned["note"]

    extra_repos.remove_worktrees(app, team, layout, ["enterprise"])
    assert not (layout.root / "extra").exists()
    assert str(path) not in git_out("worktree", "list", cwd=bare)


def test_mounts_are_read_only_and_addons_path_is_merged(app: App) -> None:
    team = app.config.team("1")
    env = new_identity(app, team, "feature-x", "none", "https://h/r.git", "odoo:18.0", ("enterprise",))
    assert extra_volumes(env) == {
        str(env_paths(app, team, "feature-x").layout.extra("enterprise")): {
            "bind": "/mnt/extra-addons-enterprise",
            "mode": "ro",
        }
    }
    conf = runtime.OdooConf(db_host="db", db_user="u", db_password="p", db_name="d")
    extra = ["/mnt/extra-addons-enterprise"]
    merged = runtime.render_conf("[options]\n", conf, extra_paths=extra)
    assert "addons_path = /mnt/extra-addons,/mnt/extra-addons-enterprise\n" in merged
    own = runtime.render_conf(
        "[options]\naddons_path = /mnt/extra-addons, /opt/more\n", conf, extra_paths=extra
    )
    assert "addons_path = /mnt/extra-addons,/opt/more,/mnt/extra-addons-enterprise\n" in own
    assert "addons_path = /mnt/extra-addons\n" in runtime.render_conf("[options]\n", conf)


def test_oduflow_call_runs_the_tools(app: App, remote: GitRemote) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["call", "add_extra_repo", "enterprise", remote.url])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["call", "list_extra_repos"])
    assert listed.exit_code == 0 and '"enterprise"' in listed.output
    refused = runner.invoke(cli, ["call", "delete_extra_repo", "nope"])
    assert refused.exit_code == 1 and "NotFoundError" in refused.output


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(build_http_app(app)) as c:
        yield c


def test_rest_rows_clone_pull_protect_and_delete(app: App, client: TestClient, remote: GitRemote) -> None:
    body = json.dumps({"name": "enterprise", "repo_url": remote.url})
    added = client.post("/api/extra-repos/add", content=body, headers={"Content-Type": "application/json"})
    assert added.status_code == 200 and added.json()["result"]["branches"] == ["main"]
    assert [r["name"] for r in client.get("/api/extra-repos").json()["result"]] == ["enterprise"]
    assert client.post("/api/extra-repos/enterprise/pull").json()["result"]["updated"] == []
    assert client.post("/api/extra-repos/enterprise/protect").json()["result"]["protected"] is True
    refused = client.post("/api/extra-repos/enterprise/delete")
    assert refused.status_code >= 400 and refused.json()["type"] == "ProtectedError"
    client.post("/api/extra-repos/enterprise/unprotect")
    assert client.post("/api/extra-repos/enterprise/delete").json()["result"]["deleted"] is True


@pytest.mark.anyio
async def test_mcp_clones_lists_and_refuses(app: App, remote: GitRemote) -> None:
    async with Client(build_mcp(app)) as client:
        added = await client.call_tool("add_extra_repo", {"name": "enterprise", "repo_url": remote.url})
        listed = await client.call_tool("list_extra_repos", {})
        await client.call_tool("protect_extra_repo", {"name": "enterprise"})
        with pytest.raises(ToolError, match="protected"):
            await client.call_tool("delete_extra_repo", {"name": "enterprise"})
    assert added.structured_content is not None and added.structured_content["branches"] == ["main"]
    assert listed.structured_content == {"result": [{**added.structured_content, "protected": False}]}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
