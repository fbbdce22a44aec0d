"""The managed copy-on-write filesystem: an XFS image file loop-mounted at the data directory.

With ``[storage].cow_image_size_gb`` > 0, ``oduflow init`` makes a sparse image file
(``[storage].cow_image``, by default ``<data_dir>.xfs`` next to the data directory), formats it
XFS with ``reflink=1`` and loop-mounts it at ``data_dir`` (``noatime``). Everything Oduflow
stores is then on one filesystem whose copies can share blocks (``FICLONE``), whatever the
host's own filesystem is (ext4 cannot): templates' filestores, workspaces, and the PostgreSQL
data directory, which :mod:`dbserver` keeps in ``<data_dir>/postgres/data`` in this mode. The
image costs only the blocks written.

A loop mount does not survive a reboot: ``oduflow init`` and the server's start mount it again
(:func:`ensure`) before anything else uses the data directory. Until then nothing writes onto
the bare mount point: the database container binds its directories as ``Mount``\\ s (a missing
source makes its start fail, where a plain bind would create it empty) and Docker does not
restart environment containers by itself (:func:`oduflow.services.runtime.docker_restarts`).
Mounting needs root and ``mkfs.xfs`` (``xfsprogs``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oduflow import reflink
from oduflow.config import Config, cow_image_path
from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConflictError, ExternalCommandError, PrerequisiteNotMetError
from oduflow.rollback import Steps

GIB = 2**30
"""``[storage].cow_image_size_gb`` counts GiB."""
COMMAND_TIMEOUT_S = 600
DETACH_WAIT_S = 5.0
MOUNT_OPTIONS = "loop,noatime"
LOCKS_DIR = "locks"
"""Where the catalog takes its locks (``<data_dir>/locks``), before ``init`` itself runs."""


@dataclass(frozen=True)
class ManagedFs:
    """The image file, where it is mounted and how large it is made."""

    image: Path
    mount_point: Path
    size_bytes: int


def managed(config: Config) -> ManagedFs | None:
    """The managed filesystem of this configuration (None: ``cow_image_size_gb`` is 0)."""
    if config.storage.cow_image_size_gb <= 0:
        return None
    return ManagedFs(
        image=cow_image_path(config),
        mount_point=Path(os.path.abspath(config.data_dir)),
        size_bytes=config.storage.cow_image_size_gb * GIB,
    )


def _run(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExternalCommandError(f"{argv[0]} failed: {exc}", command=" ".join(argv)) from None
    if proc.returncode != 0:
        raise ExternalCommandError(
            f"{argv[0]} failed",
            command=" ".join(argv),
            exit_code=proc.returncode,
            output=(proc.stdout + proc.stderr).strip(),
        )
    return proc.stdout


def _unescape(field: str) -> str:
    """A path of ``/proc/self/mountinfo`` (spaces and the like are octal escapes there)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, source) of every mount, in mount order."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 2:
                found.append((_unescape(fields[4]), tail[0], _unescape(tail[1])))
    return found


def _backing_file(device: str) -> str:
    """The file behind loop device ``device`` ("" for anything else)."""
    name = os.path.basename(device)
    if not name.startswith("loop"):
        return ""
    try:
        return Path(f"/sys/block/{name}/loop/backing_file").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def loop_devices(image: Path) -> list[str]:
    """The loop devices attached to ``image`` (what ``losetup -j IMAGE`` lists)."""
    real = os.path.realpath(image)
    return sorted(
        f"/dev/{entry.name}"
        for entry in Path("/sys/block").glob("loop*")
        if _backing_file(entry.name) in (real, f"{real} (deleted)")
    )


def state(fs: ManagedFs) -> str:
    """``mounted`` (the image is mounted at the mount point), ``unmounted``, or ``foreign``
    (another filesystem is mounted there)."""
    target = os.path.realpath(fs.mount_point)
    top = [(fstype, source) for point, fstype, source in _mounts() if point == target]
    if not top:
        return "unmounted"
    return "mounted" if _backing_file(top[-1][1]) == os.path.realpath(fs.image) else "foreign"


def submounts(fs: ManagedFs) -> list[str]:
    """Mount points below the mount point (fuse-overlayfs filestores, say)."""
    prefix = os.path.realpath(fs.mount_point).rstrip("/") + "/"
    return [point for point, _fstype, _source in _mounts() if point.startswith(prefix)]


def stray_entries(mount_point: Path) -> list[str]:
    """What the bare mount point holds, Oduflow's own lock files aside (the catalog takes the
    lock of ``init`` in ``<data_dir>/locks`` before ``init`` runs)."""
    try:
        names = sorted(os.listdir(mount_point))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [name for name in names if name != LOCKS_DIR or not _only_lock_files(mount_point / name)]


