"""Helpers of the container attack tests: filestore paths, host reads."""

from __future__ import annotations

import stat
from pathlib import Path

from oduflow.app import App
from oduflow.services.envmodel import Env, get_env

TEAM = "1"


def env_of(app: App, branch: str) -> Env:
    return get_env(app, app.config.team(TEAM), branch)


def filestore_in_container(env: Env) -> str:
    """Where the environment's filestore is mounted inside its container."""
    return f"/var/lib/odoo/filestore/{env.params.db_name}"


def special_files(root: Path) -> list[str]:
    """Entries below ``root`` (never following links) that are devices, FIFOs or sockets."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            found.append(str(path.relative_to(root)))
    return found


def mount_options(mount_point: Path) -> set[str]:
    """The options of the mount at ``mount_point`` in ``/proc/self/mounts`` (empty: not mounted)."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == str(mount_point):
            return set(fields[3].split(","))
    return set()
