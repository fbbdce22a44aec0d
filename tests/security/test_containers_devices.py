"""Attack: root in an environment makes device nodes in its filestore (a host directory, or an
overlay whose upper layer is one), then ``save_as_template`` copies the filestore on the host:
a ``/dev/zero``-like node would fill the disk, a block device would copy a host partition into
the template, a FIFO would hang the copy and a symlink to ``/etc/shadow`` would copy the host's.

The container has no ``CAP_MKNOD`` (mknod fails), overlay mounts are ``nodev,nosuid``, and the
host copy takes only directories, regular files and symlinks (as links, never followed)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oduflow.app import App
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import GitRemote, Instance
from tests.fixtures.templates import delete_template_if_present
from tests.security.container_helpers import env_of, filestore_in_container, mount_options, special_files

SAVE_TIMEOUT = 300
PLANT = (
    "set -e; cd {fs}; echo kept > kept.txt; mkdir -p sub; echo deep > sub/deep.txt; mkfifo fifo; "
    "ln -s /etc/shadow shadow-link; ln -s /etc etc-link; "
    "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")'; ls -la"
)


@pytest.fixture(scope="module")
def overlay_template(instance: Instance, base_template: str) -> Iterator[str]:
    yield from template_fixtures.overlay_template(instance, base_template, "secdev-big")


def root(app: App, branch: str, command: str) -> dict[str, Any]:
    return call(app, "run_odoo_command", branch_name=branch, command=command, user="root")


def save_with_deadline(app: App, branch: str, template: str) -> dict[str, Any]:
    """``save_as_template`` in a thread: a copy that blocks on a FIFO fails the test, not the run."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call(app, "save_as_template", branch_name=branch, template_name=template)
        except Exception as exc:  # noqa: BLE001 - re-raised below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(SAVE_TIMEOUT)
    assert not worker.is_alive(), (
        f"save_as_template still running after {SAVE_TIMEOUT} s (blocked on a FIFO?)"
    )
    if "error" in outcome:
        raise outcome["error"]
    return dict(outcome["result"])


@pytest.mark.parametrize("storage", ["copy", "overlay"])
def test_root_makes_no_device_and_the_template_copy_opens_no_special_file(
    app: App,
    instance: Instance,
    base_template: str,
    overlay_template: str,
    git_remote: Callable[..., GitRemote],
    storage: str,
) -> None:
    branch, saved = f"secdev-{storage}", f"secdev-saved-{storage}"
    source = base_template if storage == "copy" else overlay_template
    remote = git_remote("demo_ok")
    try:
        call(app, "create_environment", branch_name=branch, template_name=source,
             repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
        env = env_of(app, branch)
        assert env.params.storage == storage
        merged = env.filestore(app).merged
        fs = filestore_in_container(env)
        if storage == "overlay":
            assert {"nodev", "nosuid"} <= mount_options(merged), mount_options(merged)

        assert root(app, branch, "id -u")["stdout"].strip() == "0"  # the attacker is root inside
        for node in ("zero c 1 5", "disk b 8 0", "disk2 b 7 0"):
            res = root(app, branch, f"mknod {fs}/{node}")
            assert res["exit_code"] != 0 and "Operation not permitted" in res["stderr"], res
        assert not set(root(app, branch, f"ls -A {fs}")["stdout"].split()) & {"zero", "disk", "disk2"}
        planted = root(app, branch, PLANT.format(fs=fs))
        assert planted["exit_code"] == 0, planted
        assert stat.S_ISFIFO((merged / "fifo").lstat().st_mode)  # the planted entries reach the host
        assert os.readlink(merged / "shadow-link") == "/etc/shadow"

        result = save_with_deadline(app, branch, saved)
        assert result["status"] == "ready"
        template_fs = app.team_dir(TEAM) / "templates" / saved / "filestore"
        assert special_files(template_fs) == []
        assert not (template_fs / "zero").exists() and not (template_fs / "disk").exists()
        assert (template_fs / "kept.txt").read_text() == "kept\n"
        assert (template_fs / "sub" / "deep.txt").read_text() == "deep\n"
        for link, target in (("shadow-link", "/etc/shadow"), ("etc-link", "/etc")):
            assert (template_fs / link).is_symlink() and os.readlink(template_fs / link) == target
        host_shadow = Path("/etc/shadow").read_bytes() if os.access("/etc/shadow", os.R_OK) else None
        copied = [p for p in template_fs.rglob("*") if p.is_file() and not p.is_symlink()]
        assert all(p.read_bytes() != host_shadow for p in copied)
        assert not any(p.name == "passwd" for p in template_fs.rglob("*"))  # /etc was not copied
    finally:
        delete_if_present(app, branch)
        delete_template_if_present(app, saved)
