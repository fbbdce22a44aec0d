"""Debian root filesystems for the test images: mirror discovery, debootstrap, chroot installs.

The mirror is read from the host's APT configuration (``/etc/apt/sources.list.d/*.sources`` in
deb822 format, ``*.list`` and ``/etc/apt/sources.list`` in one-line format), never hard-coded;
``ODUFLOW_TEST_DEBIAN_MIRROR`` overrides it. Two suites are bootstrapped: ``bookworm`` (the base of
most test images) and ``unstable`` (the only Debian suite with PostgreSQL 18, for its stand-in),
both from the same archive. Everything here runs as root (debootstrap, chroot).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
UNSTABLE = "unstable"
"""Debian's rolling development suite: no ``-updates`` or ``-security`` companions."""
APT_DIR = Path("/etc/apt")
_APT_ENV = {
    "DEBIAN_FRONTEND": "noninteractive",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` entry of the host's APT configuration."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Stanzas of a deb822 file as ``{lower-case key: value}`` (continuation lines joined)."""
    stanza: dict[str, str] = {}
    key = ""
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif raw[0] in " \t" and key:
            stanza[key] += " " + raw.strip()
        elif ":" in raw:
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def parse_deb822(text: str) -> list[AptSource]:
    """The enabled ``deb`` entries of a deb822 ``.sources`` file."""
    found = []
    for stanza in _deb822_stanzas(text):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        suites = tuple(stanza.get("suites", "").split())
        components = tuple(stanza.get("components", "").split())
        found += [AptSource(uri, suites, components) for uri in stanza.get("uris", "").split()]
    return found


def parse_one_line(text: str) -> list[AptSource]:
    """The ``deb`` entries of a one-line format ``.list`` file (``deb [opts] URI suite comps``)."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line[4:].strip()
        if words.startswith("["):
            words = words.partition("]")[2]
        parts = words.split()
        if len(parts) >= 2:
            found.append(AptSource(parts[0], (parts[1],), tuple(parts[2:])))
    return found


def apt_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    """Every enabled ``deb`` entry configured on this host, in APT's reading order."""
    found: list[AptSource] = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        found += parse_one_line(main_list.read_text(errors="replace"))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".sources":
                found += parse_deb822(path.read_text(errors="replace"))
            elif path.suffix == ".list":
                found += parse_one_line(path.read_text(errors="replace"))
    return found


def _is_main_suite(suite: str) -> bool:
    return "-" not in suite and "/" not in suite


def debian_mirror(apt_dir: Path = APT_DIR) -> str:
    """The Debian archive URI to bootstrap from (``ODUFLOW_TEST_DEBIAN_MIRROR`` wins).

    Prefers an entry that carries the ``bookworm`` suite, then any entry with a plain release
    suite (so a host on another Debian release still works).
    """
    override = os.environ.get("ODUFLOW_TEST_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    sources = apt_sources(apt_dir)
    for wanted in (lambda s: s == SUITE, _is_main_suite):
        for source in sources:
            if any(wanted(suite) for suite in source.suites) and "main" in source.components:
                return source.uri.rstrip("/")
    raise RuntimeError(f"no Debian mirror found in {apt_dir}/sources.list.d/ or {apt_dir}/sources.list")


def security_mirror(apt_dir: Path = APT_DIR) -> str | None:
    """The URI serving ``*-security`` suites, when the host has one."""
    for source in apt_sources(apt_dir):
        if any(suite.endswith("-security") for suite in source.suites):
            return source.uri.rstrip("/")
    return None


def chroot_sources_list(mirror: str, security: str | None, suite: str = SUITE) -> str:
    """The one-line ``sources.list`` written into a chroot of ``suite``."""
    if suite == UNSTABLE:
        return f"deb {mirror} {suite} main\n"
    lines = [f"deb {mirror} {suite} main", f"deb {mirror} {suite}-updates main"]
    if security:
        lines.append(f"deb {security} {suite}-security main")
    return "\n".join(lines) + "\n"


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> None:
    """Run a command; on failure raise with the tail of its output."""
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def debootstrap_tar(target: Path, mirror: str, suite: str = SUITE) -> None:
    """Bootstrap a minimal ``suite`` into a tarball at ``target`` (written atomically)."""
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=target.parent) as tmp:
        root = Path(tmp) / "root"
        run(["debootstrap", "--variant=minbase", suite, str(root), mirror], env=dict(os.environ, **_APT_ENV))
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        pack(root, Path(tmp) / "rootfs.tar")
        os.replace(Path(tmp) / "rootfs.tar", target)


def pack(root: Path, tarball: Path) -> None:
    """Tar a root filesystem, numeric owners, devices and xattrs kept."""
    run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(tarball), "."])


def unpack(tarball: Path, root: Path) -> None:
    """Extract a root filesystem tarball made by :func:`pack`."""
    root.mkdir(parents=True, exist_ok=True)
    run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-xpf", str(tarball)])


@contextlib.contextmanager
def mounted_proc(root: Path) -> Iterator[None]:
    """Mount ``/proc`` inside a chroot for the duration of the block (always unmounted)."""
    target = root / "proc"
    run(["mount", "-t", "proc", "proc", str(target)])
    try:
        yield
    finally:
        proc = subprocess.run(["umount", str(target)], capture_output=True, check=False)
        if proc.returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
        if os.path.ismount(target):
            raise RuntimeError(f"could not unmount {target}; remove it by hand")


def chroot(root: Path, *cmd: str) -> None:
    """Run a command inside the chroot with a clean, non-interactive environment."""
    run(["chroot", str(root), *cmd], env=dict(_APT_ENV))


def safe_rmtree(root: Path) -> None:
    """Remove a chroot tree, refusing while anything is still mounted below it."""
    with open("/proc/self/mounts") as fh:
        prefix = str(root.resolve()) + "/"
        busy = [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]
    if busy:
        raise RuntimeError(f"refusing to remove {root}: still mounted: {busy}")
    shutil.rmtree(root, ignore_errors=True)
