"""Filesystem helpers shared by the core and the storage plugins."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path


def chown_tree(path: Path, uid: int, gid: int, *, recursive: bool = True) -> None:
    """Give ``path`` (and, when ``recursive``, everything below) to ``uid:gid``.

    Never call this on an overlay mount point recursively: it would copy every lower
    file up. Without the right to chown (not root), the directories are made writable
    for everyone instead, so that the container user can still write.
    """
    try:
        os.chown(path, uid, gid, follow_symlinks=False)
        if recursive:
            # fwalk with directory descriptors: a directory swapped for a symlink while we walk
            # (the tree is writable from the container) is never followed out of ``path``
            for _root, dirs, files, root_fd in os.fwalk(path, follow_symlinks=False):
                for name in dirs + files:
                    os.chown(name, uid, gid, dir_fd=root_fd, follow_symlinks=False)
    except PermissionError:
        path.chmod(0o777)


def dir_size(path: Path) -> int:
    """Bytes used by regular files below ``path`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def mount_state(path: Path) -> str:
    """``mounted``, ``stale`` (FUSE daemon gone), or ``unmounted``."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTCONN, errno.EIO):
            return "stale"
        if exc.errno == errno.ENOENT:
            return "unmounted"
        raise
    return "mounted" if os.path.ismount(path) else "unmounted"


def unmount(path: Path) -> None:
    """Unmount a FUSE mount: ``fusermount -u``, then a lazy unmount as a last resort."""
    for argv in (
        ["fusermount3", "-u", str(path)],
        ["fusermount", "-u", str(path)],
        ["umount", str(path)],
        ["umount", "-l", str(path)],
    ):
        if shutil.which(argv[0]) is None:
            continue
        subprocess.run(argv, capture_output=True, check=False, timeout=30)
        if mount_state(path) == "unmounted":
            return


def fuse_mounts_under(root: Path) -> list[Path]:
    """fuse-overlayfs mount points below ``root`` (from ``/proc/self/mounts``)."""
    out = []
    prefix = str(root.resolve()) + "/"
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and "fuse-overlayfs" in (parts[0] + parts[2]):
            mp = parts[1].replace("\\040", " ")
            if mp.startswith(prefix):
                out.append(Path(mp))
    return out


def rmtree(path: Path) -> None:
    """Remove ``path`` if it exists, refusing to follow into live mounts."""
    if not path.exists() and not path.is_symlink():
        return
    for mp in fuse_mounts_under(path):
        unmount(mp)
    shutil.rmtree(path, ignore_errors=False)
