"""Filesystem helpers shared by the core and the storage plugins."""

from __future__ import annotations

import errno
import os
import shutil
import stat
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


_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOFOLLOW_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafePathError(ValueError):
    """A path inside an untrusted tree is a symlink, a device, a FIFO or otherwise not plain."""


def _open_dir(root: Path, parts: list[str]) -> int:
    """A descriptor of ``root/parts...`` opened component by component without following links."""
    fd = os.open(root, _NOFOLLOW_DIR)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise UnsafePathError(f"path component {part!r} refused")
            try:
                nxt = os.open(part, _NOFOLLOW_DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePathError(f"{part} is a symlink or not a directory") from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_at(dir_fd: int, name: str, max_bytes: int) -> bytes:
    try:
        fd = os.open(name, _NOFOLLOW_FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{name} is a symlink") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePathError(f"{name} is not a regular file")
        if info.st_size > max_bytes:
            raise UnsafePathError(f"{name} is larger than {max_bytes} bytes")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(fd)


def read_nofollow(root: Path, rel: str, max_bytes: int = 1 << 20) -> bytes | None:
    """Read the regular file ``root/rel`` once, following no symlink on the way (a tree that
    another party writes, e.g. a checkout mounted in a container, may swap a file for a link
    at any moment). ``None`` when it does not exist; :class:`UnsafePathError` for a link,
    a device, a FIFO or a file above ``max_bytes``."""
    *dirs, name = rel.split("/")
    try:
        dir_fd = _open_dir(root, dirs)
    except FileNotFoundError:
        return None
    try:
        return _read_at(dir_fd, name, max_bytes)
    except FileNotFoundError:
        return None
    finally:
        os.close(dir_fd)


def read_folder_nofollow(
    root: Path, rel_dir: str, suffixes: tuple[str, ...], max_bytes: int = 1 << 20
) -> list[tuple[str, bytes]]:
    """(name, content) of the regular files ``root/rel_dir/*SUFFIX``, read like :func:`read_nofollow`:
    the folder itself must not be a link, and neither may any file in it. Sorted by name;
    ``[]`` when the folder does not exist."""
    try:
        dir_fd = _open_dir(root, [p for p in rel_dir.split("/") if p != "."] if rel_dir else [])
    except FileNotFoundError:
        return []
    try:
        names = sorted(e.name for e in os.scandir(dir_fd) if e.name.endswith(suffixes))
        return [(name, _read_at(dir_fd, name, max_bytes)) for name in names]
    finally:
        os.close(dir_fd)
