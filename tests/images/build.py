"""Build (once) the images the test suite uses instead of the official ``postgres`` and ``odoo`` ones.

Pipeline: ``debootstrap --variant=minbase`` bookworm (a tarball cached on disk) -> ``chroot``
``apt-get install`` of everything both images need (``base/setup.sh``) -> ``docker import`` as
one shared base image -> a thin ``docker build`` layer per image with its entrypoint and sources.
Every tag carries a content hash of what determines it, so an unchanged image is found at once
and an edited script or stand-in source rebuilds only what depends on it. A file lock per step
makes concurrent pytest workers wait for one another instead of building twice.

PostgreSQL 18 (:func:`ensure_postgres_image` with ``major=18``) has a base of its own: Debian
``unstable`` (the only suite packaging it) bootstrapped the same way, with ``postgres18/setup.sh``;
its thin layer is the same ``postgres/`` context with the 18 image's ``PGDATA`` and ``VOLUME``.

Usage: ``python -m tests.images.build [--odoo-version 18.0]`` prints the tags. The disk cache
lives in ``~/.cache/oduflow-test-images/`` (``ODUFLOW_TEST_IMAGE_CACHE`` overrides it).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import io
import os
import platform
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

try:
    from tests.images import rootfs
except ImportError:  # run as a script: python tests/images/build.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.images import rootfs

HERE = Path(__file__).resolve().parent
CACHE_ENV = "ODUFLOW_TEST_IMAGE_CACHE"
LABELS = {"org.oduflow.test-image": "true"}
"""Label of every test image: outside the ``oduflow.`` namespace, which Oduflow refuses in images
(every container inherits its image's labels; see ``oduflow/images.py``)."""
BASE_REPO = "oduflow-test-base"
POSTGRES_REPO = "oduflow-test-postgres"
ODOO_REPO = "oduflow-test-odoo"
ROOTFS_RECIPE = {"suite": rootfs.SUITE, "variant": "minbase", "recipe": "1"}
PG_MAJORS = (15, 18)
"""PostgreSQL versions of the stand-in: 15 on the shared bookworm base, 18 on an unstable one."""
PG18_BUILDARGS = {
    "PG_MAJOR": "18",
    "PGDATA": "/var/lib/postgresql/18/docker",
    "PG_VOLUME": "/var/lib/postgresql",
}
"""The official ``postgres:18`` image's layout (15-17: both ``/var/lib/postgresql/data``)."""
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOCK_TIMEOUT_S = 1800.0
DEFAULT_UID = 101
"""uid/gid of ``odoo`` in the official image."""
OTHER_UID = 1011
"""uid/gid of ``odoo`` in the variant of the stand-in made to exercise the detection of an image's user."""
_EXECUTABLES = {"entrypoint.sh", "docker-entrypoint.sh", "wait-for-psql.py", "bin/odoo"}
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def debian_mirror() -> str:
    """The Debian archive URI read from the host's APT configuration (see :mod:`rootfs`)."""
    return rootfs.debian_mirror()


def cache_dir() -> Path:
    """Where rootfs tarballs and lock files live (created on demand)."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "oduflow-test-images")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(name: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive file lock ``<cache>/<name>.lock``; give up after ``timeout`` seconds."""
    with open(cache_dir() / f"{name}.lock", "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"another process holds {fh.name} for more than {timeout:.0f}s"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def rootfs_key(suite: str = rootfs.SUITE) -> str:
    """Content key of the minimal rootfs: release, variant, architecture and recipe version."""
    recipe = sorted({**ROOTFS_RECIPE, "suite": suite}.items())
    return _digest(repr(recipe), platform.machine(), (HERE / "rootfs.py").read_bytes())


def ensure_rootfs(suite: str = rootfs.SUITE) -> Path:
    """The cached ``debootstrap --variant=minbase`` tarball of ``suite`` (built on first use).

    An ``unstable`` one is a snapshot of the day it was made: kept until its key changes.
    """
    target = cache_dir() / f"rootfs-{suite}-{rootfs_key(suite)}.tar"
    if target.is_file():
        return target
    with _locked("rootfs" if suite == rootfs.SUITE else f"rootfs-{suite}"):
        if not target.is_file():
            rootfs.debootstrap_tar(target, debian_mirror(), suite)
    return target


def _has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def base_tag() -> str:
    """Tag of the shared base image (rootfs + ``base/setup.sh``)."""
    setup = (HERE / "base" / "setup.sh").read_bytes()
    return f"{BASE_REPO}:{_digest(rootfs_key(), setup, repr(sorted(LABELS.items())))}"


def pg18_base_tag() -> str:
    """Tag of the PostgreSQL 18 base image (unstable rootfs + ``postgres18/setup.sh``)."""
    setup = (HERE / "postgres18" / "setup.sh").read_bytes()
    return f"{BASE_REPO}:pg18-{_digest(rootfs_key(rootfs.UNSTABLE), setup, repr(sorted(LABELS.items())))}"


def _ensure_chroot_image(client: docker.DockerClient, tag: str, suite: str, setup: Path, lock: str) -> str:
    """Run ``setup`` in a chroot of the cached ``suite`` rootfs and ``docker import`` it as ``tag``."""
    if _has_image(client, tag):
        return tag
    tarball = ensure_rootfs(suite)
    with _locked(lock):
        if _has_image(client, tag):
            return tag
        with tempfile.TemporaryDirectory(prefix=f"{lock}-", dir=cache_dir()) as tmp:
            root = Path(tmp) / "root"
            try:
                rootfs.unpack(tarball, root)
                (root / "etc/apt/sources.list").write_text(
                    rootfs.chroot_sources_list(debian_mirror(), rootfs.security_mirror(), suite)
                )
                (root / "etc/resolv.conf").write_bytes(Path("/etc/resolv.conf").read_bytes())
                (root / "tmp/setup.sh").write_bytes(setup.read_bytes())
                with rootfs.mounted_proc(root):
                    rootfs.chroot(root, "/bin/bash", "/tmp/setup.sh")
                (root / "tmp/setup.sh").unlink(missing_ok=True)
                rootfs.pack(root, Path(tmp) / "base.tar")
            finally:
                rootfs.safe_rmtree(root)
            _import(client, Path(tmp) / "base.tar", tag)
    return tag


def ensure_base_image(client: docker.DockerClient) -> str:
    """Import the base image with every package both images need; return its tag."""
    return _ensure_chroot_image(client, base_tag(), rootfs.SUITE, HERE / "base" / "setup.sh", "base")


def ensure_pg18_base_image(client: docker.DockerClient) -> str:
    """Import the PostgreSQL 18 base image (Debian unstable's ``postgresql-18``); return its tag."""
    setup = HERE / "postgres18" / "setup.sh"
    return _ensure_chroot_image(client, pg18_base_tag(), rootfs.UNSTABLE, setup, "base-pg18")


def _import(client: docker.DockerClient, tarball: Path, tag: str) -> None:
    """``docker import`` with the ``--change`` instructions of the base image."""
    repo, _, version = tag.partition(":")
    changes = [f"ENV PATH={DEFAULT_PATH}", "ENV LANG=C.UTF-8", 'CMD ["bash"]']
    changes += [f"LABEL {key}={value}" for key, value in LABELS.items()]
    result = client.api.import_image_from_file(str(tarball), repository=repo, tag=version, changes=changes)
    if not _has_image(client, tag):
        raise RuntimeError(f"docker import of {tag} failed: {str(result)[-2000:]}")


def _context_files(directory: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every file of a build context, sorted, caches skipped."""
    found = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if path.is_file() and not _SKIP_PARTS.intersection(rel.parts) and path.suffix != ".pyc":
            found.append((rel.as_posix(), path))
    return found


def _context_digest(directory: Path) -> str:
    parts: list[bytes | str] = []
    for name, path in _context_files(directory):
        parts += [name, path.read_bytes()]
    return _digest(*parts)


def _context_tar(directory: Path) -> io.BytesIO:
    """A reproducible build-context tarball: root-owned, fixed mtime, explicit modes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in _context_files(directory):
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size, info.mtime = len(data), 0
            info.mode = 0o755 if name in _EXECUTABLES else 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _ensure_layer(
    client: docker.DockerClient,
    tag: str,
    context: Path,
    buildargs: dict[str, str],
    ensure_base: Callable[[docker.DockerClient], str] = ensure_base_image,
) -> str:
    """Build ``context/Dockerfile`` on top of a base image as ``tag`` unless it exists."""
    if _has_image(client, tag):
        return tag
    base = ensure_base(client)
    with _locked(tag.partition(":")[0]):
        if not _has_image(client, tag):
            client.images.build(
                fileobj=_context_tar(context),
                custom_context=True,
                tag=tag,
                buildargs={"BASE": base, **buildargs},
                labels=LABELS,
                rm=True,
                forcerm=True,
                pull=False,
            )
    return tag


def _check_major(major: int) -> None:
    if major not in PG_MAJORS:
        raise ValueError(f"no PostgreSQL {major} stand-in (there are: {', '.join(map(str, PG_MAJORS))})")


def postgres_tag(major: int = 15) -> str:
    """Tag of the PostgreSQL ``major`` image for the current sources."""
    _check_major(major)
    build = (HERE / "build.py").read_bytes()
    context = _context_digest(HERE / "postgres")
    if major == 15:
        return f"{POSTGRES_REPO}:15-{_digest(base_tag(), build, context)}"
    key = _digest(pg18_base_tag(), build, context, repr(sorted(PG18_BUILDARGS.items())))
    return f"{POSTGRES_REPO}:{major}-{key}"


def odoo_tag(version: str = "18.0", uid: int = DEFAULT_UID) -> str:
    """Tag of the Odoo stand-in image of ``version`` whose ``odoo`` user has ``uid`` (current sources)."""
    build = (HERE / "build.py").read_bytes()
    key = _digest(base_tag(), build, version, str(uid), _context_digest(HERE / "odoo_standin"))
    return f"{ODOO_REPO}:{version}-{key}" if uid == DEFAULT_UID else f"{ODOO_REPO}:{version}-uid{uid}-{key}"


def ensure_postgres_image(client: docker.DockerClient, major: int = 15) -> str:
    """A PostgreSQL ``major`` (15 or 18) image with the interface of the official ``postgres:<major>``.

    Returns its tag. 18 has the official 18 layout: ``PGDATA=/var/lib/postgresql/18/docker``,
    ``VOLUME /var/lib/postgresql``.
    """
    _check_major(major)
    if major == 15:
        return _ensure_layer(client, postgres_tag(), HERE / "postgres", {})
    return _ensure_layer(
        client, postgres_tag(major), HERE / "postgres", PG18_BUILDARGS, ensure_pg18_base_image
    )


def ensure_odoo_image(client: docker.DockerClient, version: str = "18.0", uid: int = DEFAULT_UID) -> str:
    """An Odoo stand-in image with the layout and command line of the official ``odoo`` image.

    Its ``odoo`` user (and group) has ``uid``: 101 like the official image, or another one
    (e.g. :data:`OTHER_UID`) to exercise Oduflow's detection of an image's user.
    """
    buildargs = {"ODOO_VERSION": version, "ODOO_UID": str(uid)}
    return _ensure_layer(client, odoo_tag(version, uid), HERE / "odoo_standin", buildargs)


def prune_stale_images(client: docker.DockerClient, keep: set[str]) -> list[str]:
    """Remove tags of the test images other than ``keep`` that no container uses; return them."""
    removed = []
    for image in client.images.list(filters={"label": [f"{k}={v}" for k, v in LABELS.items()]}):
        for tag in image.tags:
            if tag.partition(":")[0] in (POSTGRES_REPO, ODOO_REPO, BASE_REPO) and tag not in keep:
                try:
                    client.images.remove(tag, noprune=False)
                except APIError:  # in use by a container: keep it
                    continue
                removed.append(tag)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Build the images and print their tags (``--prune``: drop stale tags afterwards)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-version", default="18.0", help="version the Odoo stand-in reports")
    parser.add_argument("--prune", action="store_true", help="remove older tags of the test images")
    args = parser.parse_args(argv)
    client = docker.from_env(timeout=600)
    try:
        for name, build in (
            ("postgres", lambda: ensure_postgres_image(client)),
            ("postgres 18", lambda: ensure_postgres_image(client, 18)),
            ("odoo", lambda: ensure_odoo_image(client, args.odoo_version)),
            (f"odoo uid {OTHER_UID}", lambda: ensure_odoo_image(client, args.odoo_version, OTHER_UID)),
        ):
            started = time.monotonic()
            tag = build()
            print(f"{name}: {tag} ({time.monotonic() - started:.1f}s)", flush=True)
        if args.prune:
            keep = {
                base_tag(),
                postgres_tag(),
                pg18_base_tag(),
                postgres_tag(18),
                odoo_tag(args.odoo_version),
                odoo_tag(args.odoo_version, OTHER_UID),
            }
            for tag in prune_stale_images(client, keep):
                print(f"removed {tag}", flush=True)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
