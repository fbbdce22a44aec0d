"""Filesystem helpers: ownership changes never follow links out of the tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oduflow.fsutil import chown_tree, dir_size


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_chown_tree_does_not_follow_symlinks(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "f").write_text("x")
    outside.mkdir()
    (outside / "secret").write_text("s")
    (tree / "link").symlink_to(outside)
    (tree / "a" / "flink").symlink_to(outside / "secret")
    chown_tree(tree, 101, 102)
    assert (os.stat(tree / "a" / "f").st_uid, os.stat(tree / "a" / "b").st_gid) == (101, 102)
    assert os.lstat(tree / "link").st_uid == 101
    assert os.stat(outside).st_uid == 0 and os.stat(outside / "secret").st_uid == 0


def test_dir_size(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"1" * 1000)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "y").write_bytes(b"2" * 24)
    assert dir_size(tmp_path) == 1024 and dir_size(tmp_path / "missing") == 0
