"""Thin adapter over the git CLI (list arguments only, never a shell string).

Repository URLs are checked against a policy: ``https://``, ``ssh://`` and ``git@host:``
always; ``file://``, local paths and loopback hosts only when the operator allows
local repositories (``[server].allow_local_repos``). Credentials in URLs are masked
in every message.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from oduflow.errors import ExternalCommandError, ValidationError

GIT_TIMEOUT = 600
_SCP_LIKE = re.compile(r"(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s]+)")


def mask_url(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://user:***@host/x``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def strip_credentials(url: str) -> str:
    """The URL without user info (what goes into labels, logs and the state store)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and (parts.username or parts.password):
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _local_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        try:  # IPv4 shorthands git and curl accept: 127.1, 2130706433, 0x7f000001
            ip = ipaddress.ip_address(socket.inet_aton(address))
        except OSError:
            return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified or ip.is_link_local


def _is_local_host(host: str) -> bool:
    """True for loopback names and addresses, in any spelling, and for names resolving to them."""
    host = host.strip("[]").lower().rstrip(".")
    if host in ("localhost", "localhost.localdomain", "") or host.endswith(".localhost"):
        return True
    if _local_address(host):
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # unresolvable here: git will fail to reach it too
    return any(_local_address(str(info[4][0]).split("%")[0]) for info in infos)


def check_repo_url(url: str, *, allow_local: bool) -> str:
    """Return ``url`` when the policy accepts it, else raise :class:`ValidationError`."""
    if not isinstance(url, str) or not url.strip() or url.startswith("-") or any(c in url for c in "\n\r\0 "):
        raise ValidationError(f"invalid repository URL {mask_url(str(url))!r}")
    local_hint = "; local repositories are refused unless [server].allow_local_repos = true in oduflow.toml"
    match = _SCP_LIKE.fullmatch(url)
    if match:
        if _is_local_host(match["host"]) and not allow_local:
            raise ValidationError(f"repository host {match['host']!r} is local{local_hint}")
        return url
    parts = urlsplit(url)
    if parts.scheme in ("https", "http", "ssh", "git"):
        if not parts.hostname:
            raise ValidationError(f"repository URL {mask_url(url)!r} has no host")
        if _is_local_host(parts.hostname) and not allow_local:
            raise ValidationError(f"repository host {parts.hostname!r} is local{local_hint}")
        if parts.scheme in ("http", "git") and not allow_local:
            raise ValidationError(
                f"use https:// or ssh:// for {mask_url(url)!r} (unencrypted transports are refused)"
            )
        return url
    if parts.scheme == "file" or (
        not parts.scheme and (url.startswith(("/", "./", "../")) or Path(url).exists())
    ):
        if not allow_local:
            raise ValidationError(f"local repository {url!r} refused{local_hint}")
        return url
    raise ValidationError(
        f"unsupported repository URL {mask_url(url)!r}: use https://, ssh:// or git@host:path"
    )


def run_git(
    args: list[str],
    *,
    cwd: Path | None = None,
    timeout: int = GIT_TIMEOUT,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS``; failures raise :class:`ExternalCommandError` with masked output."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C", **(env or {})}
    argv = ["git", *args]
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ExternalCommandError(
            f"git {args[0]} timed out after {timeout} s", command=" ".join(mask_url(a) for a in argv)
        ) from None
    if check and proc.returncode != 0:
        raise ExternalCommandError(
            f"git {args[0]} failed",
            command=" ".join(mask_url(a) for a in argv),
            exit_code=proc.returncode,
            output=mask_url(proc.stderr.strip() or proc.stdout.strip()),
        )
    return proc


def credential_env(credentials_file: Path | None) -> dict[str, str]:
    """Environment that makes git read the team's credential store (if any)."""
    if credentials_file is None or not credentials_file.is_file():
        return {}
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": f"store --file={credentials_file}",
    }


