"""A team's git credentials: add (verified first), list, delete and validate.

The credentials live in the team's git credential store (``<team dir>/.git-credentials``,
0600), the one :mod:`oduflow.gitaccess` hands to every git run of the team that talks to a
remote (clone, fetch, pull, extra repositories): one line per scheme and host, a user and token
(``user:token@``) or a token alone (``TOKEN@``, kept as user ``TOKEN`` with an empty password).
Beside it, ``.git-credentials.repos`` (JSON, no secret) remembers the repository each credential
was verified with, so that it can be validated again later.

A credential is verified with ``git ls-remote`` through :class:`~oduflow.gitaccess.GitAccess`
(URL policy, pinned address, hardened environment) offering that credential alone: a wrong one
is refused and stored nowhere, and a refused attempt cannot make git erase the team's other
credentials. No secret is ever returned: tokens are shown as ``ghp_****``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from oduflow import git
from oduflow.errors import ExternalCommandError, NotFoundError, ValidationError
from oduflow.gitaccess import GitAccess, remove_credentials, write_private
from oduflow.giturl import RepoUrl, parse_repo_url
from oduflow.results import CredentialInfo, CredentialSetup, CredentialValidation

if TYPE_CHECKING:
    from oduflow.app import App
    from oduflow.config import TeamConfig

REPOS_FILE = ".git-credentials.repos"
_AUTH_FAILURES = ("Authentication failed", "terminal prompts disabled", "error: 401", "error: 403")
_SHOWN_PREFIX = 4
_MIN_FOR_PREFIX = 16


@dataclass(frozen=True)
class Stored:
    """One credential line of a store: the line, its parsed URL and its user and password."""

    line: str
    repo: RepoUrl
    user: str
    password: str
    """Empty when the token was given as the user name."""

    @classmethod
    def of(cls, line: str, repo: RepoUrl) -> Stored:
        user, password = repo.credentials or ("", "")
        return cls(line, repo, unquote(user), unquote(password))

    @property
    def key(self) -> str:
        """``scheme://host[:port]``: what the store keeps one credential for."""
        return f"{self.repo.scheme}://{self.repo.netloc()}"

    @property
    def token(self) -> str:
        return self.password or self.user

    @property
    def token_only(self) -> bool:
        return not self.password

    @property
    def shown_user(self) -> str:
        """The user name as listed: masked when the token is the user name."""
        return mask_token(self.token) if self.token_only else self.user

    def info(self) -> CredentialInfo:
        return CredentialInfo(
            host=self.repo.netloc(),
            scheme=self.repo.scheme,
            username=self.shown_user,
            token=mask_token(self.token),
            token_only=self.token_only,
        )


def mask_token(token: str) -> str:
    """``ghp_****``: the first characters of a long token only (``****`` for a short one)."""
    return (token[:_SHOWN_PREFIX] if len(token) >= _MIN_FOR_PREFIX else "") + "****"


def _entries(path: Path) -> list[Stored]:
    """The lines of the store ``path`` that are credentials (others are kept, never shown)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValidationError):
            repo = parse_repo_url(line.strip())
            if repo.credentials is not None:
                out.append(Stored.of(line, repo))
    return out


def list_credentials(app: App, team: TeamConfig) -> list[CredentialInfo]:
    """The team's stored credentials: host, user name and the masked token."""
    return [e.info() for e in _entries(git.team_access(app, team).credentials_file)]


def _credential_url(repo_url: str) -> RepoUrl:
    repo = parse_repo_url(repo_url)
    if repo.credentials is None or repo.scheme not in ("https", "http"):
        raise ValidationError(
            "setup_repo_auth needs an https:// URL with credentials: https://USER:TOKEN@host/owner/repo.git "
            "or https://TOKEN@host/owner/repo.git (SSH uses the team's key, <team dir>/.ssh/id_ed25519)"
        )
    return repo


def verify(access: GitAccess, repo: RepoUrl) -> None:
    """``git ls-remote`` of ``repo`` offering only its own credentials; raise when refused.

    The run gets a scratch team directory: the team's store is neither consulted nor, on a
    refusal (git then erases the credential it tried), touched.
    """
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=_team_dir(access)) as scratch:
        git.remote_has_branch(repo.url, "main", replace(access, team_dir=Path(scratch)))


def _team_dir(access: GitAccess) -> Path:
    access.team_dir.mkdir(parents=True, exist_ok=True)
    return access.team_dir


def setup_repo_auth(app: App, team: TeamConfig, repo_url: str) -> CredentialSetup:
    """Verify the credentials of ``repo_url`` with ``git ls-remote``, then keep them in the team's store."""
    repo = _credential_url(repo_url)
    access = git.team_access(app, team)
    verify(access, repo)
    changed = access.keep_credentials(repo)
    stored = Stored.of(repo.store_line() or "", repo)
    _remember_repo(access, stored.key, repo.clean)
    return CredentialSetup(
        **stored.info(),
        repository=repo.clean,
        verified=True,
        changed=changed,
        message=f"credentials for {stored.key} verified and stored; use the clean URL {repo.clean}",
    )


def _find(access: GitAccess, host: str, username: str) -> Stored:
    host = host.strip().lower()
    for entry in _entries(access.credentials_file):
        names = {entry.key.lower(), entry.repo.netloc().lower(), entry.repo.host}
        if host in names and username in (entry.user, entry.shown_user):
            return entry
    raise NotFoundError(
        f"no stored credential for user {username!r} on {host!r}; list_repo_credentials lists them"
    )


def delete_credential(app: App, team: TeamConfig, host: str, username: str) -> CredentialInfo:
    """Remove the team's credential for ``username`` on ``host``."""
    access = git.team_access(app, team)
    entry = _find(access, host, username)
    remove_credentials(access.credentials_file, entry.line)
    repos = _repos(access)
    if repos.pop(entry.key, None) is not None:
        write_private(access.team_dir / REPOS_FILE, json.dumps(repos, indent=1))
    return entry.info()


def validate_credential(app: App, team: TeamConfig, host: str, username: str) -> CredentialValidation:
    """Check the team's credential for ``username`` on ``host`` with the repository it was set up with."""
    access = git.team_access(app, team)
    entry = _find(access, host, username)
    repository = _repos(access).get(entry.key, "")
    status, message = _check(access, entry, repository)
    return CredentialValidation(**entry.info(), repository=repository, status=status, message=message)


def _check(access: GitAccess, entry: Stored, repository: str) -> tuple[str, str]:
    """``(status, message)`` of ``entry`` against ``repository`` (``unchecked`` without one)."""
    if not repository:
        return "unchecked", "no repository recorded for this credential: run setup_repo_auth once to check it"
    parts = urlsplit(repository)
    userinfo = entry.line.split("://", 1)[1].rpartition("@")[0]
    url = urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))
    try:
        verify(access, parse_repo_url(url))
    except ExternalCommandError as exc:
        if not any(marker in exc.output for marker in _AUTH_FAILURES):
            raise
        return "invalid", f"{repository} refused the credential"
    return "valid", f"{repository} accepted the credential"


def _repos(access: GitAccess) -> dict[str, str]:
    path = access.team_dir / REPOS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _remember_repo(access: GitAccess, key: str, clean: str) -> None:
    repos = _repos(access)
    if repos.get(key) != clean:
        write_private(access.team_dir / REPOS_FILE, json.dumps({**repos, key: clean}, indent=1))
