"""Run inside the DNS-rebinding namespace (see ``netservers.in_rebinding_namespace``): one remote
access through Oduflow's own code, the operator allowing 127.0.0.1 only. Prints one JSON line.

``python -m tests.security.rebind_probe KIND URL TEAM_DIR`` with KIND:

- ``git``: ``git.remote_has_branch`` (policy check, pinned connection);
- ``import``: the version request of ``import_template_from_odoo``'s client;
- ``naive-git`` / ``naive-import``: the control, what an unpinned client does: the same policy
  check of the name, then a connection that resolves the name again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from oduflow import git
from oduflow.services.odoo_import import Deadline, OdooServer
from oduflow.urlpolicy import UrlPolicy
from tests.security.netservers import CLEAN_GIT_ENV


def main(kind: str, url: str, team_dir: str) -> dict[str, object]:
    policy = UrlPolicy(allowed_hosts=("127.0.0.1",))
    parts = urlsplit(url)
    if kind == "git":
        return {"found": git.remote_has_branch(url, "main", git.GitAccess(policy, Path(team_dir)))}
    if kind == "import":
        return {"version": OdooServer(url, policy, Deadline(30), secrets=[]).version_info()}
    policy.check_host(parts.hostname or "", parts.port or 80)
    if kind == "naive-git":
        env = {"PATH": "/usr/bin:/bin", **CLEAN_GIT_ENV}
        proc = subprocess.run(["git", "ls-remote", url], env=env, capture_output=True, text=True)
        return {"rc": proc.returncode}
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}).encode()
    req = urllib.request.Request(url + "/web/webclient/version_info", data=body)
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the control
        return {"version": json.loads(resp.read())["result"]}


if __name__ == "__main__":
    try:
        print(json.dumps(main(*sys.argv[1:4])))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
