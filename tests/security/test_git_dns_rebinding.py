"""Attack: DNS rebinding. A name answers an allowed address to the policy check and an internal
one to the connection that follows. Oduflow resolves once, checks, and pins git's connection to
the checked address: the internal server never sees a request.

The attacker's DNS is a real DNS server (``RebindingDns``); the probe runs in a private mount
namespace whose ``/etc/resolv.conf`` names it (the host's resolver configuration is untouched).
Names that resolve to internal addresses outright are refused too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.security.netservers import GitHttpServer, RebindingDns, in_rebinding_namespace, make_bare_repo

NAME = "rebind.oduflow.test"


def probe(kind: str, url: str, dns: RebindingDns, tmp: Path) -> dict[str, object]:
    argv = [sys.executable, "-m", "tests.security.rebind_probe", kind, url, str(tmp / "team")]
    out = in_rebinding_namespace(argv, dns, tmp)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, out
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def test_git_connects_to_the_checked_address_only(tmp_path: Path) -> None:
    make_bare_repo(tmp_path)
    with (
        GitHttpServer(root=tmp_path) as good,
        GitHttpServer(host="127.0.0.2", port=good.port, root=tmp_path) as evil,
    ):
        url = f"http://{NAME}:{good.port}/repo.git"
        dns = RebindingDns(NAME, first="127.0.0.1", later="127.0.0.2").start()
        try:
            assert probe("naive-git", url, dns, tmp_path) == {"rc": 0}  # the control: rebinding works
            assert evil.requests and dns.answers[:2] == ["127.0.0.1", "127.0.0.2"]
            evil.requests.clear()
            good.requests.clear()
            dns.answers.clear()

            assert probe("git", url, dns, tmp_path) == {"found": True}
        finally:
            dns.stop()
        assert dns.answers == ["127.0.0.1"], "resolved once"
        assert good.requests and not evil.requests
        assert all(r.headers.get("Host") == f"{NAME}:{good.port}" for r in good.requests)


def test_a_name_resolving_to_an_internal_address_is_refused(tmp_path: Path) -> None:
    make_bare_repo(tmp_path)
    with GitHttpServer(host="127.0.0.2", root=tmp_path) as internal:
        dns = RebindingDns(NAME, first="127.0.0.2", later="127.0.0.2").start()
        try:
            result = probe("git", f"http://{NAME}:{internal.port}/repo.git", dns, tmp_path)
        finally:
            dns.stop()
    assert "ValidationError" in str(result.get("error")) and "loopback" in str(result["error"])
    assert not internal.requests
