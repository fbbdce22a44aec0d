"""Attacks on credentials in repository URLs: a token given as the URL's user name
(``https://TOKEN@host/...``) must be kept as a credential and shown nowhere; a server that
reflects the credentials it received into a multi-line error must not get them echoed; an
``ssh://user:password@`` URL is refused without echoing the password; ``setup_repo_auth`` on a
server that demands credentials over TLS (a test CA the operator's ``git_ca_file`` names) lets
``create_environment`` clone the clean URL, and the token shows up nowhere."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from oduflow import git
from oduflow.app import App
from oduflow.errors import StepError, ValidationError
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import TEAM, call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import Instance, make_remote
from tests.security.netservers import GitHttpServer, HttpServer, LocalCa, restricted_app, send


def files_containing(root: Path, secret: bytes, skip: Path) -> list[Path]:
    """Regular files under ``root`` (``skip`` aside) whose content holds ``secret``."""
    found = []
    for path in root.rglob("*"):
        if path != skip and path.is_file() and not path.is_symlink():
            try:
                if secret in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_a_token_as_user_name_is_stored_and_shown_nowhere(
    app: App, instance: Instance, tmp_path: Path
) -> None:
    token = "ghp_" + secrets.token_hex(16)
    remote = make_remote(tmp_path, "demo_ok")
    store = app.team_dir(TEAM) / ".git-credentials"
    before = store.read_text() if store.exists() else None
    with GitHttpServer(root=tmp_path, auth=(token, "")) as server:
        guarded = restricted_app(app, "127.0.0.1")
        clean = server.url(remote.bare.name)
        url = clean.replace("http://", f"http://{token}@")
        result = call(guarded, "create_environment", branch_name="token-url", template_name="none",
                      repo_url=url, odoo_image=instance.odoo_image)  # fmt: skip
        try:
            assert token not in json.dumps(result, default=str)
            env = get_env(app, app.config.team(TEAM), "token-url")
            assert env.params.repo_url == clean
            assert f"http://{token}:@127.0.0.1:{server.port}" in store.read_text().splitlines()
            assert store.stat().st_mode & 0o777 == 0o600
            container = app.docker().containers.get(env.container_name)
            assert token not in json.dumps(container.attrs)  # labels, environment, command
            assert files_containing(app.data_dir, token.encode(), skip=store) == []

            # the stored credential is what the next pull authenticates with
            server.requests.clear()
            pushed = remote.push("after the clone", branch="token-url")
            pulled = call(guarded, "pull_and_apply", branch_name="token-url")
            assert pulled["new_commit"] == pushed and token not in json.dumps(pulled, default=str)
            basic = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
            assert any(r.headers.get("Authorization") == basic for r in server.requests)
            assert files_containing(app.data_dir, token.encode(), skip=store) == []
        finally:
            call(app, "delete_environment", branch_name="token-url")
            if before is None:
                store.unlink(missing_ok=True)
            else:
                store.write_text(before)


class Reflector(HttpServer):
    """Asks for credentials, then reflects them in a multi-line git protocol error."""

    def respond(self, req: BaseHTTPRequestHandler) -> None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            send(req, 401, b"", {"WWW-Authenticate": 'Basic realm="git"'})
            return
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        message = f"ERR access denied for {user}\nyour password was {password}\nretry https://{user}:{password}@x/r\n"
        pkts = [b"# service=git-upload-pack\n", message.encode()]
        body = b"".join(b"%04x%s" % (len(p) + 4, p) if i == 0 else b"0000%04x%s" % (len(p) + 4, p)
                        for i, p in enumerate(pkts))  # fmt: skip
        send(req, 200, body, {"Content-Type": "application/x-git-upload-pack-advertisement"})


def test_credentials_reflected_by_the_server_are_masked_on_every_line(app: App, instance: Instance) -> None:
    password = "pw-" + secrets.token_hex(12)
    with Reflector() as server:
        url = server.url("r.git").replace("http://", f"http://alice:{password}@")
        with pytest.raises(StepError) as err:
            call(restricted_app(app, "127.0.0.1"), "create_environment", branch_name="reflect",
                 template_name="none", repo_url=url, odoo_image=instance.odoo_image)  # fmt: skip
    text = str(err.value)
    assert "access denied for alice" in text and "your password was ***" in text  # the lines are there
    assert password not in text
    assert leftovers(app, "reflect", "reflect") == []
    assert (
        not (app.team_dir(TEAM) / ".git-credentials").exists()
        or password not in (app.team_dir(TEAM) / ".git-credentials").read_text()
    )


def test_an_ssh_password_is_refused_without_echo(app: App, instance: Instance) -> None:
    with pytest.raises(ValidationError) as err:
        url = "ssh://git:hunter2-secret@127.0.0.1:2222/r.git"
        call(app, "create_environment", branch_name="ssh-pw", template_name="none", repo_url=url,
             odoo_image=instance.odoo_image)  # fmt: skip
    assert "hunter2-secret" not in str(err.value)
    assert leftovers(app, "ssh-pw", "ssh-pw") == []


def trusting(app: App, ca: LocalCa) -> App:
    """``app`` allowing the test servers' address and trusting ``ca`` for its git runs."""
    guarded = restricted_app(app, "127.0.0.1")
    cfg = guarded.config
    return App(replace(cfg, server=replace(cfg.server, git_ca_file=str(ca.ca_file))))


def test_setup_repo_auth_then_the_clean_url_clones_over_tls_and_the_token_leaks_nowhere(
    app: App, instance: Instance, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "glpat-" + secrets.token_hex(16)
    remote = make_remote(tmp_path, "demo_ok")
    ca = LocalCa(tmp_path / "ca").create()
    team_dir = app.team_dir(TEAM)
    saved = {
        p: p.read_text()
        for p in (team_dir / ".git-credentials", team_dir / ".git-credentials.repos")
        if p.exists()
    }
    with GitHttpServer(root=tmp_path, auth=("bob", token), tls=ca.server_context()) as server:
        guarded = trusting(app, ca)
        clean = server.url(remote.bare.name)
        setup = call(guarded, "setup_repo_auth", repo_url=clean.replace("https://", f"https://bob:{token}@"))
        try:
            assert setup["repository"] == clean and token not in json.dumps(setup)
            result = call(guarded, "create_environment", branch_name="tls-auth", template_name="none",
                          repo_url=clean, odoo_image=instance.odoo_image)  # fmt: skip
            env = get_env(app, app.config.team(TEAM), "tls-auth")
            assert env.params.repo_url == clean and (env.paths.repo / "demo_ok").is_dir()
            container = app.docker().containers.get(env.container_name)
            gitconfig = (git.separate_git_dir(env.paths.repo) / "config").read_text()
            assert clean in gitconfig
            logs = call(guarded, "get_environment_logs", branch_name="tls-auth")
            pushed = remote.push("after setup_repo_auth", branch="tls-auth")
            pulled = call(guarded, "pull_and_apply", branch_name="tls-auth")
            assert pulled["new_commit"] == pushed
            listed = call(guarded, "list_repo_credentials")
            shown = json.dumps([result, logs, pulled, listed, container.attrs, gitconfig], default=str)
            assert token not in shown and token not in caplog.text
            assert files_containing(app.data_dir, token.encode(), skip=team_dir / ".git-credentials") == []
        finally:
            call(app, "delete_environment", branch_name="tls-auth")
            for path in (team_dir / ".git-credentials", team_dir / ".git-credentials.repos"):
                path.unlink(missing_ok=True)
            for path, text in saved.items():
                path.write_text(text)
                path.chmod(0o600)
