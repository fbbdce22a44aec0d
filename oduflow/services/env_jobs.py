"""One-off jobs on a new environment's database: ``odoo -i base`` and sanitize scripts.

Each runs in a throw-away container with the mounts of the environment's container spec
(:func:`oduflow.services.envmodel.container_spec`) and fails with :class:`ExternalCommandError`.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import replace
from typing import Any

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, SanitizeContext
from oduflow.database import Database
from oduflow.errors import ExternalCommandError
from oduflow.layout import team_layout
from oduflow.services import runtime
from oduflow.services.envmodel import EnvIdentity


def job_spec(
    spec: runtime.OdooContainerSpec,
    app: App,
    team: TeamConfig,
    purpose: str,
    command: list[str],
    **changes: Any,
) -> runtime.OdooContainerSpec:
    """A one-off job container with the mounts of the environment's ``spec``."""
    return replace(
        spec,
        name=app.names.job_container(team.id, purpose),
        labels=app.names.labels("job", team.id),
        ports={},
        command=command,
        **changes,
    )


def init_base(app: App, spec: runtime.OdooContainerSpec, team: TeamConfig) -> None:
    """``odoo -i base`` into the (empty) database of ``spec``."""
    job = job_spec(
        spec,
        app,
        team,
        "init-base",
        ["odoo", "-d", spec.db_name, "-i", "base", "--stop-after-init", "--no-http", "--without-demo=all"],
    )
    code, logs = runtime.run_job(app, job)
    if code != 0:
        raise ExternalCommandError(
            "odoo -i base failed",
            command="odoo -i base --stop-after-init",
            exit_code=code,
            output=logs[-6000:],
        )


def run_sql(db: Database, db_name: str, role: str, password: str, name: str, text: str) -> None:
    """Run the sanitize script ``name`` (SQL ``text``) in ``db_name`` as the environment role."""
    import psycopg

    try:
        with db.connect(db_name, user=role, password=password) as conn:
            conn.execute(text.encode())
    except psycopg.Error as exc:
        raise ExternalCommandError(
            f"sanitize script {name} failed", command=name, output=str(exc).strip()
        ) from None


def run_python(
    app: App, spec: runtime.OdooContainerSpec, env: EnvIdentity, password: str, name: str, code_text: str
) -> None:
    """Run the sanitize script ``name`` (Python) in a job container of the environment's image."""
    script_dir = env.paths.layout.sanitize_scripts
    script_dir.mkdir(exist_ok=True)
    try:
        (script_dir / "script.py").write_text(code_text, encoding="utf-8")
        (script_dir / "script.py").chmod(0o644)
        job = job_spec(
            spec,
            app,
            env.team,
            "sanitize",
            ["python3", "/mnt/oduflow-sanitize/script.py"],
            extra_volumes={str(script_dir): {"bind": "/mnt/oduflow-sanitize", "mode": "ro"}},
        )
        variables = {
            "ODOO_DB": spec.db_name,
            "DB_HOST": app.names.db_container,
            "DB_USER": env.db_role,
            "DB_PASSWORD": password,
            "DB_PORT": "5432",
        }
        exit_code, logs = runtime.run_job(app, job, environment=variables)
    finally:
        shutil.rmtree(script_dir, ignore_errors=True)
    if exit_code != 0:
        raise ExternalCommandError(
            f"sanitize script {name} failed",
            command=f"python3 {name}",
            exit_code=exit_code,
            output=logs[-4000:],
        )


def sanitize(
    app: App,
    db: Database,
    env: EnvIdentity,
    spec: runtime.OdooContainerSpec,
    password: str,
    progress: Progress,
) -> None:
    """Run the sanitize plugins on the environment's freshly cloned database (create and reset)."""
    app.hooks.sanitize(
        SanitizeContext(
            team_id=env.team.id,
            team_dir=team_layout(app, env.team.id).root,
            repo_dir=env.paths.repo,
            db_name=env.db_name,
            run_sql=functools.partial(run_sql, db, env.db_name, env.db_role, password),
            run_python=functools.partial(run_python, app, spec, env, password),
            progress=progress,
        )
    )
