"""What a team's git runs may use to reach a remote: the URL policy and the team's own credentials.

Every git run that talks to a remote (``ls-remote``, ``clone``, ``fetch``) gets, on top of the
hardened environment of :func:`oduflow.git.run_git` (no global or system configuration, an empty
private ``HOME``, no terminal prompt, no inherited ``GIT_*``/``SSH_*`` variables):

- ``http.followRedirects=false``; ``GIT_ALLOW_PROTOCOL`` set to the URL's own protocol;
- for ``https://``, the operator's CA bundle (``[server].git_ca_file``) as ``http.sslCAInfo``
  when one is set (the system's otherwise);
- the host resolved once, every address checked (:mod:`oduflow.urlpolicy`) and the connection
  pinned to them (``http.curloptResolve`` for HTTP, ``HostName`` + ``HostKeyAlias`` for SSH);
- credential helpers reset, then only the team's store (``<team dir>/.git-credentials``, 0600)
  and, during a clone, a temporary store with the credentials of the URL being cloned (kept in
  the team's store once the clone succeeded);
- SSH with ``-F /dev/null``, no agent, no default identity: only the team's own key
  (``<team dir>/.ssh/id_ed25519``, ``id_ecdsa`` or ``id_rsa``, when the operator put one there)
  and the team's ``known_hosts`` (new hosts are recorded on first use).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oduflow import urlpolicy
from oduflow.giturl import RepoUrl, check_parsed, parse_repo_url
from oduflow.urlpolicy import Target, UrlPolicy

if TYPE_CHECKING:
    from oduflow.app import App
    from oduflow.config import TeamConfig

SSH_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
CREDENTIALS_FILE = ".git-credentials"


def add_config(env: Mapping[str, str], pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``env`` plus command-scope ``GIT_CONFIG_*`` entries (appended after those already there)."""
    out = dict(env)
    count = int(out.get("GIT_CONFIG_COUNT", "0") or 0)
    for key, value in pairs:
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


def credential_env(credentials_file: Path | None) -> dict[str, str]:
    """Environment that makes git read the team's credential store (if any)."""
    if credentials_file is None or not credentials_file.is_file():
        return {}
    return add_config({}, [("credential.helper", _read_only_helper(credentials_file))])


def _store_helper(path: Path) -> str:
    return f"store --file={shlex.quote(str(path))}"


def _read_only_helper(path: Path) -> str:
    """A helper that answers ``get`` from the store at ``path`` and ignores ``store``/``erase``.

    Git erases a credential the server refused from every helper it asked: a wrong password in
    one URL would otherwise delete the team's good stored credential for that host. Only
    Oduflow writes the team's store (:func:`store_credentials`, :func:`remove_credentials`).
    """
    quoted = shlex.quote(f"--file={path}")
    return f'!f() {{ if [ "$1" = get ]; then git credential-store {quoted} get; fi; }}; f'


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` by a 0600 file holding ``text`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def store_credentials(credentials_file: Path, url: str) -> bool:
    """Keep the credentials of ``url`` in a git credential store file (mode 0600).

    A user and token (``user:token@``) or a token alone (``TOKEN@``, kept as user ``TOKEN``
    with an empty password, which is what git sends for it). They replace what the store held
    for the same scheme, host and port. Returns False when the URL carries no credentials or
    the store already has exactly these.
    """
    repo = parse_repo_url(url)
    line = repo.store_line()
    if line is None:
        return False
    existing = credentials_file.read_text().splitlines() if credentials_file.exists() else []
    if line in existing:
        return False
    prefix = f"{repo.scheme}://"
    suffix = f"@{repo.netloc()}"
    kept = [x for x in existing if x and not (x.startswith(prefix) and x.endswith(suffix))]
    write_private(credentials_file, "\n".join([line, *kept]) + "\n")
    return True


def remove_credentials(credentials_file: Path, line: str) -> bool:
    """Remove the line ``line`` from a git credential store file; False when it was not there."""
    existing = credentials_file.read_text().splitlines() if credentials_file.is_file() else []
    if line not in existing:
        return False
    write_private(credentials_file, "".join(f"{x}\n" for x in existing if x != line))
    return True


