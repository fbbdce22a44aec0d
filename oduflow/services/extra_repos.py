"""Extra addons repositories: a team's bare clones, and one pinned worktree per environment.

A repository (e.g. Odoo Enterprise) is cloned once per team, bare, into
``shared_repos/<name>/`` through the team's git access (:class:`oduflow.gitaccess.GitAccess`:
URL policy, pinned address, credentials). Every environment that asks for it gets a detached
worktree at the requested branch's commit in ``<workspace>/extra/<name>/``, mounted
read-only at ``/mnt/extra-addons-<name>`` and appended to ``addons_path``. Worktrees stay on
their commit: ``update_extra_repo`` only fetches into the bare clone; recreating the
environment takes the branch's new head. A ``.protected`` marker in the bare clone refuses
its deletion, as does any environment still using it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oduflow import changes, git
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConflictError, NotFoundError, ProtectedError, ValidationError
from oduflow.fsutil import rmtree
from oduflow.giturl import parse_repo_url
from oduflow.layout import WorkspaceLayout, team_layout
from oduflow.naming import validate_branch, validate_name

PROTECTED_MARKER = ".protected"


@dataclass(frozen=True)
class WorktreeRequest:
    """One extra addons repository an environment mounts, resolved to a commit."""

    name: str
    branch: str
    commit: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "branch": self.branch, "commit": self.commit}


# --- git in a bare clone -------------------------------------------------------------------
def _genv(bare: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a git run in the bare clone ``bare`` (no hooks, no fsmonitor)."""
    env = {**(extra or {}), "GIT_DIR": str(bare)}
    return git.add_config(env, [("core.hooksPath", os.devnull), ("core.fsmonitor", "false")])


def _git(bare: Path, *args: str, check: bool = True) -> str:
    return git.run_git(list(args), cwd=bare, env=_genv(bare), check=check).stdout.strip()


