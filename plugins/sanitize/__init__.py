"""Sanitisation of fresh databases: team scripts, then the repository's ``.odoo_sanitize/``.

In each folder, ``*.sql`` files run first, then ``*.py`` files, each group in name order.
SQL runs in the environment database; Python runs in a container of the environment's
image with ``ODOO_DB``, ``DB_HOST``, ``DB_USER`` and ``DB_PASSWORD`` set. A failing
script aborts the environment creation.
"""

from __future__ import annotations

from pathlib import Path

from oduflow import hookimpl
from oduflow.contracts import SanitizeContext
from oduflow.errors import ValidationError
from oduflow.naming import under

TEAM_FOLDER = "odoo_sanitize"
REPO_FOLDER = ".odoo_sanitize"


def scripts(folder: Path) -> list[Path]:
    """The scripts of ``folder`` in execution order; links leaving the folder are refused."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.suffix in (".sql", ".py") and p.is_file()]
    for p in found:
        under(folder, p.name)  # raises when a symlink points outside the folder
    return sorted(found, key=lambda p: (p.suffix != ".sql", p.name))


def run_folder(ctx: SanitizeContext, folder: Path, label: str) -> None:
    for script in scripts(folder):
        ctx.progress(f"sanitize: {label}/{script.name}")
        try:
            text = script.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationError(f"sanitize script {label}/{script.name} is not UTF-8 text") from None
        if script.suffix == ".sql":
            ctx.run_sql(f"{label}/{script.name}", text)
        else:
            ctx.run_python(f"{label}/{script.name}", text)


@hookimpl
def oduflow_sanitize(ctx: SanitizeContext) -> None:
    """Run the team's scripts, then the repository's."""
    run_folder(ctx, ctx.team_dir / TEAM_FOLDER, TEAM_FOLDER)
    run_folder(ctx, ctx.repo_dir / REPO_FOLDER, REPO_FOLDER)
