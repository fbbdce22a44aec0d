"""One address policy for every server Oduflow connects to on an agent's behalf.

It covers repository URLs (git) and the Odoo servers a template is imported from. A host is
resolved once; every address it resolves to must pass, and the caller then pins its connection
to the checked addresses (so a DNS answer that changes between the check and the connection,
"DNS rebinding", cannot move it). Refused unless the operator allows them:

- loopback, unspecified, link-local, multicast, private (RFC 1918, ULA ``fc00::/7``), shared
  (CGNAT ``100.64.0.0/10``), reserved and documentation ranges, IPv6 forms embedding one of
  those (``::ffff:127.0.0.1``, 6to4, NAT64, Teredo), in any spelling (``127.1``,
  ``2130706433``, ``0x7f000001``, ``0177.0.0.1``);
- the subnets and gateways of the Docker engine's networks and the host's own addresses, even
  inside a range the operator allows, unless an ``allowed_hosts`` entry names them precisely.

``[server].allow_local_repos = true`` lifts every address check (a single-user machine);
``[server].allowed_hosts`` lists the host names, addresses and CIDRs the operator trusts
(their addresses pass, and plaintext ``http://`` is accepted for them).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from oduflow.errors import ConfigError, ExternalCommandError, PrerequisiteNotMetError, ValidationError

if TYPE_CHECKING:
    from oduflow.app import App

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_NAME = re.compile(r"(?=.{1,253}\Z)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?")
_NUMERIC_V4 = re.compile(r"[0-9a-fA-FxX.]+")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPAT = ipaddress.ip_network("::/96")
ALLOW_HINT = "; the operator can allow it with [server].allowed_hosts (or allow_local_repos) in oduflow.toml"


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an IP address in any spelling git, curl and urllib accept, else None.

    Brackets and an IPv6 zone are removed; IPv4 shorthands (``127.1``, ``2130706433``,
    ``0x7f000001``, octal ``0177.0.0.1``) are read the way ``inet_aton`` reads them.
    """
    host = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_V4.fullmatch(host) or host.endswith("."):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, IPv4-compatible)."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)
    if any(ip in net for net in _NAT64) or (ip in _V4_COMPAT and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def address_class(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (``"loopback"``, ``"private"``...), or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("private", ip.is_private),
        ("reserved", not ip.is_global or ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in _embedded_v4(ip):
            reason = address_class(inner)
            if reason:
                return f"{reason} (embedded IPv4 {inner})"
    return None


def parse_allowed(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Split ``allowed_hosts`` into host names and networks; raises ValueError for a bad entry."""
    names: set[str] = set()
    nets: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower()
        ip = parse_ip(entry) if "/" not in entry else None
        if ip is not None:
            nets.append(ipaddress.ip_network(ip))
            continue
        if "/" in entry:
            nets.append(ipaddress.ip_network(entry, strict=False))
        elif _HOST_NAME.fullmatch(entry):
            names.add(entry.rstrip("."))
        else:
            raise ValueError(raw)
    return frozenset(names), tuple(nets)


def check_allowed_hosts(entries: Sequence[str], where: str) -> None:
    """Raise :class:`ConfigError` unless every ``allowed_hosts`` entry is a name, address or CIDR."""
    for entry in entries:
        try:
            parse_allowed([entry])
        except ValueError:
            raise ConfigError(
                f"{where} [server]: key 'allowed_hosts' expects host names, IP addresses or "
                f"CIDR networks, got {entry!r}"
            ) from None


@dataclass(frozen=True)
class Target:
    """A host that passed the policy, with the addresses its connection must be pinned to."""

    host: str
    port: int
    addresses: tuple[str, ...]
    """Empty when the policy restricts nothing (``allow_local_repos``): the client resolves."""
    trusted: bool
    """The operator allows this host explicitly (or every host): plaintext is accepted."""


@dataclass(frozen=True)
class UrlPolicy:
    """The operator's rules for the hosts an agent's URLs may reach."""

    allow_local: bool = False
    allowed_hosts: tuple[str, ...] = ()
    blocked: tuple[IPNetwork, ...] = ()
    """Networks refused even inside an allowed range: Docker networks, the host's own addresses."""
    _allowed: tuple[frozenset[str], tuple[IPNetwork, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", parse_allowed(self.allowed_hosts))

    def name_allowed(self, host: str) -> bool:
        """Whether the operator lists the host name ``host`` itself."""
        return host.lower().rstrip(".") in self._allowed[0]

    def refusal(self, ip: IPAddress) -> str | None:
        """Why a connection to ``ip`` is refused, or None when it is allowed."""
        if self.allow_local:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        matches = [n for n in self._allowed[1] if n.version == ip.version and ip in n]
        for net in self.blocked:
            inside = net.version == ip.version and ip in net
            if inside and not any(m.subnet_of(net) for m in matches):  # type: ignore[arg-type]
                return "an address of the Docker engine's networks or of this host"
        return None if matches else address_class(ip)

    def ip_trusted(self, ip: IPAddress) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return self.allow_local or any(n.version == ip.version and ip in n for n in self._allowed[1])

    def check_host(self, host: str, port: int, *, resolve: bool = True) -> Target:
        """Check ``host`` (and every address it resolves to); raise :class:`ValidationError`.

        With ``resolve=False`` a name that does not resolve is accepted (an early check before
        any work; the connection itself checks again and pins).
        """
        host = host.strip("[]").lower()
        ip = parse_ip(host)
        if ip is None and not _HOST_NAME.fullmatch(host):
            raise ValidationError(f"invalid host name {host!r}")
        if ip is not None:
            reason = self.refusal(ip)
            if reason:
                raise ValidationError(f"host {host!r} is {_article(reason)}{ALLOW_HINT}")
            return Target(host, port, (str(ip),) if not self.allow_local else (), self.ip_trusted(ip))
        if self.allow_local:
            return Target(host, port, (), True)
        named = self.name_allowed(host)
        bare = host.rstrip(".")
        if not named and (bare == "localhost" or bare.endswith(".localhost")):  # curl: always loopback
            raise ValidationError(f"host {host!r} is a loopback address{ALLOW_HINT}")
        try:
            addresses = resolve_host(host, port)
        except ExternalCommandError:
            if resolve:
                raise
            return Target(host, port, (), named)
        parsed = [ipaddress.ip_address(a) for a in addresses]
        if not named:
            for addr in parsed:
                reason = self.refusal(addr)
                if reason:
                    raise ValidationError(f"host {host!r} resolves to {_article(reason)}{ALLOW_HINT}")
        return Target(host, port, addresses, named or all(self.ip_trusted(a) for a in parsed))


def _article(reason: str) -> str:
    if reason.startswith("an "):
        return reason
    return f"an {reason} address" if reason[0] in "aeiou" else f"a {reason} address"


def resolve_host(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to (TCP), in resolver order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ExternalCommandError(
            f"cannot resolve host {host!r}", command=f"resolve {host}", output=str(exc)
        ) from None
    out: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in out:
            out.append(address)
    if not out:
        raise ExternalCommandError(f"host {host!r} has no address", command=f"resolve {host}")
    return tuple(out)


def docker_networks(client: object) -> tuple[IPNetwork, ...]:
    """Subnets and gateways of every network of the Docker engine."""
    try:
        networks = client.networks.list()  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any engine failure means: cannot check
        raise PrerequisiteNotMetError(f"cannot list the Docker networks to check a URL: {exc}") from None
    out: list[IPNetwork] = []
    for net in networks:
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            for key in ("Subnet", "IPRange", "Gateway"):
                value = (cfg or {}).get(key)
                if value:
                    try:
                        out.append(ipaddress.ip_network(value, strict=False))
                    except ValueError:
                        continue
    return tuple(out)


def host_addresses(proc: Path = Path("/proc/net")) -> tuple[IPNetwork, ...]:
    """The addresses of this host's own interfaces (Linux ``/proc/net``; empty elsewhere)."""
    out: list[IPNetwork] = []
    try:
        lines = (proc / "fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for previous, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL":
            address = previous.strip().lstrip("|-+ ").strip()
            try:
                out.append(ipaddress.ip_network(address))
            except ValueError:
                continue
    try:
        v6 = (proc / "if_inet6").read_text().split()
    except OSError:
        v6 = []
    for word in v6:
        if len(word) == 32:
            out.append(ipaddress.ip_network(ipaddress.IPv6Address(int(word, 16))))
    return tuple(dict.fromkeys(out))


def for_app(app: App) -> UrlPolicy:
    """The policy of ``app``'s configuration, with the engine's networks and the host's addresses."""
    server = app.config.server
    if server.allow_local_repos:
        return UrlPolicy(allow_local=True, allowed_hosts=server.allowed_hosts)
    blocked = (*docker_networks(app.docker()), *host_addresses())
    return UrlPolicy(allowed_hosts=server.allowed_hosts, blocked=blocked)
