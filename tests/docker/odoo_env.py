"""Helpers for test modules that share one environment: a module-scoped git remote and the
environment itself (created with template "none", deleted at teardown)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oduflow import catalog
from oduflow.app import App
from oduflow.services import env_create, environments, runtime
from tests.fixtures.instance import GitRemote

TEAM = "1"


def call(app: App, tool: str, team: str = TEAM, **args: Any) -> Any:
    """Invoke a catalog tool (locks and output shaping included)."""
    return catalog.invoke(app, app.config.team(team), tool, args)


def delete_if_present(app: App, *branches: str) -> None:
    """Delete the environments of ``branches`` that exist (test teardown after a failure)."""
    for branch in branches:
        if app.store.get_env(TEAM, branch):
            call(app, "delete_environment", branch_name=branch)


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


def bare_job(app: App, image: str, tmp_path: Path, suffix: str, command: list[str]) -> tuple[int, str]:
    """(exit code, logs) of ``runtime.run_job`` for ``command`` in a job container of the test team
    with an empty ``odoo.conf`` and no checkout, filestore or database."""
    conf = tmp_path / "odoo.conf"
    conf.write_text("[options]\n")
    spec = runtime.OdooContainerSpec(
        name=app.names.job_container(TEAM, suffix),
        image=image,
        conf_file=conf,
        repo_dir=None,
        filestore_dir=None,
        db_name="none",
        labels=app.names.labels("job", TEAM),
        command=command,
    )
    return runtime.run_job(app, spec)
