"""Locks, the SQLite state store and the port registry."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from oduflow.errors import BusyError, ConflictError
from oduflow.locks import LockManager, LockScope
from oduflow.ports import PortRegistry
from oduflow.state import EnvRecord, StateStore


def test_second_operation_on_same_branch_is_busy_and_names_holder(tmp_path: Path) -> None:
    locks = LockManager(tmp_path)
    scope = LockScope.branch("1", "feature")
    with locks.hold(scope, "create_environment"):
        with pytest.raises(BusyError) as err, locks.hold(scope, "delete_environment"):
            pass
        assert "create_environment" in str(err.value) and "since" in str(err.value)
        with locks.hold(LockScope.branch("1", "other"), "x"):
            pass
        with locks.hold(LockScope.branch("2", "feature"), "x"):
            pass
    with locks.hold(scope, "again"):
        pass


def test_lock_holds_across_threads_and_processes(tmp_path: Path) -> None:
    locks = LockManager(tmp_path)
    scope = LockScope.team("1")
    seen: list[str] = []

    def other() -> None:
        try:
            with locks.hold(scope, "thread"):
                seen.append("acquired")
        except BusyError:
            seen.append("busy")

    with locks.hold(scope, "main"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        code = (
            "from oduflow.locks import *; from pathlib import Path\n"
            f"m = LockManager(Path({str(tmp_path)!r}))\n"
            "try:\n  m.hold(LockScope.team('1'), 'p').__enter__(); print('acquired')\n"
            "except Exception as e: print(type(e).__name__)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert seen == ["busy"]
    assert out.stdout.strip() == "BusyError"


def test_state_store_roundtrip_and_unique_slug(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.add_env(EnvRecord(team="1", branch="feat/x", slug="feat-x", params={"a": 1}))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.add_env(EnvRecord(team="1", branch="feat-x", slug="feat-x"))
    store.update_env("1", "feat/x", status="ready", protected=True)
    rec = StateStore(tmp_path / "state.db").get_env("1", "feat/x")
    assert rec is not None and rec.status == "ready" and rec.protected and rec.params == {"a": 1}
    assert store.list_envs("2") == []
    store.put("1", "kind", "n", {"v": 2})
    assert store.get("1", "kind", "n") == {"v": 2} and store.items("1", "kind") == {"n": {"v": 2}}
    assert (tmp_path / "state.db").stat().st_mode & 0o777 == 0o600


def free_run(length: int) -> int:
    """The first port of ``length`` consecutive free ports below the ephemeral range."""
    from oduflow.ports import port_is_free

    for start in range(21000, 32000, 7):
        if all(port_is_free(p) for p in range(start, start + length)):
            return start
    raise AssertionError("no run of free ports")


def test_ports_stable_per_team_and_skip_busy(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    start = free_run(3)
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("0.0.0.0", start))
        busy.listen()
        reg = PortRegistry(store, "1", (start, start + 3))
        first = reg.assign("env:a")
        assert first == start + 1  # start is taken by another process
    assert reg.assign("env:a") == first
    second = reg.assign("env:b")
    assert second == start  # free again now
    assert PortRegistry(StateStore(tmp_path / "s.db"), "1", (start, start + 3)).get("env:a") == first
    other_team = PortRegistry(store, "2", (start, start + 3))
    assert other_team.assign("env:a") == start + 2
    with pytest.raises(ConflictError, match="no free port"):
        reg.assign("env:c")
    reg.release("env:a")
    assert reg.assign("env:c") == first


def test_pop_claims_a_record_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    store.put("1", "db_pool", "spare", {"template": "t"})
    assert store.pop("1", "db_pool", "spare") == {"template": "t"}
    assert store.pop("1", "db_pool", "spare") is None


def test_template_lock_shared_by_creations_exclusive_for_changes(tmp_path: Path) -> None:
    locks = LockManager(tmp_path)
    scope = LockScope.template("1", "default")

    def take(operation: str, shared: bool = False) -> None:
        with locks.hold(scope, operation, shared=shared):
            pass

    busy = pytest.raises(BusyError, match="template 'default' is busy: an environment creation")
    with locks.hold(scope, "create", shared=True), locks.hold(scope, "create", shared=True), busy:
        take("delete_template")
    with locks.hold(scope, "reload_template"), pytest.raises(BusyError, match="reload_template"):
        take("create_environment", shared=True)
