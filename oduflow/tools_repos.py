"""Agent tools for extra addons repositories (e.g. Odoo Enterprise): a team's bare clones,
mounted into environments by ``create_environment(extra_addons=...)``.

Thin, typed functions over :mod:`oduflow.services.extra_repos`; their docstrings are what an
AI agent reads.
"""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import Field

from oduflow.results import ExtraRepo, ExtraRepoDeleted, ExtraRepoProtection, ExtraRepoUpdate
from oduflow.services import extra_repos
from oduflow.toolspec import Call, tool

RepoName = Annotated[
    str,
    Field(
        description="Extra addons repository name, e.g. 'enterprise' (lowercase letters, digits, - and _)."
    ),
]


@tool(lock="team", title="Clone an extra addons repository", open_world=True)
def add_extra_repo(
    call: Call,
    name: RepoName,
    repo_url: Annotated[
        str,
        Field(
            description="Git URL (https://, ssh:// or git@host:path). Private repository: run "
            "setup_repo_auth first, or give https://USER:TOKEN@host/... once."
        ),
    ],
) -> ExtraRepo:
    """Clone an extra addons repository (e.g. Odoo Enterprise) once for your team, so that
    environments can mount it: create_environment(extra_addons="NAME" or "NAME:BRANCH").

    The clone is bare and shared by the team's environments (each gets its own worktree).
    Returns ``name``, ``repo_url``, ``default_branch``, ``branches``, ``protected`` and ``used_by``.
    """
    return cast("ExtraRepo", extra_repos.add_extra_repo(call.app, call.team, name, repo_url, call.progress))


@tool(title="List extra addons repositories", read_only=True, idempotent=True)
def list_extra_repos(call: Call) -> list[ExtraRepo]:
    """List your team's extra addons repositories with their branches.

    Returns a list with, per repository, ``name``, ``repo_url``, ``default_branch``,
    ``branches``, ``protected`` and ``used_by`` (the branches of the environments mounting it).
    """
    return cast("list[ExtraRepo]", extra_repos.list_extra_repos(call.app, call.team))


@tool(lock="team", title="Fetch an extra addons repository", idempotent=True, open_world=True)
def update_extra_repo(call: Call, name: RepoName) -> ExtraRepoUpdate:
    """Fetch the latest commits of an extra addons repository (git fetch --all --prune).

    Running environments are not changed: each keeps the commit it was created with
    (pull_and_apply reports what is newer). To use the new commits, recreate the environment
    (recreate_environment, or delete_environment + create_environment).

    Returns what list_extra_repos shows plus ``updated`` (``branch``, ``old_commit``,
    ``new_commit``), ``added`` and ``removed`` branches and a ``note``.
    """
    return cast("ExtraRepoUpdate", extra_repos.update_extra_repo(call.app, call.team, name, call.progress))


@tool(lock="team", title="Delete an extra addons repository", destructive=True)
def delete_extra_repo(call: Call, name: RepoName) -> ExtraRepoDeleted:
    """Delete a cloned extra addons repository.

    Refused (ConflictError) while an environment mounts it (``used_by`` in list_extra_repos),
    and (ProtectedError) while it is protected. Returns ``name`` and ``deleted``.
    """
    return cast("ExtraRepoDeleted", extra_repos.delete_extra_repo(call.app, call.team, name))


@tool(lock="team", title="Protect an extra addons repository", idempotent=True)
def protect_extra_repo(call: Call, name: RepoName) -> ExtraRepoProtection:
    """Protect an extra addons repository: delete_extra_repo is refused until it is unprotected.

    Returns ``name`` and ``protected`` (true).
    """
    return cast("ExtraRepoProtection", extra_repos.set_protected(call.app, call.team, name, True))


@tool(lock="team", title="Unprotect an extra addons repository", idempotent=True)
def unprotect_extra_repo(call: Call, name: RepoName) -> ExtraRepoProtection:
    """Remove an extra addons repository's protection: it can be deleted again.

    Returns ``name`` and ``protected`` (false).
    """
    return cast("ExtraRepoProtection", extra_repos.set_protected(call.app, call.team, name, False))
