"""The reflink probe on a filesystem that cannot clone (the suite's tmp_path, ext4 or tmpfs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import reflink
from oduflow.fsutil import copy_tree


def test_probe_says_no_where_files_cannot_be_cloned_and_leaves_nothing(tmp_path: Path) -> None:
    fstype = reflink.filesystem_type(tmp_path)
    assert fstype, "mountinfo names the filesystem of tmp_path"
    if fstype in ("xfs", "btrfs"):
        pytest.skip(f"tmp_path is on {fstype}: the XFS tests cover it")
    assert reflink.supports_reflink(tmp_path) is False
    assert list(tmp_path.iterdir()) == []


def test_probe_of_a_missing_directory_is_no(tmp_path: Path) -> None:
    assert reflink.supports_reflink(tmp_path / "missing") is False


def test_copy_tree_falls_back_to_copying_bytes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_bytes(b"x" * 100_000)
    copy_tree(src, tmp_path / "dest")
    assert (tmp_path / "dest" / "d" / "f").read_bytes() == b"x" * 100_000
