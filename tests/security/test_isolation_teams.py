"""Attacks between teams whose ids are prefixes of each other (``a`` and ``a-b``).

Earlier versions named containers ``{prefix}-{team}-{slug}-odoo`` and Traefik routers
``{prefix}-{team}-{slug}``: team ``a``'s branch ``b-x`` and team ``a-b``'s branch ``x`` shared them,
so one team could take (or delete) the other's environment. Names now join their parts with
separators no part can hold. And one team running as many slow operations as it likes cannot
starve the other: each team has its own number of concurrent operations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from oduflow import catalog
from oduflow.app import App
from oduflow.config import load
from oduflow.errors import BusyError
from oduflow.services import system
from tests.fixtures.instance import GitRemote, Instance, make_remote

TEAMS = (
    "[team.a]\nport_range = [56100, 56150]\n"
    '[team.a-b]\nhostname = "ab.localhost"\nport_range = [56150, 56200]\n'
)
LIMIT = 2


@dataclass
class Teams:
    app: App
    remote: GitRemote

    def call(self, team: str, tool: str, **args: Any) -> Any:
        return catalog.invoke(self.app, self.app.config.team(team), tool, args)

    def container(self, team: str, branch: str) -> Any:
        info = self.call(team, "get_environment_info", branch_name=branch)
        return self.app.docker().containers.get(info["container"])


def _create(teams: Teams, team: str, branch: str, image: str) -> None:
    teams.call(team, "create_environment", branch_name=branch, template_name="none",
               repo_url=teams.remote.url, odoo_image=image)  # fmt: skip


@pytest.fixture(scope="module")
def teams(instance: Instance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Teams]:
    """Teams ``a`` (branches ``b-x``, ``b-y``) and ``a-b`` (branch ``x``) on the session's instance."""
    path = instance.write_config("isolation-teams.toml", teams=TEAMS)
    path.write_text(path.read_text().replace("[limits]\n", f"[limits]\nmax_concurrent_per_team = {LIMIT}\n"))
    app = App(load(path))
    for team in app.config.teams.values():
        system.ensure_team_dirs(app, team, system.Report())
    made = Teams(app, make_remote(tmp_path_factory.mktemp("isolation"), "demo_ok"))
    try:
        for team, branch in (("a", "b-x"), ("a-b", "x"), ("a", "b-y")):
            _create(made, team, branch, instance.odoo_image)
        yield made
    finally:
        for rec in app.store.list_envs():
            if rec.team in app.config.teams:
                made.call(rec.team, "delete_environment", branch_name=rec.branch)


def health(teams: Teams, team: str, branch: str) -> int:
    answer = teams.call(team, "http_request_to_odoo", branch_name=branch, path="/web/health")
    return int(answer["status"])


def test_teams_a_and_a_b_keep_environments_of_their_own(teams: Teams) -> None:
    a, ab = teams.container("a", "b-x"), teams.container("a-b", "x")
    assert a.id != ab.id and a.name != ab.name
    assert (a.labels["oduflow.team"], a.labels["oduflow.env"]) == ("a", "b-x")
    assert (ab.labels["oduflow.team"], ab.labels["oduflow.env"]) == ("a-b", "x")
    assert a.status == ab.status == "running"
    info_a = teams.call("a", "get_environment_info", branch_name="b-x")
    info_ab = teams.call("a-b", "get_environment_info", branch_name="x")
    assert info_a["db_name"] != info_ab["db_name"] and info_a["url"] != info_ab["url"]
    assert health(teams, "a", "b-x") == health(teams, "a-b", "x") == 200
    # each team's own branch only: the other team's name of the same shape is not reachable
    with pytest.raises(Exception, match="no environment for branch 'x'"):
        teams.call("a", "get_environment_info", branch_name="x")


def test_deleting_one_leaves_the_other_running(teams: Teams, instance: Instance) -> None:
    _create(teams, "a", "gone-x", instance.odoo_image)
    _create(teams, "a-b", "x-gone", instance.odoo_image)  # not the same shape: a control
    teams.call("a", "delete_environment", branch_name="gone-x")
    assert teams.container("a-b", "x-gone").status == "running"
    teams.call("a-b", "delete_environment", branch_name="x-gone")
    # the pair that shared a name before: removing team a's b-x must not touch a-b's x
    before = teams.container("a-b", "x")
    teams.call("a", "stop_environment", branch_name="b-x")
    try:
        teams.container("a-b", "x").reload()
        assert teams.container("a-b", "x").status == "running" and before.id == teams.container("a-b", "x").id
        assert health(teams, "a-b", "x") == 200
    finally:
        teams.call("a", "start_environment", branch_name="b-x")


def sleeping(container: Any) -> bool:
    """Whether the slow command runs in ``container`` (seen from the engine, not through a tool)."""
    return any("sleep 8" in p[-1] for p in container.top().get("Processes") or [])


def test_one_team_at_its_limit_does_not_hold_the_other(teams: Teams) -> None:
    """Team ``a`` runs as many slow commands as it may; its next call is refused at once and team
    ``a-b``'s calls are served meanwhile."""
    containers = [teams.container("a", b) for b in ("b-x", "b-y")]

    def slow(branch: str) -> Any:
        return teams.call("a", "run_odoo_command", branch_name=branch, command="sleep 8; echo done")

    with ThreadPoolExecutor(LIMIT) as pool:
        futures: list[Future[Any]] = [pool.submit(slow, b) for b in ("b-x", "b-y")]
        deadline = time.monotonic() + 30
        while not all(sleeping(c) for c in containers) and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(BusyError) as refused:
            teams.call("a", "list_environments")
        listed = teams.call("a-b", "list_environments")
        served_while_busy = not any(f.done() for f in futures)
        results = [f.result(timeout=120) for f in futures]
    assert "team 'a' already runs 2 operation(s) (run_odoo_command, run_odoo_command)" in str(refused.value)
    assert [e["branch"] for e in listed] == ["x"]
    assert served_while_busy, "team a-b was served only after team a's commands ended"
    assert [r["stdout"].strip() for r in results] == ["done", "done"]
    assert teams.call("a", "list_environments")  # the slots came back
