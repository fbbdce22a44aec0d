"""Suite-wide hooks: tier markers by directory, and the guard against leftovers.

The guard takes a snapshot of the test resources when the session starts and fails the run when
new ones are still there at its end: Docker containers, networks and volumes labelled
``oduflow.test=true`` or whose ``oduflow.instance`` label starts with ``oduflowtest``,
fuse-overlayfs and loop mounts, and what labels do not show: volumes without labels (the anonymous volumes
of containers removed without ``v=True``) and dangling images (commits of failed builds).
Databases are not checked here: the fixture that owns the PostgreSQL server answers for them.
``ODUFLOW_TEST_GUARD=0`` turns the guard off (e.g. while another suite shares the engine: the
unlabelled part cannot tell sessions apart); ``bash .ci/run --cleanup-only`` removes labelled
leftovers. Which test left an unlabelled one: ``tests/fixtures/engine.py``.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = [
    "tests.fixtures.instance",
    "tests.fixtures.engine",
    "tests.fixtures.xfs",
    "tests.fixtures.cow",
    "tests.images.fixtures",
]

TEST_PREFIX = os.environ.get("ODUFLOW_TEST_PREFIX", "oduflowtest")
TIERS = ("unit", "docker", "e2e", "security", "browser")
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
    unlabelled: frozenset[str] | None = None
    """Volumes without labels and dangling images: they carry no test label to recognise them by."""


def leftovers(before: Snapshot, after: Snapshot) -> list[str]:
    """What `after` holds that `before` did not (a part unknown on either side is skipped)."""
    new: set[str] = set()
    pairs = (
        (before.docker, after.docker),
        (before.mounts, after.mounts),
        (before.unlabelled, after.unlabelled),
    )
    for old, now in pairs:
        if old is not None and now is not None:
            new |= now - old
    return sorted(new)


def is_test_resource(labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return labels.get("oduflow.test") == "true" or labels.get("oduflow.instance", "").startswith(TEST_PREFIX)


def unlabelled_resources(
    volumes: list[dict[str, Any]], dangling_images: list[dict[str, Any]]
) -> frozenset[str]:
    """``volume NAME (no labels)`` and ``dangling image ID`` lines of the engine's answers."""
    found = {f"volume {v['Name']} (no labels)" for v in volumes if not v.get("Labels")}
    return frozenset(found | {f"dangling image {i['Id']}" for i in dangling_images})


def docker_resources(
    unused_only: bool = False,
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(test containers, networks and volumes; unlabelled volumes and dangling images) on the
    engine; (None, None) when no engine answers. ``unused_only``: only the unlabelled volumes no
    container uses (at the end of the session: one in use belongs to a container still there,
    which is reported itself when it is a test's)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return None, None
    try:
        client = docker.from_env(timeout=15)
    except (DockerException, OSError):
        return None, None
    try:
        api = client.api
        volumes = api.volumes().get("Volumes") or []
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
        found |= {f"volume {v['Name']}" for v in volumes if is_test_resource(v.get("Labels"))}
        unlabelled = unlabelled_resources(
            api.volumes(filters={"dangling": True}).get("Volumes") or [] if unused_only else volumes,
            api.images(filters={"dangling": True}),
        )
        return frozenset(found), unlabelled
    except (DockerException, OSError):
        return None, None
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


def loop_mounts(mounts_table: str) -> frozenset[str]:
    """Mount points of loop devices (the XFS image files of tests/fixtures/xfs.py) in a mounts text."""
    found = set()
    for line in mounts_table.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0].startswith("/dev/loop"):
            found.add("loop mount " + re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1]))
    return frozenset(found)


def take_snapshot(final: bool = False) -> Snapshot:
    """The test resources now; ``final`` (the session's end) leaves out volumes still in use."""
    try:
        table = Path("/proc/self/mounts").read_text()
        mounts: frozenset[str] | None = fuse_mounts(table) | loop_mounts(table)
    except OSError:
        mounts = None
    labelled, unlabelled = docker_resources(unused_only=final)
    return Snapshot(docker=labelled, mounts=mounts, unlabelled=unlabelled)


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
    left = leftovers(start, take_snapshot(final=True))
    if not left:
        return
    lines = [
        *(f"  {item}" for item in left),
        "Each test must remove what it made; `bash .ci/run --cleanup-only` clears labelled ones.",
        "A volume without labels is what a container removed without its volumes (v=True) left;",
        "a dangling image, what a failed dependency build committed (tests/fixtures/engine.py finds",
        "which test).",
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
