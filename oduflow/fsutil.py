"""Filesystem helpers shared by the core and the storage plugins."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

from oduflow import reflink

log = logging.getLogger("oduflow.fsutil")


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


_DEAD_MOUNT = (errno.ENOTCONN, errno.ECONNABORTED, errno.EIO)


def mount_state(path: Path) -> str:
    """``mounted``, ``stale`` (FUSE daemon gone), or ``unmounted``.

    A ``stat`` of a mount whose daemon died may still succeed (the kernel answers it from the
    attribute cache), so a mounted directory is also opened: that request reaches the daemon.
    """
    try:
        os.stat(path)
        if not os.path.ismount(path):
            return "unmounted"
        with os.scandir(path):
            pass
    except OSError as exc:
        if exc.errno in _DEAD_MOUNT:
            return "stale"
        if exc.errno == errno.ENOENT:
            return "unmounted"
        raise
    return "mounted"


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


# --- files Oduflow writes for containers and copies of container-written trees ----------------
def write_private(path: Path, text: str, uid: int, gid: int) -> None:
    """Write ``path`` (never through a link) mode 0600, owned by ``uid:gid`` when we may chown.

    For files with secrets a container reads, such as ``odoo.conf``: the image user owns it.
    Without the right to chown (not root) the file stays ours and is made 0644 so that the
    container user can read it; the team directory (0700) still hides it from the host's users.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        try:
            os.fchown(fd, uid, gid)
        except PermissionError:
            os.fchmod(fd, 0o644)
        with os.fdopen(os.dup(fd), "w", encoding="utf-8") as fh:
            fh.write(text)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """``path`` as a directory of mode 0700 (created, or tightened when it is ours)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_IMODE(info.st_mode) != 0o700 and info.st_uid == os.geteuid():
        os.chmod(path, 0o700, follow_symlinks=False)
    return path


_COPY_CHUNK = 1 << 20


def copy_tree(src: Path, dest: Path, *, clone: bool = True) -> list[str]:
    """Copy the tree ``src`` to the new directory ``dest``; the paths it left out.

    With ``clone`` (the default), each regular file is first tried as a reflink copy
    (:func:`oduflow.reflink.clone_fd`: no data copied on XFS or btrfs), else its bytes are copied.

    For trees a container writes (filestores): only directories, regular files and symlinks
    (copied as links, never followed) are copied. Device nodes, FIFOs and sockets are never
    opened and are left out; so is an entry swapped for another kind while the copy runs.
    Every entry is opened relative to its parent's descriptor without following links, so a
    directory replaced by a link during the copy is not followed out of ``src``. Modes keep
    their permission bits only (no setuid, setgid or sticky bit).
    """
    skipped: list[str] = []
    src_fd = os.open(src, _NOFOLLOW_DIR)
    try:
        info = os.fstat(src_fd)
        os.mkdir(dest, 0o700)
        dest_fd = os.open(dest, _NOFOLLOW_DIR)
        try:
            _copy_dir(src_fd, dest_fd, "", skipped, clone)
            _copy_meta(dest_fd, info)
        finally:
            os.close(dest_fd)
    finally:
        os.close(src_fd)
    return skipped


def copy_filestore(src: Path, dest: Path) -> None:
    """:func:`copy_tree` of a filestore, logging what it left out (devices, FIFOs, sockets)."""
    skipped = copy_tree(src, dest)
    if skipped:
        shown = ", ".join(skipped[:20])
        log.warning("copy of %s left out %d special file(s): %s", src, len(skipped), shown)


def _copy_meta(fd: int, info: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(info.st_mode) & 0o777)
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


def _copy_dir(src_fd: int, dest_fd: int, rel: str, skipped: list[str], clone: bool) -> None:
    with os.scandir(src_fd) as entries:
        names = [e.name for e in entries]
    for name in names:
        path = f"{rel}/{name}" if rel else name
        try:
            info = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we copy
        if stat.S_ISDIR(info.st_mode):
            _copy_subdir(src_fd, dest_fd, name, path, skipped, clone)
        elif stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(name, dir_fd=src_fd), name, dir_fd=dest_fd)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(src_fd, dest_fd, name, path, skipped, clone)
        else:
            skipped.append(path)


def _copy_bytes(fd: int, out: int) -> None:
    while chunk := os.read(fd, _COPY_CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(out, view) :]


def _copy_subdir(src_fd: int, dest_fd: int, name: str, path: str, skipped: list[str], clone: bool) -> None:
    try:
        sub = os.open(name, _NOFOLLOW_DIR, dir_fd=src_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            raise
        skipped.append(path)  # swapped for a link or a file since it was listed
        return
    try:
        info = os.fstat(sub)
        os.mkdir(name, 0o700, dir_fd=dest_fd)
        out = os.open(name, _NOFOLLOW_DIR, dir_fd=dest_fd)
        try:
            _copy_dir(sub, out, path, skipped, clone)
            _copy_meta(out, info)
        finally:
            os.close(out)
    finally:
        os.close(sub)


def _copy_file(src_fd: int, dest_fd: int, name: str, path: str, skipped: list[str], clone: bool) -> None:
    try:
        fd = os.open(name, _NOFOLLOW_FILE | os.O_NOCTTY, dir_fd=src_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOENT, errno.ENXIO):
            raise
        skipped.append(path)
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or a device since it was listed
            skipped.append(path)
            return
        out = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dest_fd
        )
        try:
            if not (clone and reflink.clone_fd(fd, out)):
                _copy_bytes(fd, out)
            _copy_meta(out, info)
        finally:
            os.close(out)
    finally:
        os.close(fd)