def _only_lock_files(path: Path) -> bool:
    """``path`` is a directory of ``*.lock`` files and directories of them (``locks/slots/``)."""
    if path.is_symlink() or not path.is_dir():
        return False
    with os.scandir(path) as entries:
        return all(
            (e.is_file(follow_symlinks=False) and e.name.endswith(".lock"))
            or (e.is_dir(follow_symlinks=False) and _only_lock_files(Path(e.path)))
            for e in entries
        )


def _check_prerequisites() -> None:
    where = "[storage].cow_image_size_gb"
    if os.geteuid() != 0:
        raise PrerequisiteNotMetError(
            f"{where}: mounting the image file needs root (mount -o loop): run Oduflow as root, "
            "or set it to 0"
        )
    for tool in ("mkfs.xfs", "mount", "umount", "losetup"):
        if shutil.which(tool) is None:
            raise PrerequisiteNotMetError(f"{where}: {tool} is missing (apt-get install xfsprogs mount)")


def _missing_dirs(path: Path) -> list[Path]:
    """``path`` and its missing parents, outermost first (those :func:`_make_dirs` creates)."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing[::-1]


def _make_dirs(path: Path, steps: Steps) -> None:
    for d in _missing_dirs(path):
        d.mkdir(mode=0o755)
        steps.undo(d.rmdir)


def _release(fs: ManagedFs) -> None:
    """Unmount (when mounted) and detach the image's idle loop devices: the undo of a mount."""
    if state(fs) == "mounted":
        _run(["umount", str(fs.mount_point)])
        wait_detached(fs.image)
    _detach(fs.image)


def _detach(image: Path) -> None:
    """Detach the image's loop devices that nothing here mounts (``mount -o loop`` detaches its
    own on unmount; this covers a mount that failed half-way). A device still in use elsewhere
    is only marked to detach itself when freed."""
    busy = {source for _point, _fstype, source in _mounts()}
    for device in loop_devices(image):
        if device not in busy:
            subprocess.run(["losetup", "-d", device], capture_output=True, check=False, timeout=60)


def _mount(fs: ManagedFs, steps: Steps) -> None:
    steps.begin(f"mounting {fs.image} at {fs.mount_point}")
    _make_dirs(fs.mount_point, steps)
    steps.undo(lambda: _release(fs))
    _run(["mount", "-t", "xfs", "-o", MOUNT_OPTIONS, str(fs.image), str(fs.mount_point)])
    if state(fs) != "mounted":
        raise PrerequisiteNotMetError(f"{fs.image} was mounted at {fs.mount_point} but is not seen there")


