"""oduflow.diskusage: bytes on disk, true under reflink sharing (XFS loop mount) and without (ext4)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from oduflow import diskusage, reflink

MB = 1 << 20
BLOCK = 4096


def _write(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def _clone(src: Path, dest: Path) -> Path:
    with open(src, "rb") as s, open(dest, "xb") as d:
        assert reflink.clone_fd(s.fileno(), d.fileno())
    return dest


def _overwrite(path: Path, offset: int, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(os.urandom(size))


def test_a_reflink_copy_shares_every_block_with_its_source(xfs_dir: Path) -> None:
    src = _write(xfs_dir / "a", 10 * MB)
    copy = _clone(src, xfs_dir / "b")
    for path in (src, copy):
        used = diskusage.usage([path])
        assert (used.logical_bytes, used.allocated_bytes, used.shared_bytes) == (10 * MB, 10 * MB, 10 * MB)
        assert used.exclusive_bytes == 0
        assert (used.files, used.unmapped_files, used.complete) == (1, 0, True)
    both = diskusage.usage([xfs_dir])
    assert (both.files, both.allocated_bytes, both.exclusive_bytes) == (2, 20 * MB, 0)


def test_writing_into_a_copy_makes_what_it_wrote_exclusive_in_both(xfs_dir: Path) -> None:
    src = _write(xfs_dir / "a", 10 * MB)
    copy = _clone(src, xfs_dir / "b")
    _overwrite(copy, 3 * MB, MB)
    # the copy is measured first: its sync ends the copy-on-write, then the source sees it too
    for path in (copy, src):
        used = diskusage.usage([path])
        assert used.allocated_bytes == 10 * MB
        assert MB <= used.exclusive_bytes <= MB + 256 * 1024, used
        assert used.shared_bytes == used.allocated_bytes - used.exclusive_bytes


def test_a_file_of_its_own_is_all_exclusive_on_xfs(xfs_dir: Path) -> None:
    used = diskusage.usage([_write(xfs_dir / "a", 3 * MB)])
    assert (used.allocated_bytes, used.shared_bytes, used.exclusive_bytes) == (3 * MB, 0, 3 * MB)


def test_extents_are_read_in_batches(xfs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with more extents than one ioctl asks for: every batch is read."""
    monkeypatch.setattr(diskusage, "BATCH", 3)
    src = xfs_dir / "sparse"
    with open(src, "wb") as fh:
        for i in range(20):  # a written block every 64 KiB: 20 extents
            fh.seek(i * 16 * BLOCK)
            fh.write(os.urandom(BLOCK))
    copy = _clone(src, xfs_dir / "copy")
    calls: list[int] = []
    real_ioctl = diskusage.fcntl.ioctl

    def counting(fd: int, request: int, *args: Any) -> Any:
        calls.append(request)
        return real_ioctl(fd, request, *args)

    monkeypatch.setattr(diskusage.fcntl, "ioctl", counting)
    used = diskusage.usage([copy])
    assert len(calls) >= 7
    assert used.shared_bytes == 20 * BLOCK
    assert used.allocated_bytes >= 20 * BLOCK  # XFS counts the extent tree's own block too


def test_hard_links_are_counted_once(xfs_dir: Path) -> None:
    _write(xfs_dir / "a", MB)
    os.link(xfs_dir / "a", xfs_dir / "b")
    (xfs_dir / "sub").mkdir()
    os.link(xfs_dir / "a", xfs_dir / "sub" / "c")
    used = diskusage.usage([xfs_dir])
    assert (used.files, used.logical_bytes, used.allocated_bytes) == (1, MB, MB)


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _write(outside / "big", 2 * MB)
    root = tmp_path / "root"
    root.mkdir()
    _write(root / "own", BLOCK)
    (root / "to-dir").symlink_to(outside)
    (root / "to-file").symlink_to(outside / "big")
    used = diskusage.usage([root])
    assert (used.files, used.logical_bytes) == (1, BLOCK)
    linked_root = tmp_path / "linked-root"
    linked_root.symlink_to(outside)
    assert diskusage.usage([linked_root, outside / "missing"]) == diskusage.Usage()


