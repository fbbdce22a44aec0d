"""Repository authentication tools: ``setup_repo_auth`` and the stored credentials' list,
delete and validate (the REST "Credentials" table and the dashboard's panel).

All four are agent tools: a team's token holders are trusted within their team, and every tool
works on the caller's team's store only (another team's credentials can be neither listed,
used, validated nor deleted), never returning a secret.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from oduflow.results import CredentialInfo, CredentialSetup, CredentialValidation
from oduflow.services import credentials
from oduflow.toolspec import Call, tool

Host = Annotated[
    str, Field(description="Host of the credential as listed, e.g. 'github.com' or 'git.example:8443'.")
]
Username = Annotated[str, Field(description="User name as list_repo_credentials shows it.")]


@tool(lock="team", title="Store git credentials", idempotent=True, open_world=True)
def setup_repo_auth(
    call: Call,
    repo_url: Annotated[
        str,
        Field(
            description="https:// URL of a private repository with credentials: "
            "https://USER:TOKEN@host/owner/repo.git, or https://TOKEN@host/owner/repo.git."
        ),
    ],
) -> CredentialSetup:
    """Cache git credentials for a private repository (your team's credential store).

    The credentials are checked first with ``git ls-remote`` on that repository: wrong ones
    are refused and nothing is stored. Once stored, create_environment, pull_and_apply and the
    extra repositories of your team use them for that host: pass the clean URL (without
    credentials) from then on. Nothing shows the token again (``ghp_****``).

    Returns ``host``, ``username``, the masked ``token``, the clean ``repository`` and
    ``changed`` (false when exactly these credentials were stored already).
    """
    return credentials.setup_repo_auth(call.app, call.team, repo_url)


@tool(title="List stored git credentials", read_only=True, idempotent=True)
def list_repo_credentials(call: Call) -> list[CredentialInfo]:
    """List your team's stored git credentials.

    Returns one entry per credential: ``host``, ``username`` and the masked ``token`` (a token
    given as the user name is listed masked in ``username`` too), never the secret.
    """
    return credentials.list_credentials(call.app, call.team)


@tool(lock="team", title="Delete a stored git credential", destructive=True)
def delete_repo_credential(call: Call, host: Host, username: Username) -> CredentialInfo:
    """Delete one of your team's stored git credentials (``host`` and ``username`` as listed).

    Returns the credential removed (masked).
    """
    return credentials.delete_credential(call.app, call.team, host, username)


@tool(title="Validate a stored git credential", read_only=True, open_world=True)
def validate_repo_credential(call: Call, host: Host, username: Username) -> CredentialValidation:
    """Check one of your team's stored git credentials with ``git ls-remote`` on the repository
    it was set up with.

    Returns ``status``: ``valid``, ``invalid`` (the repository refused it) or ``unchecked``
    (no repository recorded: the credential was kept by a clone, not by setup_repo_auth).
    """
    return credentials.validate_credential(call.app, call.team, host, username)
