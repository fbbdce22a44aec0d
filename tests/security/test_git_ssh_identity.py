"""Attack: the server's SSH agent (and default keys) authenticate every team to a git host.

A real ``sshd`` accepts the server's own key, which a real ``ssh-agent`` of the server process
holds (``SSH_AUTH_SOCK``). The control shows a plain ``ssh`` gets in with it. Oduflow's git
offers no key at all to the host (creation fails, the sshd log shows no key was offered); with
the team's own key in ``<team dir>/.ssh/id_ed25519`` it gets in with that key and never offers
the server's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from oduflow import git
from oduflow.app import App
from oduflow.errors import StepError
from tests.docker.odoo_env import call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import Instance
from tests.security.netservers import Sshd, keygen, make_bare_repo, restricted_app, ssh_agent

TEAM = "2"  # a team of its own: its .ssh directory is created and removed here


def test_the_servers_ssh_agent_and_keys_are_not_used(
    app: App, instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = make_bare_repo(tmp_path)
    server_fp = keygen(tmp_path / "server_key")
    team_fp = keygen(tmp_path / "team_key")
    sshd = Sshd(tmp_path / "sshd", authorized=[tmp_path / "server_key"]).start()
    team_ssh = app.team_dir(TEAM) / ".ssh"
    assert not team_ssh.exists()
    try:
        with ssh_agent(tmp_path, tmp_path / "server_key") as sock:
            monkeypatch.setenv("SSH_AUTH_SOCK", sock)
            control = subprocess.run(
                ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                 "UserKnownHostsFile=/dev/null", "-p", str(sshd.port), "root@127.0.0.1", "true"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert control.returncode == 0, control.stderr  # the agent's key gets in
            assert server_fp in sshd.offered_keys()
            (sshd.root / "sshd.log").write_text("")

            url = f"ssh://root@127.0.0.1:{sshd.port}{bare}"
            guarded = restricted_app(app, "127.0.0.1")
            with pytest.raises(StepError) as err:
                call(guarded, "create_environment", team=TEAM, branch_name="ssh-attack",
                     template_name="none", repo_url=url, odoo_image=instance.odoo_image)  # fmt: skip
            assert "Permission denied" in str(err.value)
            assert sshd.offered_keys() == [], "a key was offered without the team having one"
            assert leftovers(app, "ssh-attack", "ssh-attack") == []

            # the team's own key: offered alone, and it gets in
            (sshd.root / "authorized_keys").write_text(Path(f"{tmp_path / 'team_key'}.pub").read_text())
            shutil.copyfile(tmp_path / "team_key", team_ssh / "id_ed25519")
            (team_ssh / "id_ed25519").chmod(0o600)
            access = git.team_access(guarded, guarded.config.team(TEAM))
            assert git.remote_has_branch(url, "main", access)
            offered = sshd.offered_keys()
            assert team_fp in offered and server_fp not in offered
            assert (team_ssh / "known_hosts").is_file()  # the host key went to the team's file
    finally:
        sshd.stop()
        shutil.rmtree(team_ssh, ignore_errors=True)
