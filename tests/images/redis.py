"""Build (once) a Redis image from Debian's ``redis-server``, as the other test images are built.

The cached ``debootstrap`` rootfs (:func:`tests.images.build.ensure_rootfs`) gets
``redis/setup.sh`` in a ``chroot``; the result is packed (cached on disk by content hash) and
``docker import``-ed with the official image's interface: ``redis-server`` on port 6379 as user
``redis``, data in ``/data``. The tag carries the content hash of the rootfs, the recipe and this
file, so an unchanged image is found at once.

Usage: ``python -m tests.images.redis`` prints the tag.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker

from tests.images import build, rootfs

REDIS_REPO = "oduflow-test-redis"
RECIPE = Path(__file__).resolve().parent / "redis"
CHANGES = [
    f"ENV PATH={build.DEFAULT_PATH}",
    "ENV LANG=C.UTF-8",
    "USER redis",
    "WORKDIR /data",
    "EXPOSE 6379",
    'CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data"]',
    *(f"LABEL {key}={value}" for key, value in build.LABELS.items()),
]


def redis_key() -> str:
    """Content key: the rootfs, the recipe, the import instructions and this file."""
    return build._digest(
        build.rootfs_key(), build._context_digest(RECIPE), repr(CHANGES), Path(__file__).read_bytes()
    )


def redis_tag() -> str:
    return f"{REDIS_REPO}:7-{redis_key()}"


def ensure_tarball() -> Path:
    """The packed Redis root filesystem (built once, cached on disk)."""
    target = build.cache_dir() / f"redis-{redis_key()}.tar"
    if target.is_file():
        return target
    tarball = build.ensure_rootfs()
    with build._locked("redis-rootfs"):
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(prefix="redis-", dir=build.cache_dir()) as tmp:
            root = Path(tmp) / "root"
            try:
                rootfs.unpack(tarball, root)
                (root / "etc/apt/sources.list").write_text(
                    rootfs.chroot_sources_list(build.debian_mirror(), rootfs.security_mirror())
                )
                (root / "etc/resolv.conf").write_bytes(Path("/etc/resolv.conf").read_bytes())
                (root / "tmp/setup.sh").write_bytes((RECIPE / "setup.sh").read_bytes())
                with rootfs.mounted_proc(root):
                    rootfs.chroot(root, "/bin/bash", "/tmp/setup.sh")
                (root / "tmp/setup.sh").unlink(missing_ok=True)
                rootfs.pack(root, Path(tmp) / "redis.tar")
            finally:
                rootfs.safe_rmtree(root)
            (Path(tmp) / "redis.tar").replace(target)
    return target


def ensure_redis_image(client: docker.DockerClient) -> str:
    """The Redis test image's tag (imported when missing)."""
    tag = redis_tag()
    if build._has_image(client, tag):
        return tag
    tarball = ensure_tarball()
    with build._locked(REDIS_REPO):
        if not build._has_image(client, tag):
            repo, _, version = tag.partition(":")
            result = client.api.import_image_from_file(
                str(tarball), repository=repo, tag=version, changes=CHANGES
            )
            if not build._has_image(client, tag):
                raise RuntimeError(f"docker import of {tag} failed: {str(result)[-2000:]}")
    return tag


if __name__ == "__main__":
    print(ensure_redis_image(docker.from_env()))
