"""Suite-wide hooks: tier markers by directory, and the guard against leftovers.

The guard takes a snapshot of the test resources when the session starts and fails the run when
new ones are still there at its end: Docker containers, networks and volumes labelled
``oduflow.test=true`` or whose ``oduflow.instance`` label starts with ``oduflowtest``, and
fuse-overlayfs mounts. Databases are not checked here: the fixture that owns the PostgreSQL server
answers for them. ``ODUFLOW_TEST_GUARD=0`` turns the guard off (e.g. while another suite shares
the engine); ``bash .ci/run --cleanup-only`` removes leftovers.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.instance"]

TEST_PREFIX = os.environ.get("ODUFLOW_TEST_PREFIX", "oduflowtest")
TIERS = ("unit", "docker", "e2e")
TESTS_DIR = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the tier of its directory (tests/unit -> unit, ...) unless it has a tier."""
    for item in items:
        try:
            tier = item.path.relative_to(TESTS_DIR).parts[0]
        except ValueError:
            continue
        if tier in TIERS and not any(item.get_closest_marker(t) for t in TIERS):
            item.add_marker(getattr(pytest.mark, tier))


@dataclass(frozen=True)
class Snapshot:
    """Test resources at one moment; a field is None when it could not be looked at."""

    docker: frozenset[str] | None
    mounts: frozenset[str] | None


def leftovers(before: Snapshot, after: Snapshot) -> list[str]:
    """What `after` holds that `before` did not (a part unknown on either side is skipped)."""
    new: set[str] = set()
    for old, now in ((before.docker, after.docker), (before.mounts, after.mounts)):
        if old is not None and now is not None:
            new |= now - old
    return sorted(new)


def is_test_resource(labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return labels.get("oduflow.test") == "true" or labels.get("oduflow.instance", "").startswith(TEST_PREFIX)


def docker_resources() -> frozenset[str] | None:
    """Test containers, networks and volumes on the engine; None when no engine answers."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return None
    try:
        client = docker.from_env(timeout=15)
    except (DockerException, OSError):
        return None
    try:
        api = client.api
        found = {
            f"container {(c.get('Names') or ['?'])[0].lstrip('/')} ({c['Id'][:12]})"
            for c in api.containers(all=True)
            if is_test_resource(c.get("Labels"))
        }
        found |= {
            f"network {n['Name']} ({n['Id'][:12]})"
            for n in api.networks()
            if is_test_resource(n.get("Labels"))
        }
        found |= {
            f"volume {v['Name']}"
            for v in api.volumes().get("Volumes") or []
            if is_test_resource(v.get("Labels"))
        }
        return frozenset(found)
    except (DockerException, OSError):
        return None
    finally:
        client.close()


def fuse_mounts(mounts_table: str) -> frozenset[str]:
    """fuse-overlayfs mount points in a /proc/self/mounts text (octal escapes such as \\040 decoded)."""
    found = set()
    for line in mounts_table.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "fuse.fuse-overlayfs":
            found.add("mount " + re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1]))
    return frozenset(found)


def take_snapshot() -> Snapshot:
    try:
        mounts: frozenset[str] | None = fuse_mounts(Path("/proc/self/mounts").read_text())
    except OSError:
        mounts = None
    return Snapshot(docker=docker_resources(), mounts=mounts)


_START = pytest.StashKey[Snapshot]()


def _guarded(config: pytest.Config) -> bool:
    is_xdist_worker = hasattr(config, "workerinput")
    return os.environ.get("ODUFLOW_TEST_GUARD", "1") != "0" and not is_xdist_worker


def pytest_sessionstart(session: pytest.Session) -> None:
    if _guarded(session.config):
        session.config.stash[_START] = take_snapshot()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when the tests left resources behind (printed before the summary line)."""
    start = session.config.stash.get(_START, None)
    if start is None:
        return
    left = leftovers(start, take_snapshot())
    if not left:
        return
    lines = [
        *(f"  {item}" for item in left),
        "Each test must remove what it made; `bash .ci/run --cleanup-only` clears them.",
    ]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # the progress line may still be open
        reporter.write_sep("=", f"{len(left)} test resource(s) left behind", red=True, bold=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print(f"{len(left)} test resource(s) left behind:", *lines, sep="\n", file=sys.stderr)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
