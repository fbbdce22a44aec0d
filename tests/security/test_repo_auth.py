"""Git credentials through the REST "Credentials" endpoints against a real git server over TLS.

The server is ``git http-backend`` behind HTTP Basic authentication, with a certificate of a CA
the test made; only Oduflow's git runs trust that CA, through the operator's
``[server].git_ca_file``. No container is made (the address policy only reads the engine's
networks).
Wrong credentials are refused and stored nowhere (nor do they erase the right ones), right ones
are stored 0600 and listed masked, validation tells a changed token apart, a token given as the
URL's user name works too, another team can neither list, validate, delete nor use them, and
the reference's ``oduflow call setup_repo_auth https://user:PAT@...`` runs as written (then MCP
lists it masked); the extra addons repositories clone and fetch the clean URL with it too.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client
from starlette.testclient import TestClient

from oduflow import catalog, git
from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import ExternalCommandError
from oduflow.layout import team_layout
from oduflow.surfaces.http import build_http_app
from oduflow.surfaces.mcp import build_mcp
from tests.security.netservers import GitHttpServer, LocalCa, make_bare_repo

OTHER_HOST = "other.localhost"


@dataclass
class Setup:
    app: App
    server: GitHttpServer
    clean: str
    token: str
    team1: TestClient
    team2: TestClient

    def url(self, userinfo: str) -> str:
        return self.clean.replace("https://", f"https://{userinfo}@")

    @property
    def store(self) -> Path:
        return self.app.team_dir("1") / ".git-credentials"

    def post(self, client: TestClient, action: str, **body: str) -> Any:
        return client.post(f"/api/credentials/{action}", json=body).json()


def make_app(data: Path, ca_file: str) -> App:
    """Two teams; the test server's address allowed; its CA trusted when ``ca_file`` is set."""
    return App(
        parse({
            "storage": {"data_dir": str(data)},
            "server": {"allowed_hosts": ["127.0.0.1"], "git_ca_file": ca_file},
            "team": {"1": {"port_range": [56300, 56310]},
                     "2": {"hostname": OTHER_HOST, "port_range": [56310, 56320]}},
        })
    )  # fmt: skip


@pytest.fixture
def ca(tmp_path: Path) -> LocalCa:
    return LocalCa(tmp_path / "ca").create()


@pytest.fixture
def setup(tmp_path: Path, ca: LocalCa) -> Iterator[Setup]:
    token = "ghp_" + secrets.token_hex(16)
    make_bare_repo(tmp_path / "srv", "private.git")
    app = make_app(tmp_path / "data", str(ca.ca_file))
    with (
        GitHttpServer(root=tmp_path / "srv", auth=("alice", token), tls=ca.server_context()) as server,
        TestClient(build_http_app(app), base_url="http://localhost") as team1,
        TestClient(build_http_app(app), base_url=f"http://{OTHER_HOST}") as team2,
    ):
        yield Setup(app, server, server.url("private.git"), token, team1, team2)


def test_wrong_credentials_are_refused_right_ones_stored_masked_and_validated(setup: Setup) -> None:
    wrong = setup.post(setup.team1, "add", repo_url=setup.url("alice:ghp_wrongwrongwrongwrong"))
    assert wrong["ok"] is False and "Authentication failed" in wrong["error"]
    assert "ghp_wrongwrongwrongwrong" not in json.dumps(wrong)
    assert not setup.store.exists()  # nothing stored

    added = setup.post(setup.team1, "add", repo_url=setup.url(f"alice:{setup.token}"))
    assert added["ok"] is True, added
    assert setup.token not in json.dumps(added)
    result = added["result"]
    assert (result["username"], result["token"], result["repository"]) == ("alice", "ghp_****", setup.clean)
    assert setup.store.read_text().splitlines() == [
        f"https://alice:{setup.token}@127.0.0.1:{setup.server.port}"
    ]
    assert setup.store.stat().st_mode & 0o777 == 0o600
    repos = setup.app.team_dir("1") / ".git-credentials.repos"
    assert setup.token not in repos.read_text() and repos.stat().st_mode & 0o777 == 0o600

    listed = setup.team1.get("/api/credentials").json()["result"]
    host = f"127.0.0.1:{setup.server.port}"
    assert listed == [{"host": host, "scheme": "https", "username": "alice", "token": "ghp_****",
                       "token_only": False}]  # fmt: skip

    # a wrong attempt later leaves the right credential in place (git never erases it)
    assert setup.post(setup.team1, "add", repo_url=setup.url("alice:ghp_badbadbadbadbadbad"))["ok"] is False
    assert setup.token in setup.store.read_text()

    valid = setup.post(setup.team1, "validate", host=host, username="alice")["result"]
    assert valid["status"] == "valid" and setup.token not in json.dumps(valid)
    setup.server.auth = ("alice", "ghp_" + secrets.token_hex(16))  # the token was revoked
    invalid = setup.post(setup.team1, "validate", host=host, username="alice")["result"]
    assert invalid["status"] == "invalid"
    assert setup.token in setup.store.read_text()  # validation reports; it removes nothing

    deleted = setup.post(setup.team1, "delete", host=host, username="alice")
    assert deleted["ok"] is True and setup.token not in json.dumps(deleted)
    assert setup.token not in setup.store.read_text()
    assert setup.team1.get("/api/credentials").json()["result"] == []


