"""What a failed operation may have left behind, for the failure-path tests.

:func:`nothing_left` extends the per-environment check of ``test_environments.leftovers`` with
what an operation of the whole instance can leave: one-off job containers, fuse-overlayfs
mounts and their daemons, staging directories, build databases and pool spares without a record.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path
from typing import Any

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.fsutil import fuse_mounts_under
from oduflow.services import cleanup, dbpool
from tests.docker.test_environments import leftovers

TEAM = "1"


def own_errors(report: dict[str, Any]) -> list[str]:
    """Errors of a cleanup but the engine-wide anonymous volumes (other sessions take them)."""
    return [e for e in report.get("errors", []) if not e.startswith("volumes ")]


def instance_orphans(app: App, team: TeamConfig) -> dict[str, list[str]]:
    """``find_orphans`` without the empty anonymous volumes: those are engine-wide (another
    session on the same engine may leave some), see tests/docker/test_leaks.py."""
    return {k: v for k, v in cleanup.find_orphans(app, team).items() if k != "volumes"}


def serves(app: App, branch: str) -> None:
    """Raise unless the environment of ``branch`` runs and serves its database."""
    from oduflow.services import runtime
    from oduflow.services.envmodel import get_env

    env = get_env(app, app.config.team(TEAM), branch)
    container = app.docker().containers.get(env.container_name)
    assert container.status == "running", container.status
    runtime.wait_ready(app, container, env.params.db_name, timeout=60)


def _fuse_processes(path: Path) -> dict[int, str]:
    """pid -> command line of the fuse-overlayfs processes whose arguments name ``path``."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        line = " ".join(a.decode(errors="replace") for a in argv if a)
        if argv and Path(argv[0].decode(errors="replace")).name == "fuse-overlayfs" and str(path) in line:
            found[int(proc.name)] = line
    return found


def fuse_daemons(path: Path) -> list[str]:
    """Command lines of the fuse-overlayfs processes whose arguments name ``path``."""
    return list(_fuse_processes(path).values())


def kill_fuse_daemon(workspace: Path) -> None:
    """Kill the FUSE daemon of the workspace's overlay (by pid), as a crash would: a dead mount."""
    [pid] = _fuse_processes(workspace / "filestore_upper")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        try:
            os.listdir(workspace / "filestore")  # a request to the daemon (a stat may be cached)
        except OSError as exc:
            assert exc.errno in (errno.ENOTCONN, errno.ECONNABORTED), exc
            return
        assert time.monotonic() < deadline, "the mount still answers without its daemon"
        time.sleep(0.05)


def instance_leftovers(app: App) -> list[str]:
    """Resources of no environment that only a running operation may hold."""
    found = []
    client = app.docker()
    for role in ("job", "pg-job"):
        containers = client.containers.list(all=True, filters=app.names.instance_filter(role=role))
        found += [f"{role} container {c.name}" for c in containers]
    root = app.team_dir(TEAM)
    found += [f"staging {p.name}" for p in (root / "templates").glob(".save-*")]
    found += [f"staging {p.name}" for p in (root / "templates").glob(".import-*")]
    found += [f"init work dir {p.name}" for p in root.glob("oduflow-init-template-*")]
    db = app.db()
    work_dbs = [d for d in db.list_databases("oduflow") if app.names.template_of_work_db(TEAM, d) is not None]
    found += [f"database {d}" for d in work_dbs]  # a template's build or set-aside copy
    templates = {p.name for p in (root / "templates").iterdir() if p.is_dir()}
    for template in templates | {r["template"] for r in app.store.items(TEAM, dbpool.KIND).values()}:
        dbpool.wait_idle(app.config.team(TEAM), template)  # refills end before the spares are counted
    recorded = set(app.store.items(TEAM, dbpool.KIND))
    found += [f"unrecorded spare {d}" for d in db.list_databases("oduflow_pool_") if d not in recorded]
    found += [f"spare record without database {n}" for n in recorded if not db.exists(n)]
    return found


def nothing_left(app: App, branch: str, slug: str) -> list[str]:
    """Everything of ``branch`` (environment resources) and of running operations still there."""
    found = leftovers(app, branch, slug)
    workspace = app.team_dir(TEAM) / "workspaces" / slug
    mounts = fuse_mounts_under(app.team_dir(TEAM))
    found += [f"mount {m}" for m in mounts if str(m).startswith(str(workspace))]
    found += [f"fuse daemon {d}" for d in fuse_daemons(workspace)]
    return found + instance_leftovers(app)
