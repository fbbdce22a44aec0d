"""Thin adapter over the git CLI (list arguments only, never a shell string).

Every run has no global or system configuration (``GIT_CONFIG_GLOBAL=/dev/null``,
``GIT_CONFIG_NOSYSTEM=1``), an empty private ``HOME``, no terminal prompt and none of the
server's own ``GIT_*``/``SSH_*`` variables (``SSH_AUTH_SOCK`` included). Runs that talk to a
remote also go through :class:`oduflow.gitaccess.GitAccess`: the URL policy, no redirects, the
URL's protocol only, a pinned address and the team's own credentials. Credentials are masked
in every message, on every line.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from oduflow.errors import ConflictError, ExternalCommandError
from oduflow.gitaccess import GitAccess, add_config, credential_env, store_credentials, team_access
from oduflow.giturl import RepoUrl, check_repo_url, mask_text, mask_url, parse_repo_url, strip_credentials

__all__ = [
    "GitAccess",
    "check_repo_url",
    "credential_env",
    "mask_text",
    "mask_url",
    "store_credentials",
    "strip_credentials",
    "team_access",
]

GIT_TIMEOUT = 600
_HOME_LOCK = threading.Lock()
_home: Path | None = None


def private_home() -> Path:
    """An empty directory only this process can read, used as ``HOME`` of every git run."""
    global _home
    with _HOME_LOCK:
        if _home is None or not _home.is_dir():
            _home = Path(tempfile.mkdtemp(prefix="oduflow-git-home-"))
            atexit.register(shutil.rmtree, _home, True)
        return _home


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a git run: the server's, minus what could configure git or SSH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "SSH_")) and k not in ("HOME", "XDG_CONFIG_HOME", "EMAIL")
    }
    home = private_home()
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        SSH_ASKPASS_REQUIRE="never",
        LC_ALL="C",
    )
    env.update(extra or {})
    return env


def run_git_bytes(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: int = GIT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    secrets: Sequence[str] = (),
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` (output as bytes, ``stdin`` fed to it) in :func:`base_env` plus ``env``.

    The one git runner: a run past ``timeout`` seconds, or failing when ``check``, raises
    :class:`ExternalCommandError` with masked output.
    """
    argv = ["git", *args]
    command = " ".join(mask_text(a, secrets) for a in argv)
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=base_env(env), input=stdin, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ExternalCommandError(f"git {args[0]} timed out after {timeout} s", command=command) from None
    if check and proc.returncode != 0:
        output = _text(proc.stderr).strip() or _text(proc.stdout).strip()
        raise ExternalCommandError(
            f"git {args[0]} failed",
            command=command,
            exit_code=proc.returncode,
            output=_explain(mask_text(output, secrets)),
        )
    return proc


