"""Bytes on disk of a set of files, true under copy-on-write (reflink) sharing.

Apparent sizes and ``st_blocks`` count a block shared by two reflink copies in both of them:
two environments cloned from one template would each "use" the template's size. The kernel
knows better: ``ioctl(FS_IOC_FIEMAP)`` lists a file's extents and flags those whose blocks
another file (or another place in the same file) also references (``FIEMAP_EXTENT_SHARED``;
XFS and btrfs set it, ext4 never shares). So, for the regular files below some paths:

- ``logical_bytes``: apparent sizes (``st_size``), what ``du --apparent-size`` says;
- ``allocated_bytes``: blocks allocated (``st_blocks * 512``), what ``du`` says;
- ``shared_bytes``: allocated bytes in shared extents;
- ``exclusive_bytes``: allocated minus shared, what deleting the files would free now.

A block shared between two files *both* measured counts as shared in each: the numbers say
what the set holds alone, not how many copies of a block it holds. Each inode is counted
once (hard links), symbolic links are never followed (not even as a root path), special
files are skipped, and files that vanish while the walk runs are left out. Where the
filesystem has no FIEMAP (tmpfs, FUSE) or a file cannot be opened, its allocated bytes count
as exclusive (``unmapped_files`` says how many). Directories' own blocks are not counted.

Pure filesystem: no Docker, no database.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

FS_IOC_FIEMAP = 0xC020660B
"""``_IOWR('f', 11, struct fiemap)``."""
FIEMAP_FLAG_SYNC = 0x1
"""Write the file's dirty pages back before mapping it (delayed allocations become extents)."""
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_SHARED = 0x2000
FIEMAP_MAX_OFFSET = 2**64 - 1
BATCH = 256
"""Extents asked per ioctl (a PostgreSQL 1 GB segment has a handful; a filestore file one)."""
MAX_DEPTH = 64
"""Directories deeper than this are not walked (the result is then not ``complete``)."""

_HEADER = struct.Struct("=QQIIII")  # fm_start, fm_length, fm_flags, fm_mapped_extents, fm_extent_count, -
_EXTENT = struct.Struct("=QQQ16xI12x")  # fe_logical, fe_physical, fe_length, -, fe_flags, -
_NO_FIEMAP = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS})
_GONE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class Usage:
    """What a set of files occupies on disk (see the module's docstring for each number)."""

    logical_bytes: int = 0
    allocated_bytes: int = 0
    shared_bytes: int = 0
    files: int = 0
    """Regular files counted (each inode once)."""
    unmapped_files: int = 0
    """Files whose extents could not be read (no FIEMAP, not readable): all their bytes count as exclusive."""
    complete: bool = True
    """False when a path or directory could not be read or was deeper than :data:`MAX_DEPTH`."""

    @property
    def exclusive_bytes(self) -> int:
        return self.allocated_bytes - self.shared_bytes

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            logical_bytes=self.logical_bytes + other.logical_bytes,
            allocated_bytes=self.allocated_bytes + other.allocated_bytes,
            shared_bytes=self.shared_bytes + other.shared_bytes,
            files=self.files + other.files,
            unmapped_files=self.unmapped_files + other.unmapped_files,
            complete=self.complete and other.complete,
        )

    def to_dict(self) -> dict[str, int | bool]:
        return {**asdict(self), "exclusive_bytes": self.exclusive_bytes}


