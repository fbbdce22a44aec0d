"""``pull_and_apply``: fetch the branch, work out what the changes need, do only that.

The plan comes from the ``oduflow_analyze_changes`` plugins (see :mod:`oduflow.changes`).
The action run is the smallest one that makes the environment match the new code:
dependencies changed -> rebuild the container (dependencies re-installed); modules to install
or upgrade -> one ``odoo -i A -u B --stop-after-init`` run, then a restart; Python changes
only -> a restart; views/assets only -> nothing (``--dev=xml``: reload the browser).
Shared by the ``pull_and_apply`` tool and the REST ``/sync`` endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from oduflow import changes, git
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.errors import OduflowError
from oduflow.fsutil import chown_tree
from oduflow.services import environments, extra_repos, odoo_ops
from oduflow.services.envmodel import Env, get_env

MAX_LISTED_FILES = 200


def _git_env(access: git.GitAccess, env: Env) -> dict[str, str]:
    return git.workspace_env(env.paths.repo, git.credential_env(access.credentials_file))


def _files(ctx: changes.ChangeContext) -> list[dict[str, str]]:
    out = []
    for c in ctx.changes[:MAX_LISTED_FILES]:
        item = {"path": c.path, "status": c.status}
        if c.old_path:
            item["old_path"] = c.old_path
        out.append(item)
    return out


def _has_remote_ref(repo: Path, branch: str, genv: dict[str, str]) -> bool:
    """Whether the checkout has seen ``branch`` on the remote (cloned or fetched from there)."""
    ref = f"refs/remotes/origin/{branch}"
    proc = git.run_git(["rev-parse", "--verify", "--quiet", ref], cwd=repo, env=genv, check=False)
    return proc.returncode == 0


def _step(name: str, run: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """Run one action; an Oduflow error becomes a failed step instead of an exception."""
    try:
        detail = run()
    except OduflowError as exc:
        return {"action": name, "ok": False, "error": f"{exc.type_name}: {exc}"}
    return {"action": name, "ok": True, **(detail or {})}


def _unchanged(
    base: dict[str, Any], branch: str, old: str, new: str | None, had_remote: bool
) -> dict[str, Any]:
    """The answer when there is nothing to pull: up to date, or the branch is not on the remote."""
    if new is not None:
        return {
            **base,
            "new_commit": new,
            "changed_files": [],
            "actions": [],
            "summary": "already up to date; nothing done",
        }
    if had_remote:
        why = (
            f"branch '{branch}' is no longer on the remote (deleted?): the environment keeps "
            f"commit {old[:12]}; push the branch again, or delete the environment"
        )
    else:
        why = f"branch '{branch}' is not on the remote yet: push it and pull again"
    return {
        **base,
        "new_commit": old,
        "changed_files": [],
        "actions": [],
        "remote_branch": "deleted" if had_remote else "not pushed",
        "summary": f"{why}; nothing done",
    }


def pull_and_apply(
    app: App, team: TeamConfig, branch: str, dry_run: bool = False, progress: Progress = no_progress
) -> dict[str, Any]:
    """Pull ``branch`` into its environment and apply the minimal action (or only plan it).

    Only the main repository moves. Extra addons worktrees stay on their pinned commits (the
    reference's "Updating Extra Repos"): per repository, the commits its bare clone has beyond
    the pinned one are analysed and reported under ``extra_addons``, never applied.
    """
    env = get_env(app, team, branch)
    result = _pull_main(app, team, env, dry_run, progress)
    if env.params.extra_addons:
        progress("analysing extra addons repositories")
        pinned = extra_repos.pinned_changes(app, team, env.params.extra_addons)
        result["extra_addons"] = pinned
        newer = [x["name"] for x in pinned if "plan" in x]
        if newer:
            result["summary"] += (
                f"; extra addons {', '.join(newer)}: newer commits not applied (pinned; "
                "recreate the environment to use them)"
            )
    return result


def _pull_main(app: App, team: TeamConfig, env: Env, dry_run: bool, progress: Progress) -> dict[str, Any]:
    """Pull the main repository of ``env`` and apply what its changes need."""
    repo, access = env.paths.repo, git.team_access(app, team)
    genv = _git_env(access, env)
    old = git.head(repo, genv)
    progress("fetching")
    had_remote = _has_remote_ref(repo, env.branch, genv)
    new = git.fetch(repo, env.branch, genv, access)
    base: dict[str, Any] = {"branch": env.branch, "dry_run": dry_run, "old_commit": old}
    if new is None or new == old:
        return _unchanged(base, env.branch, old, new, had_remote)
    git.ensure_fast_forward(repo, old, new, genv, access)
    progress("analysing changes")
    gitdir = git.separate_git_dir(repo)
    ctx = changes.collect_changes(gitdir if gitdir.is_dir() else repo, old, new)
    plan = app.hooks.analyze_changes(ctx)
    result: dict[str, Any] = {
        **base,
        "new_commit": new,
        "changed_files": _files(ctx),
        "changed_files_total": len(ctx.changes),
        "plan": plan.to_dict(),
    }
    head_line = f"{old[:8]}..{new[:8]}, {len(ctx.changes)} file(s) changed"
    if dry_run:
        result["actions"] = []
        result["summary"] = f"dry run ({head_line}, HEAD not moved): would {plan.summary()}"
        return result

    progress("fast-forwarding the checkout")
    git.fast_forward(repo, new, genv)
    chown_tree(repo, env.params.uid, env.params.gid)
    actions, outcome = _apply(app, team, env, plan, progress)
    result["actions"] = actions
    result["summary"] = f"{head_line}: {outcome}"
    return result


def _apply(
    app: App, team: TeamConfig, env: Env, plan: changes.ChangePlan, progress: Progress
) -> tuple[list[dict[str, Any]], str]:
    """Run what ``plan`` needs; returns the steps and a one-line outcome."""
    actions: list[dict[str, Any]] = []
    said: list[str] = []
    if plan.dependencies:
        progress("dependencies changed: rebuilding the container")
        step = _step("rebuild", lambda: environments.rebuild_environment(app, team, env.branch, progress))
        actions.append(step)
        said.append("container rebuilt with the new dependencies" if step["ok"] else "rebuild FAILED")
        if not step["ok"]:
            return actions, "; ".join(said)
        env = get_env(app, team, env.branch)
    modules = bool(plan.install or plan.upgrade)
    if modules:
        label = " + ".join(
            f"{verb} {', '.join(mods)}"
            for verb, mods in (("install", plan.install), ("upgrade", plan.upgrade))
            if mods
        )
        progress(label)
        step = _step(
            "install/upgrade",
            lambda: {"result": odoo_ops.module_operation(app, env, plan.install, plan.upgrade)},
        )
        if step["ok"]:
            step["ok"] = step["result"]["ok"]
            said.append(odoo_ops.operation_summary(label, step["result"]))
        else:
            said.append(f"{label}: could not run: {step['error']}")
        actions.append(step)
    if modules or (plan.restart and not plan.dependencies):  # a rebuild has just started the server
        progress("restarting the server")
        step = _step("restart", lambda: environments.restart_environment(app, team, env.branch))
        actions.append(step)
        said.append("server restarted" if step["ok"] else "server restart FAILED")
    if plan.refresh:
        said.append("views/assets changed: reload the browser (served live with --dev=xml)")
    if not said:
        said.append(plan.summary())
    return actions, "; ".join(said)
