"""Team resolution and authentication shared by the HTTP surfaces.

Order (reference "Team Resolution"): bearer token, ``Host`` header, single team, team "1".
A request that resolves to a team with an ``auth_token`` must carry that token.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from oduflow.config import Config, TeamConfig
from oduflow.errors import AuthError


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _token_team(config: Config, token: str) -> TeamConfig | None:
    found = None
    for team in config.teams.values():
        # compare every token (constant time each) so timing does not reveal which matched
        if team.auth_token and hmac.compare_digest(team.auth_token.encode(), token.encode()):
            found = team
    return found


def _host_team(config: Config, host: str | None) -> TeamConfig | None:
    if not host:
        return None
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.strip("[]").lower()
    for team in config.teams.values():
        if team.hostname.lower() == hostname:
            return team
    return None


def host_team(config: Config, host: str | None) -> TeamConfig | None:
    """The team a request without a token is for: its ``Host`` header, else the only team,
    else team "1" (``None`` when there is none of these)."""
    team = _host_team(config, host)
    if team is None and len(config.teams) == 1:
        team = next(iter(config.teams.values()))
    return team if team is not None else config.teams.get("1")


def resolve_team(config: Config, headers: Mapping[str, str]) -> TeamConfig:
    """The caller's team, or :class:`AuthError` when its token is missing or wrong."""
    token = bearer_token(headers)
    if token is not None:
        team = _token_team(config, token)
        if team is None:
            raise AuthError("invalid bearer token")
        return team
    team = host_team(config, headers.get("host"))
    if team is None:
        raise AuthError("cannot tell which team this request is for: send the team's bearer token")
    if team.auth_token:
        raise AuthError(f"team {team.id} requires a bearer token (Authorization: Bearer <token>)")
    return team
