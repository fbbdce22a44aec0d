"""Agent tools that put an environment's data back: to its template (``reset_environment``) or
to a named snapshot (``snapshot_environment``, ``restore_snapshot``, ``list_snapshots``,
``delete_snapshot``).

Thin, typed functions over :mod:`oduflow.services.env_reset` and
:mod:`oduflow.services.env_snapshots`; their docstrings are what an agent reads.
"""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import Field

from oduflow.results import (
    EnvironmentReset,
    SnapshotDeleted,
    SnapshotRestored,
    SnapshotSummary,
    SnapshotTaken,
)
from oduflow.services import env_reset, env_snapshots
from oduflow.toolspec import Call, tool

Branch = Annotated[str, Field(description="Git branch name of the environment, e.g. 'feature-login'.")]
SnapshotName = Annotated[
    str,
    Field(description="Snapshot name: lowercase letters, digits, - and _ (1-63), e.g. 'before-tests'."),
]


@tool(lock="branch", title="Reset an environment to its template", destructive=True, idempotent=True)
def reset_environment(call: Call, branch_name: Branch) -> EnvironmentReset:
    """Put an environment's database and filestore back to its template's, as
    create_environment made them, and restart Odoo on them. The checkout, the image and the
    URL stay; snapshots stay.

    Use it when tests or experiments left data behind and you want a clean database without
    recreating the environment. The sanitize scripts run again if the environment was created
    with sanitize=true; an environment without a template gets a fresh `odoo -i base`. Data
    written since the creation is lost (snapshot_environment first to keep it). All or
    nothing: on failure the environment keeps its data and runs as before. Near-instant when
    the server clones by reflink (see ``clone_strategy``). Refused for protected environments.

    Returns ``branch``, ``status`` ("running"), ``url``, ``template``, ``sanitized``,
    ``clone_strategy`` and ``seconds`` (per part and ``total``).
    """
    return cast(
        "EnvironmentReset", env_reset.reset_environment(call.app, call.team, branch_name, call.progress)
    )


@tool(lock="branch", title="Snapshot an environment")
def snapshot_environment(call: Call, branch_name: Branch, snapshot_name: SnapshotName) -> SnapshotTaken:
    """Save an environment's database and filestore under a name, to come back to with
    restore_snapshot (as often as you like).

    Take one before running tests or experiments that change data. Odoo keeps running: during
    the copy its database refuses connections, so a request made at that moment fails
    (instant when the server clones by reflink; as long as a copy of the database and
    filestore elsewhere). At most 10 snapshots per environment: delete_snapshot frees one.
    Refused when the name is taken.

    Returns ``branch``, ``snapshot``, ``status`` ("ready"), ``created_at``, ``template``,
    ``clone_strategy`` (``reflink``: blocks shared, no disk used; ``file_copy``: a full copy),
    ``seconds``, ``snapshots`` (how many there are now) and ``limit``.
    """
    return cast(
        "SnapshotTaken",
        env_snapshots.snapshot_environment(call.app, call.team, branch_name, snapshot_name, call.progress),
    )


@tool(lock="branch", title="Restore a snapshot", destructive=True, idempotent=True)
def restore_snapshot(call: Call, branch_name: Branch, snapshot_name: SnapshotName) -> SnapshotRestored:
    """Make an environment's database and filestore exactly what snapshot_environment saved
    under ``snapshot_name``, and restart Odoo on them. The snapshot stays: restore it again
    whenever you need.

    Data written since the snapshot is lost. The checkout and the installed Python code stay
    as they are now (run pull_and_apply or install_odoo_modules if the snapshot's modules are
    older). All or nothing: on failure the environment keeps its data and runs as before.
    Refused for protected environments.

    Returns ``branch``, ``snapshot``, ``status`` ("running"), ``url``, ``clone_strategy`` and
    ``seconds`` (per part and ``total``).
    """
    return cast(
        "SnapshotRestored",
        env_reset.restore_snapshot(call.app, call.team, branch_name, snapshot_name, call.progress),
    )


@tool(title="List snapshots", read_only=True, idempotent=True)
def list_snapshots(call: Call, branch_name: Branch) -> list[SnapshotSummary]:
    """List the snapshots of an environment, oldest first.

    Returns a list with, per snapshot, ``snapshot`` (its name), ``status``, ``created_at``
    (Unix time), ``template`` and ``clone_strategy`` (``file_copy`` snapshots take as much disk
    as the environment: delete those you no longer need).
    """
    return cast("list[SnapshotSummary]", env_snapshots.list_snapshots(call.app, call.team, branch_name))


@tool(lock="branch", title="Delete a snapshot", destructive=True, idempotent=True)
def delete_snapshot(call: Call, branch_name: Branch, snapshot_name: SnapshotName) -> SnapshotDeleted:
    """Delete a snapshot of an environment (its saved database and filestore); the environment
    itself is untouched. Snapshots also go with delete_environment and recreate_environment.

    Returns ``branch``, ``snapshot``, ``deleted`` (true) and ``snapshots`` (how many are left).
    """
    return cast(
        "SnapshotDeleted", env_snapshots.delete_snapshot(call.app, call.team, branch_name, snapshot_name)
    )
