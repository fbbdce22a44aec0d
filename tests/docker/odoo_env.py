"""Helpers for test modules that share one environment: a module-scoped git remote and the
environment itself (created with template "none", deleted at teardown)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oduflow import catalog
from oduflow.app import App
from oduflow.services import env_create, environments
from tests.fixtures.instance import REFERENCE_ADDONS, GitRemote, git

TEAM = "1"


def call(app: App, tool: str, team: str = TEAM, **args: Any) -> Any:
    """Invoke a catalog tool (locks and output shaping included)."""
    return catalog.invoke(app, app.config.team(team), tool, args)


def make_remote(root: Path, *addons: str, files: dict[str, str] | None = None) -> GitRemote:
    """A bare remote with the reference ``addons`` on ``main`` and a work clone to push from."""
    bare, work = root / f"remote-{secrets.token_hex(3)}.git", root / f"work-{secrets.token_hex(3)}"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=root)
    git("clone", "-q", str(bare), str(work), cwd=root)
    git("checkout", "-q", "-b", "main", cwd=work)
    for name in addons:
        shutil.copytree(REFERENCE_ADDONS / name, work / name)
    remote = GitRemote(bare=bare, work=work)
    for rel, text in (files or {}).items():
        remote.write(rel, text)
    remote.write("README.md", "test addons\n")
    remote.push("initial")
    return remote


@contextmanager
def environment(app: App, branch: str, remote: GitRemote, image: str) -> Iterator[str]:
    """An environment of ``branch`` on ``remote`` (template "none"); always deleted afterwards."""
    team = app.config.team(TEAM)
    env_create.create_environment(app, team, branch, "none", remote.url, image)
    try:
        yield branch
    finally:
        app.store.update_env(TEAM, branch, protected=False)
        environments.delete_environment(app, team, branch)