def test_a_token_as_the_user_name_is_kept_as_a_credential_and_listed_masked(setup: Setup) -> None:
    setup.server.auth = (setup.token, "")
    added = setup.post(setup.team1, "add", repo_url=setup.url(setup.token))
    assert added["ok"] is True and setup.token not in json.dumps(added)
    assert f"https://{setup.token}:@127.0.0.1:{setup.server.port}" in setup.store.read_text().splitlines()
    [entry] = setup.team1.get("/api/credentials").json()["result"]
    assert (entry["username"], entry["token_only"]) == ("ghp_****", True)
    valid = setup.post(setup.team1, "validate", host=entry["host"], username="ghp_****")["result"]
    assert valid["status"] == "valid"
    # the team's git runs authenticate with it (clone, fetch and pull go through this access)
    access = git.team_access(setup.app, setup.app.config.team("1"))
    assert git.remote_has_branch(setup.clean, "main", access) is True


def test_another_team_can_neither_list_validate_delete_nor_use_them(setup: Setup) -> None:
    assert setup.post(setup.team1, "add", repo_url=setup.url(f"alice:{setup.token}"))["ok"] is True
    host = f"127.0.0.1:{setup.server.port}"
    assert setup.team2.get("/api/credentials").json()["result"] == []
    for action in ("validate", "delete"):
        answer = setup.post(setup.team2, action, host=host, username="alice")
        assert answer["type"] == "NotFoundError", answer
    assert setup.token in setup.store.read_text()  # team 1's is still there
    other = git.team_access(setup.app, setup.app.config.team("2"))
    with pytest.raises(ExternalCommandError) as err:
        git.remote_has_branch(setup.clean, "main", other)
    assert "needs credentials" in str(err.value)
    mine = git.team_access(setup.app, setup.app.config.team("1"))
    assert git.remote_has_branch(setup.clean, "main", mine) is True


def test_the_test_ca_is_trusted_only_through_the_operators_setting(setup: Setup, tmp_path: Path) -> None:
    untrusting = make_app(tmp_path / "data2", "")
    with TestClient(build_http_app(untrusting), base_url="http://localhost") as client:
        answer = setup.post(client, "add", repo_url=setup.url(f"alice:{setup.token}"))
    assert answer["ok"] is False and "certificate" in answer["error"].lower()
    assert setup.token not in json.dumps(answer)
    assert not (untrusting.team_dir("1") / ".git-credentials").exists()
    assert not setup.server.requests  # refused at the TLS handshake: no request was read


def test_urls_without_credentials_or_over_ssh_are_refused(setup: Setup) -> None:
    for url in (setup.clean, "ssh://git@127.0.0.1/r.git", "git@127.0.0.1:r.git"):
        answer = setup.post(setup.team1, "add", repo_url=url)
        assert answer["type"] == "ValidationError", answer
    assert not setup.server.requests and not setup.store.exists()


def test_the_reference_example_runs_with_oduflow_call_and_mcp_lists_it_masked(
    setup: Setup, ca: LocalCa, tmp_path: Path
) -> None:
    toml = tmp_path / "oduflow.toml"
    data = setup.app.config.storage.data_dir
    toml.write_text(
        f'[server]\nallowed_hosts = ["127.0.0.1"]\ngit_ca_file = "{ca.ca_file}"\n'
        f'[storage]\ndata_dir = "{data}"\n[team.1]\nport_range = [56300, 56310]\n'
    )
    env = {**os.environ, "ODUFLOW_TOML": str(toml)}
    argv = [
        sys.executable,
        "-m",
        "oduflow.surfaces.cli",
        "call",
        "setup_repo_auth",
        setup.url(f"alice:{setup.token}"),
    ]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["repository"] == setup.clean
    assert setup.token not in proc.stdout + proc.stderr

    async def over_mcp() -> Any:
        async with Client(build_mcp(setup.app)) as client:
            return await client.call_tool("list_repo_credentials", {})

    listed = anyio.run(over_mcp)
    assert [c["username"] for c in listed.structured_content["result"]] == ["alice"]
    assert setup.token not in json.dumps(listed.structured_content)


def test_extra_repositories_clone_and_fetch_the_clean_url_with_the_stored_credential(setup: Setup) -> None:
    def call(team: str, tool: str, **args: str) -> Any:
        return catalog.invoke(setup.app, setup.app.config.team(team), tool, args)

    call("1", "setup_repo_auth", repo_url=setup.url(f"alice:{setup.token}"))
    added = call("1", "add_extra_repo", name="private", repo_url=setup.clean)
    fetched = call("1", "update_extra_repo", name="private")
    assert setup.token not in json.dumps([added, fetched], default=str)
    bare_config = team_layout(setup.app, "1").shared_repo("private") / "config"
    assert setup.clean in bare_config.read_text() and setup.token not in bare_config.read_text()
    with pytest.raises(ExternalCommandError):  # team 2 has no credential for that server
        call("2", "add_extra_repo", name="private", repo_url=setup.clean)
    call("1", "delete_extra_repo", name="private")


def test_a_wrong_password_in_a_url_does_not_erase_the_stored_credential(setup: Setup) -> None:
    """Git erases a refused credential from every helper it asked: the team's store is read-only
    to git, so a URL with a wrong password (from any team member) leaves the right one in place."""
    from oduflow.gitaccess import team_access

    team = setup.app.config.team("1")
    assert setup.post(setup.team1, "add", repo_url=setup.url(f"alice:{setup.token}"))["ok"] is True
    access = team_access(setup.app, team)
    with pytest.raises(ExternalCommandError):
        git.remote_has_branch(setup.url("alice:ghp_wrongwrongwrongwrong"), "main", access)
    assert setup.token in setup.store.read_text()
    assert git.remote_has_branch(setup.clean, "main", access)  # the stored credential still works
