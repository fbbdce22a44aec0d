"""The pure part of tests/fixtures/engine.py: comparing two snapshots of the engine."""

from __future__ import annotations

from tests.fixtures.engine import EngineCounts


def test_new_since_keeps_only_what_appeared() -> None:
    before = EngineCounts(volumes=frozenset({"v1", "v2"}), dangling_images=frozenset({"sha256:a"}))
    after = EngineCounts(volumes=frozenset({"v2", "v3"}), dangling_images=frozenset({"sha256:a", "sha256:b"}))
    new = after.new_since(before)
    assert new == EngineCounts(volumes=frozenset({"v3"}), dangling_images=frozenset({"sha256:b"}))
    assert new.describe() == ["dangling image sha256:b", "volume v3"]
    assert before.new_since(before).describe() == []