def store_credentials(credentials_file: Path, url: str) -> bool:
    """Add the user and token of ``url`` to a git credential store file (mode 0600).

    Returns False when the URL carries no credentials or the store already has them.
    """
    parts = urlsplit(url)
    if not (parts.username and parts.password and parts.hostname):
        return False
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    line = urlunsplit((parts.scheme, f"{parts.username}:{parts.password}@{netloc}", "", "", ""))
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    existing = credentials_file.read_text().splitlines() if credentials_file.exists() else []
    if line in existing:
        return False
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line + "\n")
    credentials_file.chmod(0o600)
    return True


def remote_has_branch(url: str, branch: str, env: dict[str, str]) -> bool:
    proc = run_git(
        ["ls-remote", "--exit-code", "--heads", "--", url, f"refs/heads/{branch}"],
        env=env,
        check=False,
        timeout=120,
    )
    if proc.returncode == 2:
        return False
    if proc.returncode != 0:
        raise ExternalCommandError(
            "cannot reach the repository",
            command=f"git ls-remote {mask_url(url)}",
            exit_code=proc.returncode,
            output=mask_url(proc.stderr.strip()),
        )
    return True


def clone_branch(url: str, branch: str, dest: Path, env: dict[str, str]) -> bool:
    """Shallow-clone ``branch`` into ``dest``; create it from the default branch if missing.

    Returns True when the branch was created locally (it did not exist on the remote).
    The git directory is kept beside the work tree (:func:`separate_git_dir`), never in it:
    the work tree is mounted into the container, and a ``.git/config`` written there (a
    filter or hook command) would run on the host the next time Oduflow calls git.
    """
    gitdir = ["--separate-git-dir", str(separate_git_dir(dest))]
    created = not remote_has_branch(url, branch, env)
    if created:
        run_git(["clone", "--depth", "1", *gitdir, "--", url, str(dest)], env=env)
    else:
        run_git(
            ["clone", "--depth", "1", "--branch", branch, "--single-branch", *gitdir, "--", url, str(dest)],
            env=env,
        )
    (dest / ".git").unlink()
    if created:
        run_git(["checkout", "-b", branch], env=workspace_env(dest, env))
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
    count = int(out.get("GIT_CONFIG_COUNT", "0") or 0)
    for key, value in (
        ("safe.directory", str(repo.resolve())),
        ("core.hooksPath", "/dev/null"),
        ("core.fsmonitor", "false"),
    ):
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


def head(repo: Path, env: Mapping[str, str] | None = None) -> str:
    return run_git(["rev-parse", "HEAD"], cwd=repo, env=dict(env or {})).stdout.strip()


def fetch(repo: Path, branch: str, env: Mapping[str, str]) -> str | None:
    """Fetch ``branch`` into ``refs/remotes/origin/<branch>`` (HEAD and work tree untouched).

    Returns the fetched commit, or ``None`` when the remote has no such branch (a branch
    created locally from the default branch and not pushed yet).
    """
    proc = run_git(
        ["fetch", "--depth", "50", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
        cwd=repo,
        env=dict(env),
        check=False,
    )
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return None
        raise ExternalCommandError(
            "git fetch failed",
            command=f"git fetch origin {branch}",
            exit_code=proc.returncode,
            output=mask_url(proc.stderr.strip()),
        )
    return run_git(
        ["rev-parse", f"refs/remotes/origin/{branch}^{{commit}}"], cwd=repo, env=dict(env)
    ).stdout.strip()


def ensure_fast_forward(repo: Path, old: str, new: str, env: Mapping[str, str]) -> None:
    """Raise :class:`ExternalCommandError` unless ``new`` descends from ``old``.

    A shallow clone is deepened when the history fetched so far does not tell.
    """
    genv = dict(env)
    if run_git(["merge-base", "--is-ancestor", old, new], cwd=repo, env=genv, check=False).returncode == 0:
        return
    run_git(["fetch", "--unshallow", "origin"], cwd=repo, env=genv, check=False)
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