def run_git(
    args: list[str],
    *,
    cwd: Path | None = None,
    timeout: int = GIT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    secrets: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` (:func:`run_git_bytes`) with its output as text."""
    proc = run_git_bytes(args, cwd=cwd, timeout=timeout, env=env, check=check, secrets=secrets)
    return subprocess.CompletedProcess(proc.args, proc.returncode, _text(proc.stdout), _text(proc.stderr))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _explain(output: str) -> str:
    """``output`` plus a hint for a redirect (never followed) or missing credentials."""
    if any(f"error: 30{d}" in output for d in "12378"):
        return output + "\n(redirects are not followed: use the repository's final URL)"
    if "terminal prompts disabled" in output or "Authentication failed" in output:
        return output + (
            "\n(the repository needs credentials: pass https://USER:TOKEN@host/... once; they are "
            "kept in the team's credential store, never in the URL Oduflow shows)"
        )
    return output


def _ls_remote(repo: RepoUrl, branch: str, env: Mapping[str, str]) -> bool:
    proc = run_git(
        ["ls-remote", "--exit-code", "--heads", "--", repo.clean, f"refs/heads/{branch}"],
        env=env,
        check=False,
        timeout=120,
        secrets=repo.secrets,
    )
    if proc.returncode == 2:
        return False
    if proc.returncode != 0:
        raise ExternalCommandError(
            "cannot reach the repository",
            command=f"git ls-remote {mask_url(repo.clean)}",
            exit_code=proc.returncode,
            output=_explain(mask_text(proc.stderr.strip(), repo.secrets)),
        )
    return True


def remote_has_branch(url: str, branch: str, access: GitAccess) -> bool:
    """Whether the repository at ``url`` has ``branch`` (checked by the team's policy)."""
    repo = parse_repo_url(url)
    with access.session(repo) as env:
        return _ls_remote(repo, branch, env)


def clone_branch(url: str, branch: str, dest: Path, access: GitAccess) -> bool:
    """Shallow-clone ``branch`` into ``dest``; create it from the default branch if missing.

    Returns True when the branch was created locally (it did not exist on the remote).
    The git directory is kept beside the work tree (:func:`separate_git_dir`), never in it:
    the work tree is mounted into the container, and a ``.git/config`` written there (a
    filter or hook command) would run on the host the next time Oduflow calls git.
    Credentials in ``url`` never reach git's command line or configuration: git clones the
    clean URL, the credentials come from a temporary store and join the team's store once
    the clone succeeded.
    """
    repo = parse_repo_url(url)
    gitdir = ["--separate-git-dir", str(separate_git_dir(dest))]
    with access.session(repo) as env:
        created = not _ls_remote(repo, branch, env)
        single = [] if created else ["--branch", branch, "--single-branch"]
        run_git(
            ["clone", "--depth", "1", *single, *gitdir, "--", repo.clean, str(dest)],
            env=env,
            secrets=repo.secrets,
        )
    access.keep_credentials(repo)
    (dest / ".git").unlink()
    if created:
        run_git(["checkout", "-b", branch], env=workspace_env(dest))
    return created


def separate_git_dir(repo: Path) -> Path:
    """Where the git directory of the checkout ``repo`` lives (outside the mounted work tree)."""
    return repo.with_name(repo.name + ".git")


def workspace_env(repo: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` plus the settings git needs in an environment's checkout.

    The checkout is owned by the container user, so git running as root would refuse it
    ("dubious ownership"): ``safe.directory`` names it. Because the container can write the
    checkout (``.git`` included), hooks and ``core.fsmonitor`` are disabled for every git run
    there. The settings are command-scope ``GIT_CONFIG_*`` entries appended to those of ``env``
    (e.g. :func:`credential_env`).
    """
    out = dict(env or {})
    gitdir = separate_git_dir(repo)
    if gitdir.is_dir():
        out["GIT_DIR"], out["GIT_WORK_TREE"] = str(gitdir), str(repo)
    return add_config(
        out,
        [
            ("safe.directory", str(repo.resolve())),
            ("core.hooksPath", "/dev/null"),
            ("core.fsmonitor", "false"),
        ],
    )


def _origin(repo: Path, env: Mapping[str, str]) -> RepoUrl:
    """The remote of the checkout ``repo``, read from its git directory beside the work tree.

    A checkout whose git directory is inside the work tree (made by an older Oduflow) is
    refused: the container can write that configuration (URL rewrites, proxies, programs).
    """
    gitdir = separate_git_dir(repo)
    if not gitdir.is_dir() or gitdir.is_symlink() or not stat.S_ISDIR(gitdir.lstat().st_mode):
        raise ConflictError(
            f"the checkout {repo} keeps its git directory inside the work tree, which the "
            "container can write: recreate the environment to pull into it"
        )
    genv = {**env, "GIT_DIR": str(gitdir), "GIT_WORK_TREE": str(repo)}
    url = run_git(["config", "--get", "remote.origin.url"], cwd=repo, env=genv).stdout.strip()
    return parse_repo_url(url)


def head(repo: Path, env: Mapping[str, str] | None = None) -> str:
    return run_git(["rev-parse", "HEAD"], cwd=repo, env=dict(env or {})).stdout.strip()


def fetch(repo: Path, branch: str, env: Mapping[str, str], access: GitAccess) -> str | None:
    """Fetch ``branch`` into ``refs/remotes/origin/<branch>`` (HEAD and work tree untouched).

    Returns the fetched commit, or ``None`` when the remote has no such branch (a branch
    created locally from the default branch and not pushed yet).
    """
    origin = _origin(repo, env)
    with access.session(origin, env) as renv:
        proc = run_git(
            ["fetch", "--depth", "50", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
            cwd=repo,
            env=renv,
            check=False,
        )
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return None
        raise ExternalCommandError(
            "git fetch failed",
            command=f"git fetch origin {branch}",
            exit_code=proc.returncode,
            output=_explain(mask_text(proc.stderr.strip())),
        )
    return run_git(
        ["rev-parse", f"refs/remotes/origin/{branch}^{{commit}}"], cwd=repo, env=dict(env)
    ).stdout.strip()


def ensure_fast_forward(repo: Path, old: str, new: str, env: Mapping[str, str], access: GitAccess) -> None:
    """Raise :class:`ExternalCommandError` unless ``new`` descends from ``old``.

    A shallow clone is deepened when the history fetched so far does not tell.
    """
    genv = dict(env)
    if run_git(["merge-base", "--is-ancestor", old, new], cwd=repo, env=genv, check=False).returncode == 0:
        return
    with access.session(_origin(repo, genv), genv) as renv:
        run_git(["fetch", "--unshallow", "origin"], cwd=repo, env=renv, check=False)
    if run_git(["merge-base", "--is-ancestor", old, new], cwd=repo, env=genv, check=False).returncode != 0:
        raise ExternalCommandError(
            "the remote branch has diverged from the environment's checkout (history was "
            "rewritten); recreate the environment or push a fast-forward",
            command=f"git merge --ff-only {new[:12]}",
        )


def fast_forward(repo: Path, rev: str, env: Mapping[str, str]) -> str:
    """Fast-forward the checkout to ``rev`` (a fetched commit); returns the new HEAD."""
    run_git(["merge", "--ff-only", rev], cwd=repo, env=dict(env))
    return head(repo, env)
