"""Sanitisation of fresh databases: team scripts, then the repository's ``.odoo_sanitize/``.

In each folder, ``*.sql`` files run first, then ``*.py`` files, each group in name order.
SQL runs in the environment database; Python runs in a container of the environment's
image with ``ODOO_DB``, ``DB_HOST``, ``DB_USER`` and ``DB_PASSWORD`` set. A failing
script aborts the environment creation.

The repository is untrusted: its folder and scripts are read once, without following any
symlink (a linked folder or script, a device or a FIFO is refused), so a repository cannot
make a host folder's scripts run.
"""

from __future__ import annotations

from pathlib import Path

from oduflow import hookimpl
from oduflow.contracts import SanitizeContext
from oduflow.errors import ValidationError
from oduflow.fsutil import UnsafePathError, read_folder_nofollow
from oduflow.layout import TeamLayout

REPO_FOLDER = ".odoo_sanitize"


def scripts(root: Path, folder: str) -> list[tuple[str, str]]:
    """(name, text) of the scripts of ``root/folder`` in execution order (``.sql``, then ``.py``).

    Neither the folder nor a script may be a symlink or anything but a regular UTF-8 file.
    """
    try:
        found = read_folder_nofollow(root, folder, (".sql", ".py"))
    except UnsafePathError as exc:
        raise ValidationError(f"sanitize scripts in {folder or root.name}/ refused: {exc}") from None
    out = []
    for name, data in found:
        try:
            out.append((name, data.decode("utf-8")))
        except UnicodeDecodeError:
            raise ValidationError(f"sanitize script {folder or root.name}/{name} is not UTF-8 text") from None
    return sorted(out, key=lambda s: (not s[0].endswith(".sql"), s[0]))


def run_folder(ctx: SanitizeContext, root: Path, folder: str, label: str) -> None:
    for name, text in scripts(root, folder):
        ctx.progress(f"sanitize: {label}/{name}")
        if name.endswith(".sql"):
            ctx.run_sql(f"{label}/{name}", text)
        else:
            ctx.run_python(f"{label}/{name}", text)


@hookimpl
def oduflow_sanitize(ctx: SanitizeContext) -> None:
    """Run the team's scripts (the operator's folder: it may be a link), then the repository's."""
    team_scripts = TeamLayout(ctx.team_dir).sanitize
    run_folder(ctx, team_scripts.resolve(), "", team_scripts.name)
    run_folder(ctx, ctx.repo_dir, REPO_FOLDER, REPO_FOLDER)
