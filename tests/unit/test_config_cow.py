"""The copy-on-write keys: ``[storage].cow_image_size_gb`` / ``cow_image`` and
``[database].data_in_data_dir``, their defaults and what they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import config
from oduflow.app import App
from oduflow.errors import ConfigError
from oduflow.services import cowfs, dbserver, runtime


def _load(tmp_path: Path, storage: str = "", database: str = "") -> config.Config:
    path = tmp_path / "oduflow.toml"
    path.write_text(
        f'[database]\n{database}\n[storage]\ndata_dir = "{tmp_path / "data"}"\n{storage}\n[team.1]\n'
    )
    return config.load(path)


def test_off_by_default_and_in_the_bundled_file(tmp_path: Path) -> None:
    cfg = _load(tmp_path)
    assert (cfg.storage.cow_image_size_gb, cfg.storage.cow_image, cfg.database.data_in_data_dir) == (
        0,
        "",
        False,
    )
    assert cowfs.managed(cfg) is None
    assert not dbserver.data_on_host(App(cfg))
    bundled = Path(config.__file__).parent / "resources" / "oduflow.toml"
    text = bundled.read_text()
    assert "cow_image_size_gb" in text and "cow_image" in text and "data_in_data_dir" in text


def test_the_default_image_is_a_sibling_of_the_data_dir(tmp_path: Path) -> None:
    cfg = _load(tmp_path, "cow_image_size_gb = 3")
    fs = cowfs.managed(cfg)
    assert fs is not None
    assert fs.image == tmp_path / "data.xfs"
    assert fs.mount_point == tmp_path / "data"
    assert fs.size_bytes == 3 * 2**30
    app = App(cfg)
    assert dbserver.data_on_host(app)  # implied by the managed filesystem
    assert dbserver.host_data_path(app) == tmp_path / "data" / "postgres" / "data"


def test_an_explicit_image_and_the_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODUFLOW_STORAGE_COW_IMAGE_SIZE_GB", "7")
    monkeypatch.setenv("ODUFLOW_STORAGE_COW_IMAGE", str(tmp_path / "images" / "cow.img"))
    monkeypatch.setenv("ODUFLOW_DATABASE_DATA_IN_DATA_DIR", "true")
    cfg = _load(tmp_path)
    assert cfg.storage.cow_image_size_gb == 7 and cfg.database.data_in_data_dir is True
    assert config.cow_image_path(cfg) == tmp_path / "images" / "cow.img"


def test_data_in_data_dir_alone_keeps_the_data_on_the_host(tmp_path: Path) -> None:
    cfg = _load(tmp_path, database="data_in_data_dir = true")
    assert cowfs.managed(cfg) is None
    assert dbserver.data_on_host(App(cfg))
    assert runtime.docker_restarts(App(cfg), None)  # nothing is mounted by Oduflow: Docker may


def test_managed_filesystem_keeps_docker_from_restarting_environments(tmp_path: Path) -> None:
    assert runtime.docker_restarts(App(_load(tmp_path)), None)
    assert not runtime.docker_restarts(App(_load(tmp_path, "cow_image_size_gb = 1")), None)


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("cow_image_size_gb = -1", "cow_image_size_gb' expects a number >= 0"),
        ('cow_image_size_gb = "big"', "expects an integer"),
        ("cow_image_size_gb = 1\ncow_image = 'relative.xfs'", "expects an absolute path"),
        ("cow_image_size_gb = 1\ncow_image = '{data}/inside.xfs'", "must be outside data_dir"),
        ("cow_image_size_gb = 1\ncow_image = '{data}'", "must be outside data_dir"),
        ("cow_image_size_gb = 1\ncow_image = '{data}/a/b/deep.xfs'", "must be outside data_dir"),
    ],
)
def test_refused(tmp_path: Path, storage: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, storage.replace("{data}", str(tmp_path / "data")))


def test_the_root_directory_cannot_be_the_mount_point(tmp_path: Path) -> None:
    path = tmp_path / "oduflow.toml"
    path.write_text('[storage]\ndata_dir = "/"\ncow_image_size_gb = 1\ncow_image = "/srv/x.xfs"\n[team.1]\n')
    with pytest.raises(ConfigError, match="cannot mount an image at /"):
        config.load(path)


def test_data_in_data_dir_expects_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data_in_data_dir' expects true or false"):
        _load(tmp_path, database='data_in_data_dir = "yes"')


def test_stray_entries_ignore_only_oduflow_lock_files(tmp_path: Path) -> None:
    point = tmp_path / "point"
    assert cowfs.stray_entries(point) == []  # missing: nothing
    (point / "locks").mkdir(parents=True)
    (point / "locks" / "system-system-abc.lock").write_text("{}")
    (point / "locks" / "slots").mkdir()
    (point / "locks" / "slots" / "team-1-0.lock").write_text("")
    assert cowfs.stray_entries(point) == []  # what the catalog makes before init runs
    (point / "locks" / "slots" / "other").symlink_to("/etc")
    assert cowfs.stray_entries(point) == ["locks"]
    (point / "locks" / "slots" / "other").unlink()
    (point / "locks" / "notes.txt").write_text("x")
    assert cowfs.stray_entries(point) == ["locks"]
    (point / "state.db").write_text("")
    assert cowfs.stray_entries(point) == ["locks", "state.db"]
