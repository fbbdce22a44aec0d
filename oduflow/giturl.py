"""Repository URLs: parsing, the scheme and address policy, credentials and their masking.

Accepted always: ``https://``, ``ssh://`` and ``git@host:path``. Only when the operator allows
local repositories (``[server].allow_local_repos``): ``file://`` and local paths; plaintext
``http://`` and ``git://`` also for the hosts the operator lists in ``[server].allowed_hosts``.
Hosts go through :class:`oduflow.urlpolicy.UrlPolicy`.

Credentials: the user info of an ``http(s)`` URL (``user:token@`` or a token alone as the
user name, ``TOKEN@``) is a credential. It is taken out of the URL (git, labels, state and
output only ever see :attr:`RepoUrl.clean`) and kept in the team's credential store. An
``ssh://`` URL with a password is refused (SSH authenticates with the team's key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from oduflow.errors import ValidationError
from oduflow.urlpolicy import ALLOW_HINT, Target, UrlPolicy

_SCP_LIKE = re.compile(r"(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s]+)")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^\s/@'\"<>`]+)@")
_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
LOCAL_HINT = "; local repositories are refused unless [server].allow_local_repos = true in oduflow.toml"


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL credential masked, on every line, and every ``secrets`` string.

    ``https://user:token@h`` -> ``https://user:***@h``; ``https://TOKEN@h`` -> ``https://***@h``
    (a lone user name of an ``ssh://`` URL is a login, not a secret, and stays).
    """

    def sub(match: re.Match[str]) -> str:
        scheme, info = match["scheme"], match["info"]
        user, colon, _ = info.partition(":")
        if colon:
            return f"{scheme}{user}:***@"
        return match[0] if scheme.lower().startswith("ssh") else f"{scheme}***@"

    out = _USERINFO.sub(sub, text)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, "***")
    return out


def mask_url(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://user:***@host/x`` (see :func:`mask_text`)."""
    return mask_text(str(url))


@dataclass(frozen=True)
class RepoUrl:
    """A parsed repository URL."""

    url: str
    scheme: str
    """``https``, ``http``, ``ssh``, ``git`` or ``file`` (local paths too)."""
    host: str
    port: int
    clean: str
    """The URL without credentials: what git, labels, the state store and messages see."""
    credentials: tuple[str, str] | None = None
    """User and password (percent-encoded, as written) of an ``http(s)`` URL."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings to mask in any output about this URL."""
        if self.credentials is None:
            return ()
        user, password = self.credentials
        parts = [password, unquote(password)] if password else [user, unquote(user)]
        return tuple(p for p in parts if p)

    def store_line(self) -> str | None:
        """The line of a git credential store holding this URL's credentials (None: none)."""
        if self.credentials is None:
            return None
        user, password = self.credentials
        return f"{self.scheme}://{user}:{password}@{self.netloc()}"

    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _PORTS.get(self.scheme) else f"{host}:{self.port}"


def _invalid(url: str, why: str = "") -> ValidationError:
    return ValidationError(f"invalid repository URL {mask_url(url)!r}{why}")


def parse_repo_url(url: str) -> RepoUrl:
    """Parse ``url``; raise :class:`ValidationError` when it is malformed or its scheme unsupported."""
    if not isinstance(url, str) or not url.strip() or url.startswith("-"):
        raise _invalid(str(url))
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise _invalid(url)
    match = _SCP_LIKE.fullmatch(url)
    if match:
        return RepoUrl(url, "ssh", match["host"].lower(), 22, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _PORTS:
        return _parse_network_url(url, scheme)
    if scheme == "file" or (not parts.scheme and (url.startswith(("/", "./", "../")) or Path(url).exists())):
        if scheme == "file" and parts.netloc not in ("", "localhost"):
            raise _invalid(url, " (file:// URLs name no host)")
        return RepoUrl(url, "file", "", 0, url)
    raise ValidationError(
        f"unsupported repository URL {mask_url(url)!r}: use https://, ssh:// or git@host:path"
    )


def _parse_network_url(url: str, scheme: str) -> RepoUrl:
    parts = urlsplit(url)
    if parts.netloc.count("@") > 1 or "\\" in parts.netloc:
        raise _invalid(url)
    if not parts.hostname:
        raise ValidationError(f"repository URL {mask_url(url)!r} has no host")
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise _invalid(url, " (bad port)") from None
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    if userinfo is None:
        return RepoUrl(url, scheme, parts.hostname, port, url)
    user, colon, password = userinfo.partition(":")
    if scheme == "ssh":
        if colon:
            raise ValidationError(
                f"repository URL {mask_url(url)!r} carries a password: SSH authenticates with the "
                "team's key (<team dir>/.ssh/id_ed25519), never a password in the URL"
            )
        return RepoUrl(url, scheme, parts.hostname, port, url)
    if scheme == "git":
        raise _invalid(url, " (git:// has no authentication: remove the user info)")
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit(parts._replace(netloc=netloc))
    return RepoUrl(url, scheme, parts.hostname, port, clean, (user, password))


def check_parsed(repo: RepoUrl, policy: UrlPolicy, *, resolve: bool) -> Target | None:
    """Apply ``policy`` to ``repo`` (None for local repositories); raise :class:`ValidationError`."""
    if repo.scheme == "file":
        if not policy.allow_local:
            raise ValidationError(f"local repository {mask_url(repo.url)!r} refused{LOCAL_HINT}")
        return None
    try:
        target = policy.check_host(repo.host, repo.port, resolve=resolve)
    except ValidationError as exc:
        raise ValidationError(f"repository URL {mask_url(repo.clean)!r} refused: {exc}") from None
    if repo.scheme in ("http", "git") and not target.trusted:
        raise ValidationError(
            f"use https:// or ssh:// for {mask_url(repo.clean)!r} (unencrypted transports are refused"
            f"{ALLOW_HINT})"
        )
    return target


def check_repo_url(url: str, policy: UrlPolicy | None = None, *, allow_local: bool = False) -> str:
    """Return ``url`` when the policy accepts it, else raise :class:`ValidationError`.

    An early check before any work: a host name that does not resolve here is accepted (the
    connection resolves, checks and pins again).
    """
    repo = parse_repo_url(url)
    check_parsed(repo, policy if policy is not None else UrlPolicy(allow_local=allow_local), resolve=False)
    return url


def strip_credentials(url: str) -> str:
    """The URL without credentials (what goes into labels, logs and the state store)."""
    try:
        return parse_repo_url(url).clean
    except ValidationError:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=netloc))
