"""Reflink (copy-on-write) copies of files: what the filesystem can do, and doing it.

A reflink copy (``ioctl(FICLONE)``, what ``cp --reflink`` does) makes a new file that shares
every extent of the source until one of them is written: no data is copied, whatever the size.
XFS made with ``reflink=1`` (the default since xfsprogs 5.1) and btrfs can; ext4 and tmpfs
cannot. The only reliable test is to try: :func:`supports_reflink` clones a probe file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

FICLONE = 0x40049409
"""``_IOW(0x94, 9, int)``: clone every extent of the source descriptor into the destination."""
_NOT_SUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EXDEV, errno.ENOSYS})


def clone_fd(src_fd: int, dest_fd: int) -> bool:
    """Make the empty file ``dest_fd`` a reflink copy of ``src_fd``; False when the filesystem cannot.

    Other errors (no space, I/O) raise :class:`OSError`.
    """
    try:
        fcntl.ioctl(dest_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _NOT_SUPPORTED:
            return False
        raise
    return True


def supports_reflink(directory: Path) -> bool:
    """True when files in ``directory`` can be reflink copies of one another (probed, not guessed).

    False as well when the directory is missing or not writable: then nothing can be cloned there.
    """
    try:
        with tempfile.TemporaryDirectory(prefix=".reflink-probe-", dir=directory) as tmp:
            src = os.open(os.path.join(tmp, "a"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(src, b"\0" * 4096)
                os.fsync(src)
                dest = os.open(os.path.join(tmp, "b"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    return clone_fd(src, dest)
                finally:
                    os.close(dest)
            finally:
                os.close(src)
    except OSError:
        return False


def filesystem_type(path: Path) -> str:
    """The type of the filesystem ``path`` is on, from ``/proc/self/mountinfo`` ("" when unknown)."""
    try:
        target = os.path.realpath(path)
        best, fstype = "", ""
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                fields = left.split()
                if len(fields) < 5 or not right:
                    continue
                mount_point = fields[4].replace("\\040", " ")
                inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best):
                    best, fstype = mount_point, right.split()[0]
        return fstype
    except OSError:
        return ""