def _branches(bare: Path) -> dict[str, str]:
    """Branch -> commit of the bare clone."""
    out = _git(bare, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _default_branch(bare: Path) -> str:
    return _git(bare, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)


def _origin(bare: Path) -> str:
    return _git(bare, "config", "--get", "remote.origin.url")


# --- the team's repositories ---------------------------------------------------------------
def repo_dir(app: App, team: TeamConfig, name: str) -> Path:
    """The bare clone of ``name``, or :class:`NotFoundError`."""
    path = team_layout(app, team.id).shared_repo(name)
    if not path.is_dir():
        raise NotFoundError(
            f"no extra addons repository '{name}' (list_extra_repos shows them; add_extra_repo clones one)"
        )
    return path


def users(app: App, team: TeamConfig, name: str) -> list[str]:
    """The branches of the team's environments that mount ``name`` (being created included)."""
    return sorted(
        rec.branch
        for rec in app.store.list_envs(team.id)
        if any(x.get("name") == name for x in rec.params.get("extra_addons") or [])
    )


def describe(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """What ``list_extra_repos`` shows of one repository."""
    bare = repo_dir(app, team, name)
    return {
        "name": name,
        "repo_url": git.mask_url(_origin(bare)),
        "default_branch": _default_branch(bare),
        "branches": sorted(_branches(bare)),
        "protected": (bare / PROTECTED_MARKER).is_file(),
        "used_by": users(app, team, name),
    }


def list_extra_repos(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """Every extra addons repository of the team, by name."""
    root = team_layout(app, team.id).shared_repos
    if not root.is_dir():
        return []
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [describe(app, team, n) for n in names]


def add_extra_repo(
    app: App, team: TeamConfig, name: str, repo_url: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Clone ``repo_url`` bare as the team's extra addons repository ``name``.

    The clone goes to a hidden directory first and is renamed once complete: a failed clone
    leaves nothing. Credentials in ``repo_url`` join the team's store, never the clone's config.
    """
    dest = team_layout(app, team.id).shared_repo(name)
    if dest.exists():
        raise ConflictError(f"extra addons repository '{name}' exists already (update_extra_repo fetches it)")
    repo, access = parse_repo_url(repo_url), git.team_access(app, team)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{name}.cloning-{secrets.token_hex(4)}")
    try:
        progress(f"cloning {git.mask_url(repo.clean)}")
        with access.session(repo) as env:
            git.run_git(["clone", "--bare", "--", repo.clean, str(tmp)], env=env, secrets=repo.secrets)
        _git(tmp, "config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
        access.keep_credentials(repo)
        os.rename(tmp, dest)
    finally:
        rmtree(tmp)
    return describe(app, team, name)


def update_extra_repo(
    app: App, team: TeamConfig, name: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """``git fetch --all --prune`` into the bare clone; environments keep their worktrees."""
    bare = repo_dir(app, team, name)
    before = _branches(bare)
    origin = parse_repo_url(_origin(bare))
    progress(f"fetching {git.mask_url(origin.clean)}")
    with git.team_access(app, team).session(origin, _genv(bare)) as env:
        git.run_git(["fetch", "--all", "--prune"], cwd=bare, env=env, secrets=origin.secrets)
    after = _branches(bare)
    updated = [
        {"branch": b, "old_commit": before[b], "new_commit": c}
        for b, c in sorted(after.items())
        if b in before and before[b] != c
    ]
    result = describe(app, team, name)
    result.update(
        updated=updated,
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        note="environments keep their pinned worktrees: recreate one to use the new commits",
    )
    return result


def delete_extra_repo(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """Remove the bare clone; refused while protected or mounted by an environment."""
    bare = repo_dir(app, team, name)
    if (bare / PROTECTED_MARKER).is_file():
        raise ProtectedError(f"extra addons repository '{name}' is protected: unprotect it first")
    used = users(app, team, name)
    if used:
        raise ConflictError(
            f"extra addons repository '{name}' is used by environment(s) {', '.join(used)}: delete them first"
        )
    rmtree(bare)
    return {"name": name, "deleted": True}


def set_protected(app: App, team: TeamConfig, name: str, protected: bool) -> dict[str, Any]:
    """Protect (or unprotect) ``name`` against deletion (the ``.protected`` marker)."""
    marker = repo_dir(app, team, name) / PROTECTED_MARKER
    if protected:
        marker.touch()
    else:
        marker.unlink(missing_ok=True)
    return {"name": name, "protected": protected}


# --- environments' worktrees ---------------------------------------------------------------
def parse_request(extra_addons: str | Mapping[str, str], default_branch: str = "") -> list[tuple[str, str]]:
    """(name, branch) pairs from ``"a,b:17.0"`` or ``{"a": "17.0"}``; ``default_branch`` when
    a name has none (empty: the repository's default branch)."""
    if isinstance(extra_addons, str):
        items = [part.strip() for part in extra_addons.split(",") if part.strip()]
        pairs = [(n.strip(), b.strip()) for n, _, b in (i.partition(":") for i in items)]
    else:
        pairs = [(str(n), str(b or "")) for n, b in extra_addons.items()]
    out: list[tuple[str, str]] = []
    for name, branch in pairs:
        validate_name("repository", name)
        if name in {n for n, _ in out}:
            raise ValidationError(f"extra addons repository '{name}' is given twice")
        out.append((name, branch or default_branch))
    return out


def resolve(app: App, team: TeamConfig, pairs: list[tuple[str, str]]) -> tuple[WorktreeRequest, ...]:
    """Each (name, branch) resolved to the branch's commit in the team's bare clone."""
    out = []
    for name, wanted in pairs:
        bare = repo_dir(app, team, name)
        branch = wanted or _default_branch(bare)
        validate_branch(branch)
        commit = _branches(bare).get(branch)
        if commit is None:
            raise NotFoundError(
                f"extra addons repository '{name}' has no branch '{branch}' (list_extra_repos shows "
                "its branches; update_extra_repo fetches new ones)"
            )
        out.append(WorktreeRequest(name, branch, commit))
    return tuple(out)


def add_worktree(app: App, team: TeamConfig, workspace: WorkspaceLayout, request: WorktreeRequest) -> Path:
    """A detached worktree of ``request`` in the workspace (``extra/<name>``)."""
    bare, path = repo_dir(app, team, request.name), workspace.extra(request.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    _git(bare, "worktree", "add", "--detach", "--", str(path), request.commit)
    return path


def remove_worktrees(app: App, team: TeamConfig, workspace: WorkspaceLayout, names: list[str]) -> None:
    """Remove the environment's worktrees of ``names`` and their records in the bare clones."""
    for name in names:
        rmtree(workspace.extra(name))
        bare = team_layout(app, team.id).shared_repo(name)
        if bare.is_dir():
            _git(bare, "worktree", "prune")
    extra = workspace.root / "extra"
    if extra.is_dir() and not any(extra.iterdir()):
        extra.rmdir()


def pinned_changes(app: App, team: TeamConfig, mounted: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Per mounted repository: its pinned commit, its branch's head in the bare clone and, when
    they differ, the changes analysed (not applied: worktrees stay pinned until a recreate)."""
    out: list[dict[str, Any]] = []
    for item in mounted:
        name, branch, pinned = item["name"], item["branch"], item["commit"]
        entry: dict[str, Any] = {"name": name, "branch": branch, "commit": pinned}
        bare = team_layout(app, team.id).shared_repo(name)
        head = _branches(bare).get(branch) if bare.is_dir() else None
        entry["branch_head"] = head
        if head is not None and head != pinned:
            ctx = changes.collect_changes(bare, pinned, head)
            entry["changed_files_total"] = len(ctx.changes)
            entry["plan"] = app.hooks.analyze_changes(ctx).to_dict()
            entry["note"] = "pinned: not applied; recreate the environment to use these commits"
        out.append(entry)
    return out
