"""Attacks on the shared server's capacity by one team: a fork bomb and a memory hog as root in an
environment, creating environments without end, and taking every host port. Each container has
its process, memory and CPU limits; each team its quota of environments and its own ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.config import parse
from oduflow.errors import ConfigError, ConflictError
from oduflow.plugins import new_plugin_manager
from oduflow.ports import PortRegistry
from oduflow.state import StateStore
from oduflow.testing import bound_config, register_builtins
from tests.docker.failure_checks import serves
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import GitRemote, Instance

FORK_BOMB = """python3 - <<'EOF'
import os, time
started = refused = 0
for _ in range(400):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        time.sleep(8)
        os._exit(0)
    started += 1
print(f"started={started} refused={refused} running={sum(p.isdigit() for p in os.listdir('/proc'))}")
EOF"""


def with_limits(app: App, **limits: int) -> App:
    return App(replace(app.config, limits=replace(app.config.limits, **limits)))


def with_quota(app: App, quota: int) -> App:
    teams = dict(app.config.teams)
    teams[TEAM] = replace(teams[TEAM], max_environments=quota)
    return App(replace(app.config, teams=teams))


def test_fork_bomb_and_memory_hog_stay_inside_their_limits(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    small = with_limits(app, container_pids=120, container_memory_mb=600)
    remote = git_remote("demo_ok")
    branch = "sec-bomb"
    try:
        call(small, "create_environment", branch_name=branch, template_name="none",
             repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
        res = call(small, "run_odoo_command", branch_name=branch, command=FORK_BOMB, user="root")
        counts = dict(item.split("=") for item in res["stdout"].split())
        assert int(counts["refused"]) > 250 and int(counts["started"]) < 120, res  # refused by the kernel
        assert int(counts["running"]) <= 120, res
        hog = 'python3 -c \'b = bytearray(900 << 20); b[::4096] = b"x" * len(b[::4096]); print("alive")\''
        res = call(small, "run_odoo_command", branch_name=branch, command=hog, user="root")
        assert res["exit_code"] != 0 and "alive" not in res["stdout"], res  # killed at 600 MB
        serves(app, branch)  # Odoo itself still serves once the attack is over
    finally:
        delete_if_present(app, branch)


def test_a_team_cannot_create_environments_beyond_its_quota(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    quota = len(app.store.list_envs(TEAM)) + 1
    limited = with_quota(app, quota)
    kw = {"template_name": "none", "repo_url": remote.url, "odoo_image": instance.odoo_image}
    try:
        call(limited, "create_environment", branch_name="sec-quota-1", **kw)
        with pytest.raises(ConflictError) as err:
            call(limited, "create_environment", branch_name="sec-quota-2", **kw)
        assert f"max_environments = {quota}" in str(err.value)
        assert leftovers(app, "sec-quota-2", "sec-quota-2") == []
    finally:
        delete_if_present(app, "sec-quota-1", "sec-quota-2")
    assert with_quota(app, 0).config.team(TEAM).max_environments == 0  # 0: unlimited


def test_a_team_without_port_range_cannot_take_another_teams_ports(tmp_path: Path) -> None:
    cfg = parse({"team": {"a": {}, "b": {}, "c": {"port_range": [50100, 50150]}, "d": {}}})
    ranges = {t.id: t.port_range for t in cfg.teams.values()}
    assert ranges == {"a": (50000, 50100), "b": (50200, 50300), "c": (50100, 50150), "d": (50300, 50400)}
    store = StateStore(tmp_path / "state.db")
    a, b = (PortRegistry(store, t, cfg.team(t).port_range) for t in ("a", "b"))
    taken = []
    for i in range(200):  # team a tries to take as many ports as it can
        try:
            taken.append(a.assign(f"env:{i}"))
        except ConflictError:
            break
    assert taken and all(50000 <= p < 50100 for p in taken)
    assert 50200 <= b.assign("env:x") < 50300  # team b still gets one of its own
    store.close()


def test_overlapping_port_ranges_are_refused() -> None:
    """The port router refuses them when the configuration is bound, as ``App`` binds it."""
    raw = {"team": {"a": {"port_range": [50000, 50100]}, "b": {"port_range": [50050, 50150]}}}
    with pytest.raises(ConfigError, match="overlap"):
        bound_config(register_builtins(new_plugin_manager()), raw)
