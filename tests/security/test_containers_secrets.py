"""Attack: read another environment's database password from the host's process list (any host
user can run ``ps``). The official entrypoint copied ``db_password`` from ``odoo.conf`` onto
Odoo's command line; Oduflow runs ``odoo`` itself, which reads the file. The files that hold the
password are 0600 and owned by the image user."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable

from oduflow.app import App
from oduflow.services import runtime
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures.instance import GitRemote, Instance
from tests.security.container_helpers import TEAM, env_of


def host_command_lines() -> list[str]:
    """Every process's whole command line on the host, as any user sees it (``ps -ww``: not
    cut at the terminal's width)."""
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True)
    return ps.stdout.splitlines()


class Watcher:
    """Samples the host's command lines in a thread until stopped."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.seen.update(host_command_lines())
            self.stop.wait(0.1)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def test_no_database_password_on_a_host_command_line(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    branch = "sec-ps"
    try:
        with Watcher() as watcher:  # the creation runs `odoo -i base` in a job container too
            call(app, "create_environment", branch_name=branch, template_name="none",
                 repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
            env = env_of(app, branch)
            call(app, "install_odoo_modules", branch_name=branch, modules="demo_ok")
            watcher.seen.update(host_command_lines())
        password = env.params.db_password
        assert len(password) >= 16
        role = env.params.db_role  # other sessions share the engine: only this environment's lines
        leaks = [line for line in watcher.seen if password in line or (role in line and "--db_" in line)]
        assert leaks == []
        # the serving Odoo is there (the check looked at the right processes), reading the file
        top = app.docker().containers.get(env.container_name).top(ps_args="-eo pid,args")
        odoo = [p[-1] for p in top["Processes"] if "odoo" in p[-1]]
        assert any(f"-c {runtime.CONF_PATH}" in line for line in odoo), odoo
        assert any(line in watcher.seen for line in odoo)
        assert all(password not in line for line in odoo)

        info = env.paths.conf.stat()
        assert stat.S_IMODE(info.st_mode) == (0o600 if os.geteuid() == 0 else 0o644)
        if os.geteuid() == 0:
            assert (info.st_uid, info.st_gid) == (env.params.uid, env.params.gid)
        assert password in env.paths.conf.read_text()  # where it is, and the container reads it
        team_dir = app.team_dir(TEAM)
        assert stat.S_IMODE(team_dir.stat().st_mode) == 0o700
    finally:
        delete_if_present(app, branch)