class _Walk:
    """One measurement: running totals, the inodes seen, filesystems without FIEMAP, one buffer."""

    def __init__(self, sync: bool) -> None:
        self.flags = FIEMAP_FLAG_SYNC if sync else 0
        self.buf = bytearray(_HEADER.size + BATCH * _EXTENT.size)
        self.seen: set[tuple[int, int]] = set()
        self.no_fiemap: set[int] = set()
        self.logical = self.allocated = self.shared = self.files = self.unmapped = 0
        self.complete = True

    def result(self) -> Usage:
        return Usage(self.logical, self.allocated, self.shared, self.files, self.unmapped, self.complete)

    def shared_extents(self, fd: int) -> int:
        """Bytes of ``fd``'s extents flagged shared; :class:`OSError` when it cannot be mapped."""
        start, shared, flags = 0, 0, self.flags
        while True:
            _HEADER.pack_into(self.buf, 0, start, FIEMAP_MAX_OFFSET, flags, 0, BATCH, 0)
            fcntl.ioctl(fd, FS_IOC_FIEMAP, self.buf, True)
            mapped = _HEADER.unpack_from(self.buf, 0)[3]
            if mapped == 0:
                return shared
            ext_flags = 0
            for i in range(mapped):
                logical, _physical, length, ext_flags = _EXTENT.unpack_from(
                    self.buf, _HEADER.size + i * _EXTENT.size
                )
                if ext_flags & FIEMAP_EXTENT_SHARED:
                    shared += length
            if ext_flags & FIEMAP_EXTENT_LAST or mapped < BATCH:
                return shared
            start, flags = logical + length, 0  # synced once is enough

    def file(self, name: str, dir_fd: int | None, st: os.stat_result) -> None:
        """Count one regular file (``st``: its ``lstat``), mapped through a no-follow descriptor."""
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in self.seen:
                return
            self.seen.add(key)
        shared, mapped = 0, st.st_blocks == 0
        if not mapped and st.st_dev not in self.no_fiemap:
            try:
                fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno in _GONE:
                    return
            else:
                try:
                    shared, mapped, st = self._map(fd, st)
                finally:
                    os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        allocated = st.st_blocks * 512
        self.files += 1
        self.logical += st.st_size
        self.allocated += allocated
        self.shared += min(shared, allocated)
        self.unmapped += 0 if mapped else 1

    def _map(self, fd: int, st: os.stat_result) -> tuple[int, bool, os.stat_result]:
        """(shared bytes, mapped?, fstat after mapping: a sync may turn reservations into blocks)."""
        try:
            shared = self.shared_extents(fd)
        except OSError as exc:
            if exc.errno in _NO_FIEMAP:
                self.no_fiemap.add(st.st_dev)
            return 0, False, os.fstat(fd)
        return shared, True, os.fstat(fd)

    def directory(self, fd: int, depth: int) -> None:
        """Count everything below the open directory ``fd`` (closed by the caller)."""
        subdirs: list[str] = []
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.name)
                    elif entry.is_file(follow_symlinks=False):
                        self.file(entry.name, fd, entry.stat(follow_symlinks=False))
                except FileNotFoundError:
                    continue
        for name in subdirs:
            if depth >= MAX_DEPTH:
                self.complete = False
                return
            self.subdirectory(name, fd, depth + 1)

    def subdirectory(self, name: str, parent_fd: int | None, depth: int) -> None:
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            self.complete = self.complete and exc.errno in _GONE
            return
        try:
            self.directory(fd, depth)
        except OSError as exc:
            self.complete = self.complete and exc.errno in _GONE
        finally:
            os.close(fd)

    def root(self, path: Path) -> None:
        """A path given by the caller: a directory is walked, a regular file counted, a link ignored."""
        try:
            st = os.lstat(path)
        except OSError as exc:
            self.complete = self.complete and exc.errno in _GONE
            return
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key not in self.seen:
                self.seen.add(key)
                self.subdirectory(os.fspath(path), None, 0)
        elif stat.S_ISREG(st.st_mode):
            try:
                self.file(os.fspath(path), None, st)
            except OSError:
                self.complete = False


def usage(paths: Iterable[Path], *, sync: bool = True) -> Usage:
    """What the regular files below ``paths`` occupy (missing paths count as nothing; give
    paths that do not contain one another: a directory given twice counts once).

    ``sync`` (the default) has the kernel write each file's dirty pages back before mapping it
    (``FIEMAP_FLAG_SYNC``): until then a copy-on-write write is a reservation and the block it
    replaces still reads as shared. Clean files cost nothing more.
    """
    walk = _Walk(sync)
    for path in paths:
        walk.root(Path(path))
    return walk.result()
