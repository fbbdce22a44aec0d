"""The ``reflink`` filestore backend where nothing can be cloned (ext4 ``tmp_path``): it refuses
instead of copying bytes, is never chosen, and where the data directory can clone it ranks
above ``copy`` always and above ``overlay`` up to ``max_mb``
(on XFS: tests/docker/test_storage_reflink.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pluggy
import pytest
from typer.testing import CliRunner

from oduflow.contracts import FilestoreSpec
from oduflow.errors import PrerequisiteNotMetError
from oduflow.plugins import Hooks
from oduflow.reflink import supports_reflink
from oduflow.surfaces.cli import cli
from oduflow.testing import bound_config
from oduflow_plugins import storage_reflink
from oduflow_plugins.storage_reflink import SETTINGS, ReflinkStorage


@pytest.fixture(autouse=True)
def _no_reflink_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if supports_reflink(tmp_path):
        pytest.skip("tmp_path is on a reflink filesystem here; these tests need one that is not")
    monkeypatch.setattr(storage_reflink, "_probed", {})


def _lower(tmp_path: Path) -> Path:
    lower = tmp_path / "template" / "filestore"
    (lower / "ab").mkdir(parents=True)
    (lower / "ab" / "abcdef").write_text("template")
    return lower


def _spec(tmp_path: Path, lower: Path | None) -> FilestoreSpec:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return FilestoreSpec(workspace=workspace, lower=lower, uid=os.getuid(), gid=os.getgid())


@pytest.mark.parametrize("with_template", [True, False])
def test_provision_refuses_a_filesystem_that_cannot_clone_and_leaves_nothing(
    tmp_path: Path, with_template: bool
) -> None:
    spec = _spec(tmp_path, _lower(tmp_path) if with_template else None)
    with pytest.raises(PrerequisiteNotMetError) as err:
        ReflinkStorage().provision(spec)
    message = str(err.value)
    assert f"cannot clone into {spec.workspace}" in message
    assert "cannot make reflink copies" in message and '"storage": "copy"' in message
    assert list(spec.workspace.iterdir()) == []


def test_reset_refuses_before_the_environment_loses_its_files(tmp_path: Path) -> None:
    spec = _spec(tmp_path, None)
    spec.merged.mkdir()  # as a filestore made where cloning worked
    (spec.merged / "own").write_text("the environment's")
    with pytest.raises(PrerequisiteNotMetError, match="cannot make reflink copies"):
        ReflinkStorage().reset(spec, _lower(tmp_path))
    assert (spec.merged / "own").read_text() == "the environment's"
    assert sorted(p.name for p in spec.workspace.iterdir()) == ["filestore"]


def test_an_existing_filestore_is_never_replaced_or_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_reflink, "supports_reflink", lambda _path: True)
    spec = _spec(tmp_path, None)
    spec.merged.mkdir()
    (spec.merged / "own").write_text("kept")
    with pytest.raises(FileExistsError):
        ReflinkStorage().provision(spec)
    assert (spec.merged / "own").read_text() == "kept"


def test_never_chosen_where_the_data_directory_cannot_clone(
    tmp_path: Path, builtin_plugins: pluggy.PluginManager
) -> None:
    config = bound_config(builtin_plugins, {"storage": {"data_dir": str(tmp_path)}})
    hooks = Hooks(builtin_plugins)
    for size in (0.0, 1.0, 100.0, 1e6):
        assert ReflinkStorage().preference(size, config) == 0
        assert hooks.preferred_storage(size, config) != "reflink"
    missing = bound_config(builtin_plugins, {"storage": {"data_dir": str(tmp_path / "not-yet")}})
    assert ReflinkStorage().preference(1.0, missing) == 0
    # a missing directory is not remembered; the probed one is, by path and filesystem
    assert storage_reflink._probed == {(os.path.realpath(tmp_path), tmp_path.stat().st_dev): False}


def test_where_it_clones_it_beats_copy_and_yields_large_filestores_to_overlay(
    tmp_path: Path, builtin_plugins: pluggy.PluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[Path] = []

    def probe(path: Path) -> bool:
        probes.append(path)
        return True

    monkeypatch.setattr(storage_reflink, "supports_reflink", probe)
    config = bound_config(builtin_plugins, {"storage": {"data_dir": str(tmp_path)}})
    limit = config.plugin_settings("storage_reflink")["max_mb"]
    hooks, backend = Hooks(builtin_plugins), ReflinkStorage()
    assert [backend.preference(mb, config) for mb in (0.0, limit, limit + 1)] == [3, 3, 2]
    assert probes == [Path(os.path.realpath(tmp_path))]  # probed once for the process
    assert hooks.preferred_storage(limit, config) == "reflink"
    overlay_usable = hooks.storage_backends()["overlay"].available() is None
    assert hooks.preferred_storage(limit + 1, config) == ("overlay" if overlay_usable else "reflink")
    unlimited = bound_config(
        builtin_plugins,
        {"storage": {"data_dir": str(tmp_path)}, "plugins": {"storage_reflink": {"max_mb": 0}}},
    )
    assert backend.preference(1e6, unlimited) == 3 and hooks.preferred_storage(1e6, unlimited) == "reflink"


def test_listed_by_oduflow_plugins_with_its_setting() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    info = {p["name"]: p for p in json.loads(result.output)}["storage_reflink"]
    assert info["builtin"] is True and info["distribution"] == "oduflow"
    assert info["hooks"] == ["oduflow_declare_settings", "oduflow_register_storage"]
    assert info["settings"] == {"max_mb": SETTINGS.settings[0].default}
