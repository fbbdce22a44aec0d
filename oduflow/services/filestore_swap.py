"""An environment's filestore replaced by another one, all or nothing (reset and restore).

Every storage backend keeps an environment's filestore in entries of its workspace whose names
start with ``filestore`` (:class:`oduflow.contracts.FilestoreSpec`: ``filestore``,
``filestore_upper``, ``filestore_work``; overlay's ``filestore_lower``) plus, at most, a mount
at ``filestore``. So the backend can provision the new filestore in a workspace of its own
(``.next-filestore``) while the environment still serves the old one; :class:`FilestoreSwap`
then unmounts both, moves the entries by renaming them (one filesystem: instant, nothing
copied), keeps the old ones in ``.prev-filestore`` and mounts again. Every move is journaled,
so :meth:`FilestoreSwap.swap_back` undoes exactly the moves made, even after a partial swap.

A snapshot holds the merged view of the filestore (:meth:`StorageBackend.snapshot`). For a
backend that reads the template's filestore live (``shares_template_filestore``: overlay),
the new filestore is provisioned on the template and :func:`sync_tree` makes its merged view
equal to the snapshot (the backend records deletions and copies up only what differs);
for the others the snapshot is provisioned from directly.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from oduflow.contracts import SHARES_TEMPLATE_FILESTORE, FilestoreSpec, StorageBackend
from oduflow.fsutil import chown_tree, copy_tree, mount_state, unmount

PREFIX = "filestore"
"""The names of a workspace's entries that belong to its filestore."""


def entries(workspace: Path) -> list[Path]:
    """The filestore entries of ``workspace`` (none when it does not exist)."""
    if not workspace.is_dir():
        return []
    return sorted(p for p in workspace.iterdir() if p.name.startswith(PREFIX))


def unmount_merged(workspace: Path) -> None:
    """Unmount whatever is mounted (or stale) at the workspace's ``filestore``."""
    merged = workspace / PREFIX
    if mount_state(merged) != "unmounted":
        unmount(merged)


def prepare(backend: StorageBackend, target: FilestoreSpec, snapshot: Path | None) -> None:
    """Provision a new filestore in ``target.workspace`` (made empty by the caller): the
    template's (``target.lower``), or exactly the merged view ``snapshot`` holds."""
    if snapshot is None:
        backend.provision(target)
    elif SHARES_TEMPLATE_FILESTORE in backend.capabilities:
        backend.provision(target)
        sync_tree(snapshot, target.merged, target.uid, target.gid)
    else:
        backend.provision(replace(target, lower=snapshot))


@dataclass
class FilestoreSwap:
    """Swaps the filestore of ``spec`` (the environment's) for the one prepared in ``next_ws``.

    The container serving the filestore must be stopped: it binds the directory it found at
    its start.
    """

    backend: StorageBackend
    spec: FilestoreSpec
    next_ws: Path
    prev_ws: Path
    moves: list[tuple[Path, Path]] = field(default_factory=list)

    def _move(self, src: Path, dest: Path) -> None:
        src.rename(dest)
        self.moves.append((src, dest))

    def _mount(self) -> None:
        if not self.backend.is_healthy(self.spec):
            self.backend.remount(self.spec)

    def swap_in(self) -> None:
        """Old entries to ``prev_ws``, new ones in their place, mounted."""
        workspace = self.spec.workspace
        unmount_merged(self.next_ws)
        unmount_merged(workspace)
        self.prev_ws.mkdir()
        for path in entries(workspace):
            self._move(path, self.prev_ws / path.name)
        for path in entries(self.next_ws):
            self._move(path, workspace / path.name)
        self._mount()

    def swap_back(self) -> None:
        """Undo the moves :meth:`swap_in` made (the new entries go back to ``next_ws``)."""
        unmount_merged(self.spec.workspace)
        while self.moves:
            src, dest = self.moves.pop()
            dest.rename(src)
        if self.prev_ws.is_dir() and not any(self.prev_ws.iterdir()):
            self.prev_ws.rmdir()
        self._mount()


def _kind(info: os.stat_result) -> str:
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    if stat.S_ISLNK(info.st_mode):
        return "link"
    return "file" if stat.S_ISREG(info.st_mode) else "other"


def _listing(directory: Path) -> dict[str, os.stat_result]:
    with os.scandir(directory) as found:
        return {e.name: e.stat(follow_symlinks=False) for e in found}


def _same(src: Path, want: os.stat_result, dest: Path, have: os.stat_result) -> bool:
    """Whether ``dest`` may stay as it is for ``src`` (directories are compared entry by entry)."""
    kind = _kind(want)
    if kind != _kind(have):
        return False
    if kind == "link":
        return os.readlink(src) == os.readlink(dest)
    if kind == "file":
        return (want.st_size, want.st_mtime_ns, stat.S_IMODE(want.st_mode)) == (
            have.st_size,
            have.st_mtime_ns,
            stat.S_IMODE(have.st_mode),
        )
    return kind == "dir"


def _give(path: Path, uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, uid, gid, follow_symlinks=False)


def _add(src: Path, want: os.stat_result, dest: Path, uid: int, gid: int) -> None:
    kind = _kind(want)
    if kind == "dir":
        copy_tree(src, dest)
        chown_tree(dest, uid, gid)
        return
    if kind == "link":
        os.symlink(os.readlink(src), dest)
    elif kind == "file":
        shutil.copy2(src, dest, follow_symlinks=False)
    else:
        return  # a snapshot holds no device, FIFO or socket (copy_tree leaves them out)
    _give(dest, uid, gid)


def sync_tree(src: Path, dest: Path, uid: int, gid: int) -> None:
    """Make the directory ``dest`` hold what the directory ``src`` holds, writing only what differs.

    A regular file stays when its size, modification time and mode are the snapshot's: Odoo
    never rewrites a filestore file (its name is its content's hash), and the snapshot kept
    every file's time. No link is followed in either tree; what is added belongs to ``uid:gid``.
    """
    wanted, present = _listing(src), _listing(dest)
    for name, have in list(present.items()):
        want = wanted.get(name)
        if want is None or not _same(src / name, want, dest / name, have):
            if _kind(have) == "dir":
                shutil.rmtree(dest / name)
            else:
                (dest / name).unlink()
            present.pop(name)
    for name, want in wanted.items():
        if name not in present:
            _add(src / name, want, dest / name, uid, gid)
        elif _kind(want) == "dir":
            sync_tree(src / name, dest / name, uid, gid)
