"""Module-scoped pytest fixtures for the tests that run the test images (a plugin of tests/conftest.py).

A missing Docker engine, reference log or reference addon is a failure, not a skip: these tests
are the proof that the stand-in behaves like the real server, so they must not pass by not running.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.images import build
from tests.images.harness import Lab, StandinEnv

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data"
"""Copies of ``shared/reference`` (checked byte for byte by the tests when it is present)."""
SHARED = ROOT.parent / "shared" / "reference"


def reference_file(name: str) -> str:
    """A capture of the real server (``tests/data/odoo18-logs/NAME``)."""
    path = REFERENCE / "odoo18-logs" / name
    assert path.is_file(), f"reference capture missing: {path}"
    return path.read_text()


def reference_log(name: str) -> str:
    """The log of a run of the real server, without the ``exit=N`` line added by the capture."""
    return "".join(
        line for line in reference_file(name).splitlines(keepends=True) if not line.startswith("exit=")
    )


def reference_exit(name: str) -> int:
    """The exit code recorded at the end of a capture (``exit=N``)."""
    lines = [ln for ln in reference_file(name).splitlines() if ln.startswith("exit=")]
    assert lines, f"{name} records no exit code"
    return int(lines[-1].partition("=")[2])


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    try:
        engine = docker.from_env(timeout=900)
        engine.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the image fidelity tests need a running Docker engine: {exc}")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def images(client: Any) -> dict[str, str]:
    return {"postgres": build.ensure_postgres_image(client), "odoo": build.ensure_odoo_image(client)}


@pytest.fixture(scope="module")
def lab(client: Any) -> Iterator[Lab]:
    resources = Lab(client)
    try:
        yield resources
    finally:
        resources.cleanup()


@pytest.fixture(scope="module")
def addons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference addons plus ``demo_http`` (an HttpCase using the run's own HTTP server)."""
    source = REFERENCE / "odoo18-addons"
    assert source.is_dir(), f"reference addons missing: {source}"
    target = tmp_path_factory.mktemp("addons") / "extra-addons"
    shutil.copytree(source, target)
    shutil.copytree(Path(__file__).parent / "addons" / "demo_http", target / "demo_http")
    for path in [target.parent, target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture(scope="module")
def env(
    lab: Lab, images: dict[str, str], addons: Path, tmp_path_factory: pytest.TempPathFactory
) -> StandinEnv:
    return StandinEnv(lab, images, addons, tmp_path_factory.mktemp("pgconf"))


@pytest.fixture(scope="module")
def base_db(env: StandinEnv) -> str:
    """A database with ``base`` installed (``-i base`` on an empty database), used as a template."""
    name = "img_base"
    env.execute("postgres", f'CREATE DATABASE "{name}"')
    run = env.odoo("odoo", "-d", name, "-i", "base", "--stop-after-init", "--without-demo=all")
    assert run.rc == 0, run.stderr
    return name