@dataclass(frozen=True)
class GitAccess:
    """The URL policy and the credentials of one team's git runs."""

    policy: UrlPolicy
    team_dir: Path
    ca_file: str = ""
    """The operator's CA bundle for ``https://`` (``[server].git_ca_file``); empty: the system's."""

    @property
    def credentials_file(self) -> Path:
        return self.team_dir / CREDENTIALS_FILE

    @property
    def ssh_dir(self) -> Path:
        return self.team_dir / ".ssh"

    def ssh_key(self) -> Path | None:
        """The team's own SSH key, when the operator stored one in ``<team dir>/.ssh``."""
        for name in SSH_KEY_NAMES:
            path = self.ssh_dir / name
            if path.is_file() and not path.is_symlink():
                return path
        return None

    def ssh_command(self, target: Target | None) -> str:
        """``GIT_SSH_COMMAND``: no configuration file, agent or default key; pinned to ``target``."""
        self.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = self.ssh_key()
        options = {
            "BatchMode": "yes",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "IdentityFile": f'"{key}"' if key else "none",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "UserKnownHostsFile": f'"{self.ssh_dir / "known_hosts"}"',
            "StrictHostKeyChecking": "accept-new",
            "UpdateHostKeys": "no",
            "ProxyCommand": "none",
            "ProxyJump": "none",
            "ControlMaster": "no",
            "ControlPath": "none",
            "PermitLocalCommand": "no",
            "ForwardAgent": "no",
            "ForwardX11": "no",
            "ClearAllForwardings": "yes",
            "CanonicalizeHostname": "no",
            "ConnectTimeout": "30",
        }
        if target is not None and target.addresses:
            options |= {"HostName": target.addresses[0], "HostKeyAlias": target.host, "CheckHostIP": "no"}
        return shlex.join(["ssh", "-F", os.devnull, *(f"-o{k}={v}" for k, v in options.items())])

    def remote_env(
        self, repo: RepoUrl, target: Target | None, base: Mapping[str, str], stores: Sequence[Path]
    ) -> dict[str, str]:
        """``base`` plus what a git run talking to ``repo`` needs (see the module docstring)."""
        pairs = [("http.followRedirects", "false"), ("credential.helper", "")]
        pairs += [
            ("credential.helper", _read_only_helper(p) if p == self.credentials_file else _store_helper(p))
            for p in stores
            if p.is_file()
        ]
        if self.ca_file and repo.scheme == "https":
            pairs.append(("http.sslCAInfo", self.ca_file))
        pairs.append(("http.curloptResolve", ""))
        if target is not None and target.addresses and urlpolicy.parse_ip(target.host) is None:
            addresses = ",".join(f"[{a}]" if ":" in a else a for a in target.addresses)
            pairs.append(("http.curloptResolve", f"{target.host}:{target.port}:{addresses}"))
        env = add_config(base, pairs)
        env["GIT_ALLOW_PROTOCOL"] = repo.scheme
        if repo.scheme == "ssh":
            env["GIT_SSH_COMMAND"] = self.ssh_command(target)
            env["GIT_SSH_VARIANT"] = "ssh"
        return env

    @contextlib.contextmanager
    def session(self, repo: RepoUrl, base: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
        """The environment of git runs talking to ``repo``: checked and pinned once for all of them.

        The credentials ``repo`` carries are offered first, from a temporary store that is
        removed afterwards (:meth:`keep_credentials` adds them to the team's store).
        """
        target = check_parsed(repo, self.policy, resolve=True)
        line = repo.store_line()
        temp: Path | None = None
        try:
            if line is not None:
                self.team_dir.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(prefix=".git-credentials.", suffix=".new", dir=self.team_dir)
                temp = Path(name)
                with os.fdopen(fd, "w") as fh:
                    fh.write(line + "\n")
            stores = [p for p in (temp, self.credentials_file) if p is not None]
            yield self.remote_env(repo, target, base or {}, stores)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)

    def keep_credentials(self, repo: RepoUrl) -> bool:
        """Add the credentials of ``repo`` (if any) to the team's store; see :func:`store_credentials`."""
        return repo.credentials is not None and store_credentials(self.credentials_file, repo.url)


def team_access(app: App, team: TeamConfig) -> GitAccess:
    """The :class:`GitAccess` of ``team``: ``app``'s policy, the team's directory and the CA bundle."""
    return GitAccess(urlpolicy.for_app(app), app.team_dir(team.id), app.config.server.git_ca_file)