def test_special_files_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it for reading without O_NONBLOCK would hang
    _write(tmp_path / "file", BLOCK)
    used = diskusage.usage([tmp_path])
    assert (used.files, used.logical_bytes, used.complete) == (1, BLOCK, True)


def test_without_reflink_nothing_is_shared(tmp_path: Path) -> None:
    """ext4 (or whatever tmp_path is on, which cannot clone): exclusive is everything allocated."""
    if reflink.supports_reflink(tmp_path):
        pytest.skip(f"{tmp_path} is on a filesystem that can clone files")
    src = _write(tmp_path / "a", 2 * MB)
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "b", MB + 1)
    used = diskusage.usage([tmp_path])
    assert (used.files, used.logical_bytes, used.shared_bytes) == (2, 3 * MB + 1, 0)
    assert used.allocated_bytes >= 3 * MB + BLOCK
    assert used.exclusive_bytes == used.allocated_bytes
    assert diskusage.usage([src]).exclusive_bytes == 2 * MB


def test_without_fiemap_allocated_bytes_count_as_exclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem without FIEMAP (tmpfs, FUSE) is asked once, then its files count as unmapped."""
    calls: list[int] = []

    def no_fiemap(fd: int, request: int, *args: Any) -> Any:
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "not supported")

    for i in range(3):
        _write(tmp_path / f"f{i}", MB)
    monkeypatch.setattr(diskusage.fcntl, "ioctl", no_fiemap)
    used = diskusage.usage([tmp_path])
    assert calls == [diskusage.FS_IOC_FIEMAP]
    assert (used.files, used.unmapped_files, used.shared_bytes) == (3, 3, 0)
    assert used.exclusive_bytes == used.allocated_bytes >= 3 * MB


def test_a_file_that_vanishes_during_the_walk_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "stays", BLOCK)
    _write(tmp_path / "gone", MB)
    real_open = os.open

    def open_after_delete(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if path == "gone":
            os.unlink(tmp_path / "gone")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(diskusage.os, "open", open_after_delete)
    used = diskusage.usage([tmp_path])
    assert (used.files, used.logical_bytes, used.complete) == (1, BLOCK, True)


def test_directories_deeper_than_the_limit_make_it_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diskusage, "MAX_DEPTH", 2)
    deep = tmp_path / "1" / "2" / "3"
    deep.mkdir(parents=True)
    for level in (tmp_path, tmp_path / "1", tmp_path / "1" / "2", deep):
        _write(level / "f", BLOCK)
    used = diskusage.usage([tmp_path])
    assert (used.files, used.complete) == (3, False)
    assert diskusage.usage([tmp_path / "1"]) == diskusage.usage([tmp_path / "1"], sync=False)
    assert diskusage.usage([tmp_path / "1"]).complete


def test_a_directory_given_twice_counts_once_and_usages_add_up(tmp_path: Path) -> None:
    _write(tmp_path / "f", MB)
    once = diskusage.usage([tmp_path])
    assert diskusage.usage([tmp_path, tmp_path]) == once
    total = once + diskusage.Usage(logical_bytes=1, allocated_bytes=BLOCK, files=1, complete=False)
    assert (total.logical_bytes, total.files, total.complete) == (MB + 1, 2, False)
    assert total.to_dict()["exclusive_bytes"] == once.exclusive_bytes + BLOCK


def test_a_database_whose_files_cannot_be_seen_has_no_physical_number(tmp_path: Path) -> None:
    from oduflow.services import disk

    _write(tmp_path / "16384", MB)
    files = disk.DatabaseFiles(
        paths={"seen": tmp_path},
        unavailable={"unseen": disk.UNSEEN_DATA_DIR, "gone": "database gone does not exist"},
        server_bytes={"unseen": 123},
    )
    used, part = disk.database_part(files, "seen")
    assert used is not None and part == {"database": used.to_dict()} and used.logical_bytes == MB
    assert disk.database_part(files, "unseen") == (
        None,
        {"database": None, "database_unavailable": disk.UNSEEN_DATA_DIR, "database_server_bytes": 123},
    )
    assert disk.database_part(files, "gone")[1] == {
        "database": None,
        "database_unavailable": "database gone does not exist",
    }