def create(fs: ManagedFs, progress: Progress = no_progress) -> None:
    """Make the sparse image file, format it (``mkfs.xfs -m reflink=1``) and mount it; all or
    nothing (the image file, the directories made for it and any loop device are undone).

    Refused when the mount point holds anything: the filesystem would hide it.
    """
    _check_prerequisites()
    stray = stray_entries(fs.mount_point)
    if stray:
        raise ConflictError(
            f"[storage].data_dir {fs.mount_point} is not empty ({', '.join(stray[:5])}): the "
            "copy-on-write filesystem is mounted there and would hide it. Set cow_image_size_gb on "
            "a new, empty data_dir (an instance's databases and files are not moved into it)"
        )
    with Steps("create the copy-on-write filesystem", progress) as steps:
        steps.begin(f"creating {fs.image} ({fs.size_bytes / GIB:g} GiB, sparse)")
        _make_dirs(fs.image.parent, steps)
        fd = os.open(fs.image, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        steps.undo(lambda: fs.image.unlink(missing_ok=True))
        try:
            os.ftruncate(fd, fs.size_bytes)
        finally:
            os.close(fd)
        steps.begin(f"formatting {fs.image} (mkfs.xfs -m reflink=1)")
        _run(["mkfs.xfs", "-q", "-m", "reflink=1", str(fs.image)])
        _mount(fs, steps)


def mount(fs: ManagedFs, progress: Progress = no_progress) -> None:
    """Mount the existing image at the mount point (after a reboot); undone when it fails."""
    _check_prerequisites()
    if not fs.image.is_file() or fs.image.is_symlink():
        raise PrerequisiteNotMetError(f"[storage].cow_image {fs.image} is not a regular file")
    with Steps("mount the copy-on-write filesystem", progress) as steps:
        _mount(fs, steps)


def ensure(
    config: Config, progress: Progress = no_progress, *, create_missing: bool = True
) -> tuple[str, str]:
    """The managed filesystem mounted: ``(what happened, description)`` where what happened is
    ``""`` (none configured), ``existing``, ``mounted`` or ``created``.

    ``create_missing`` (``oduflow init``) makes the image when there is none; without it (the
    server's start) a missing image is :class:`PrerequisiteNotMetError`. Another filesystem
    mounted at ``data_dir`` is a :class:`ConflictError`.
    """
    fs = managed(config)
    if fs is None:
        return "", ""
    found = state(fs)
    what = f"copy-on-write filesystem {fs.image} at {fs.mount_point}"
    if found == "mounted":
        return "existing", what
    if found == "foreign":
        raise ConflictError(
            f"[storage].data_dir {fs.mount_point} is the mount point of another filesystem, "
            f"not of [storage].cow_image {fs.image}: unmount it, or set cow_image_size_gb to 0"
        )
    if fs.image.exists() or fs.image.is_symlink():
        hidden = stray_entries(fs.mount_point)
        mount(fs, progress)
        note = f" (over {', '.join(hidden[:5])}, written to the bare mount point)" if hidden else ""
        return "mounted", f"mounted {what}{note}"
    if not create_missing:
        raise PrerequisiteNotMetError(f"[storage].cow_image {fs.image} does not exist: run 'oduflow init'")
    create(fs, progress)
    return "created", f"{what} ({fs.size_bytes / GIB:g} GiB sparse image, XFS with reflink)"


def unmount(fs: ManagedFs) -> bool:
    """Unmount the filesystem (the image file stays); False when it was not mounted.

    Refused while something below is mounted or another process uses it. Files this process
    still holds there (the lock of the running operation) let only a lazy unmount through: the
    kernel finishes it, and detaches the loop device, when they close.
    """
    if state(fs) != "mounted":
        _detach(fs.image)
        return False
    if below := submounts(fs):
        raise PrerequisiteNotMetError(
            f"cannot unmount {fs.mount_point}: {', '.join(below[:5])} mounted below"
        )
    if subprocess.run(["umount", str(fs.mount_point)], capture_output=True, check=False).returncode != 0:
        if users := _other_users(fs.mount_point):
            raise PrerequisiteNotMetError(
                f"cannot unmount {fs.mount_point}: in use by {', '.join(users[:5])}"
            )
        _run(["umount", "-l", str(fs.mount_point)])
        return True
    wait_detached(fs.image)
    _detach(fs.image)
    return True


def wait_detached(image: Path) -> None:
    """Wait a little for the kernel to detach the loop device of an unmount (it may do so in
    the background); one still in use elsewhere (a container's mount) stays."""
    deadline = time.monotonic() + DETACH_WAIT_S
    while loop_devices(image) and time.monotonic() < deadline:
        time.sleep(0.05)


def _other_users(mount_point: Path) -> list[str]:
    """``pid (command)`` of the other processes with a file, directory or root under ``mount_point``."""
    prefix = os.path.realpath(mount_point).rstrip("/") + "/"
    users = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            links = [proc / "cwd", proc / "root", *(proc / "fd").iterdir()]
            targets = {os.readlink(link) for link in links if link.is_symlink()}
            if any((t + "/").startswith(prefix) for t in targets):
                users.append(f"{proc.name} ({(proc / 'comm').read_text().strip()})")
        except OSError:
            continue
    return users


def usage(config: Config) -> dict[str, Any]:
    """The data directory's filesystem (``get_system_stats``, ``oduflow init``): type, whether
    it can clone files, size, used and free bytes; for a managed one, its image file too."""
    path = Path(os.path.abspath(config.data_dir))
    fs = managed(config)
    mounted = fs is not None and state(fs) == "mounted"
    info: dict[str, Any] = {
        "path": str(path),
        "fstype": "",
        "reflink": False,
        "size_bytes": 0,
        "used_bytes": 0,
        "free_bytes": 0,
        "managed": fs is not None,
        "mounted": mounted,
        "image": str(fs.image) if fs else "",
        "image_size_bytes": 0,
        "image_allocated_bytes": 0,
    }
    if path.is_dir() and (fs is None or mounted):  # never probe the bare mount point
        st = os.statvfs(path)
        info["fstype"] = reflink.filesystem_type(path)
        info["reflink"] = reflink.supports_reflink(path)
        info["size_bytes"] = st.f_blocks * st.f_frsize
        info["used_bytes"] = (st.f_blocks - st.f_bfree) * st.f_frsize
        info["free_bytes"] = st.f_bavail * st.f_frsize
    if fs is not None and fs.image.is_file():
        st_image = fs.image.stat()
        info["image_size_bytes"] = st_image.st_size
        info["image_allocated_bytes"] = st_image.st_blocks * 512
    return info
