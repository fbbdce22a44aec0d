"""Filesystem helpers: ownership changes never follow links out of the tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oduflow.fsutil import UnsafePathError, chown_tree, dir_size, read_folder_nofollow, read_nofollow


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


def test_read_nofollow_refuses_links_devices_fifos_and_big_files(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "host"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("host secret")
    (root / "d" / "plain.txt").write_text("ok")
    (root / "d" / "link.txt").symlink_to(outside / "secret")
    (root / "inner-link.txt").symlink_to(root / "d" / "plain.txt")  # even a link inside the tree
    (root / "dirlink").symlink_to(outside)
    os.mkfifo(root / "fifo")
    assert read_nofollow(root, "d/plain.txt") == b"ok"
    assert read_nofollow(root, "d/missing.txt") is None
    assert read_nofollow(root, "nodir/x.txt") is None
    for rel in ("d/link.txt", "inner-link.txt", "dirlink/secret", "fifo", "d/../d/plain.txt"):
        with pytest.raises(UnsafePathError):
            read_nofollow(root, rel)
    with pytest.raises(UnsafePathError):
        read_nofollow(root, "d/plain.txt", max_bytes=1)
    if os.path.exists("/dev/zero"):
        (root / "zero").symlink_to("/dev/zero")
        with pytest.raises(UnsafePathError):
            read_nofollow(root, "zero")


def test_read_folder_nofollow_refuses_a_linked_folder(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "host"
    root.mkdir()
    outside.mkdir()
    (outside / "01_evil.sql").write_text("DROP TABLE x;")
    (root / ".scripts").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        read_folder_nofollow(root, ".scripts", (".sql",))
    (root / ".scripts").unlink()
    (root / ".scripts").mkdir()
    (root / ".scripts" / "b.sql").write_text("B")
    (root / ".scripts" / "a.py").write_text("A")
    (root / ".scripts" / "notes.txt").write_text("ignored")
    assert read_folder_nofollow(root, ".scripts", (".sql", ".py")) == [("a.py", b"A"), ("b.sql", b"B")]
    assert read_folder_nofollow(root, "absent", (".sql",)) == []
    (root / ".scripts" / "c.sql").symlink_to(outside / "01_evil.sql")
    with pytest.raises(UnsafePathError):
        read_folder_nofollow(root, ".scripts", (".sql",))
