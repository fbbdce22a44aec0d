"""Storage on real FUSE: overlay passes the contract suite, and a third-party copy-on-write
backend gets the protections the core gives every ``shares_template_filestore`` backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import oduflow
from oduflow.app import App
from oduflow.config import load
from oduflow.contracts import StorageBackend
from oduflow.errors import ConflictError
from oduflow.plugins import Hooks, get_plugin_manager
from oduflow.services.envmodel import get_env
from oduflow.testing import StorageBackendContract
from oduflow_plugins import storage_overlay
from oduflow_plugins.storage_overlay import OverlayStorage
from tests.docker.odoo_env import call, delete_if_present
from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import GitRemote, Instance

TEAM = "1"


class TestOverlayStorage(StorageBackendContract):
    @pytest.fixture
    def backend(self, oduflow_hooks: Hooks, register_plugin: Callable[..., object]) -> StorageBackend:
        register_plugin(storage_overlay)
        return oduflow_hooks.storage_backends()["overlay"]  # the contract skips it without FUSE


class CowStorage(OverlayStorage):
    """A third party's copy-on-write backend (it happens to use fuse-overlayfs too)."""

    name = "cow-test"
    legacy_flag = ""

    def preference(self, filestore_mb: float, config: object) -> int:
        return 0  # only templates that name it


class CowPlugin:
    @oduflow.hookimpl
    def oduflow_register_storage(self, register: Callable[[StorageBackend], None]) -> None:
        register(CowStorage())


@pytest.fixture(scope="module")
def cow_app(instance: Instance) -> App:
    pm = get_plugin_manager()
    pm.register(CowPlugin(), name="cow_test")
    return App(load(instance.config_path), pm)


@pytest.fixture(scope="module")
def cow_template(instance: Instance, cow_app: App) -> Iterator[str]:
    """A template whose ``metadata.json`` names the third-party backend."""
    base = next(template_fixtures.base_template(instance, "cowbase"))
    name = template_fixtures.make_overlay_template(cow_app, base, "cowtpl", instance.odoo_image)
    meta_path = cow_app.team_dir(TEAM) / "templates" / name / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta.pop("use_overlay", None)
    meta_path.write_text(json.dumps({**meta, "storage": CowStorage.name}))
    yield name
    for template in (name, base):
        template_fixtures.delete_template_if_present(cow_app, template)


def test_a_third_party_copy_on_write_backend_is_protected(
    cow_app: App, cow_template: str, git_remote: Callable[..., GitRemote]
) -> None:
    app, team = cow_app, cow_app.config.team(TEAM)
    call(
        app,
        "create_environment",
        branch_name="cow-a",
        template_name=cow_template,
        repo_url=git_remote("demo_ok").url,
    )
    try:
        env = get_env(app, team, "cow-a")
        assert env.params.storage == CowStorage.name
        with pytest.raises(ConflictError, match="filestore base of environment"):
            call(app, "delete_template", template_name=cow_template)
        merged: Path = env.filestore(app).merged
        (merged / "own.txt").write_text("saved into the template")
        call(app, "save_as_template", branch_name="cow-a", template_name=cow_template)
        # released and provisioned again on the new template filestore: the file is now the template's
        assert app.hooks.storage(CowStorage.name).is_healthy(env.filestore(app))
        assert (merged / "own.txt").read_text() == "saved into the template"
        assert not (env.filestore(app).upper / "own.txt").exists()
        assert (app.team_dir(TEAM) / "templates" / cow_template / "filestore" / "own.txt").is_file()
    finally:
        delete_if_present(app, "cow-a")
