"""The session guard in tests/conftest.py: what counts as a leftover (its Docker path runs every session)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _conftest() -> ModuleType:
    # Loaded by path: importing "conftest" by name depends on pytest's import mode.
    spec = importlib.util.spec_from_file_location(
        "oduflow_tests_conftest", Path(__file__).parents[1] / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


guard = _conftest()


def test_only_new_resources_are_leftovers() -> None:
    before = guard.Snapshot(docker=frozenset({"container old (1)"}), mounts=frozenset({"mount /a"}))
    after = guard.Snapshot(
        docker=frozenset({"container old (1)", "volume oduflowtest-x"}), mounts=frozenset({"mount /b"})
    )
    assert guard.leftovers(before, after) == ["mount /b", "volume oduflowtest-x"]


def test_a_part_unknown_on_either_side_is_skipped() -> None:
    before = guard.Snapshot(docker=None, mounts=frozenset())
    after = guard.Snapshot(docker=frozenset({"container c (2)"}), mounts=frozenset({"mount /m"}))
    assert guard.leftovers(before, after) == ["mount /m"]
    assert guard.leftovers(after, guard.Snapshot(docker=None, mounts=None)) == []


def test_fuse_mounts_parses_the_mounts_table() -> None:
    table = (
        "proc /proc proc rw 0 0\n"
        "fuse-overlayfs /tmp/pytest-of-root/env\\040one fuse.fuse-overlayfs rw,nodev 0 0\n"
        "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
    )
    assert guard.fuse_mounts(table) == {"mount /tmp/pytest-of-root/env one"}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"oduflow.test": "true"}, True),
        ({"oduflow.instance": "oduflowtest-42"}, True),
        ({"oduflow.instance": "prod", "oduflow.managed": "true"}, False),
        (None, False),
    ],
)
def test_is_test_resource(labels: dict[str, str] | None, expected: bool) -> None:
    assert guard.is_test_resource(labels) is expected


def test_directory_tier_is_applied(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None


def test_unlabelled_volumes_and_dangling_images_are_leftovers_too() -> None:
    before = guard.Snapshot(
        docker=frozenset(), mounts=frozenset(), unlabelled=frozenset({"volume aa (no labels)"})
    )
    after = guard.Snapshot(
        docker=frozenset(),
        mounts=frozenset(),
        unlabelled=frozenset({"volume aa (no labels)", "volume bb (no labels)", "dangling image sha256:1"}),
    )
    assert guard.leftovers(before, after) == ["dangling image sha256:1", "volume bb (no labels)"]
    # taken before the engine answered (or with an older snapshot): that part is skipped
    assert guard.leftovers(guard.Snapshot(docker=frozenset(), mounts=frozenset()), after) == []


def test_unlabelled_resources_keep_only_volumes_without_labels() -> None:
    volumes = [
        {"Name": "a" * 64, "Labels": None},
        {"Name": "b" * 64, "Labels": {}},
        {"Name": "oduflowtest-x-db-data", "Labels": {"oduflow.instance": "oduflowtest-x"}},
        {"Name": "someone-elses", "Labels": {"com.example": "1"}},
    ]
    images = [{"Id": "sha256:dead"}]
    assert guard.unlabelled_resources(volumes, images) == {
        f"volume {'a' * 64} (no labels)",
        f"volume {'b' * 64} (no labels)",
        "dangling image sha256:dead",
    }
    assert guard.unlabelled_resources([], []) == frozenset()
