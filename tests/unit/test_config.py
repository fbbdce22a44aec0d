"""Configuration: file format, defaults, errors that name file and key, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import config
from oduflow.app import resource_path
from oduflow.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "oduflow.toml"
    p.write_text(text)
    return p


def test_bundled_default_file_has_every_key_with_reference_defaults() -> None:
    cfg = config.load(resource_path("oduflow.toml"))
    assert cfg.server.host == "0.0.0.0" and cfg.server.port == 8000 and cfg.server.trace is False
    assert cfg.routing.mode == "port" and cfg.routing.acme_email == ""
    assert (cfg.database.user, cfg.database.password, cfg.database.image) == ("odoo", "", "postgres:15")
    assert cfg.storage.overlay_threshold_mb == 50
    team = cfg.team("1")
    assert (team.hostname, team.auth_token, team.ui_password, team.port_range) == (
        "localhost",
        "",
        "",
        (50000, 50100),
    )


def test_minimal_file_and_two_teams(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '[team.1]\nhostname = "a.example.com"\nauth_token = "t1"\n'
        '[team.2]\nhostname = "b.example.com"\nport_range = [50050, 50100]\n',
    )
    cfg = config.load(p)
    assert set(cfg.teams) == {"1", "2"}
    assert cfg.team("2").port_range == (50050, 50100)
    assert cfg.path == p and cfg.config_dir == tmp_path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[server]\nport = "eighty"\n[team.1]\n', "key 'port' expects an integer"),
        ("[server]\nprot = 1\n[team.1]\n", "unknown key(s) prot"),
        ("[serveur]\n[team.1]\n", "unknown section(s) serveur"),
        ("[server]\n", "at least one [team.<id>] section"),
        ("[team.1]\nport_range = [5, 1]\n", "key 'port_range' expects 1 <= start < end"),
        ("[team.1]\nport_range = 5\n", "key 'port_range' expects [start, end]"),
        ('[routing]\nmode = "nginx"\n[team.1]\n', "key 'mode'"),
        ('[routing]\nmode = "traefik"\n[team.1]\n', "key 'acme_email' is required"),
        ("[team.1]\nauth_token='x'\n[team.2]\nauth_token='x'\n", "share the same auth_token"),
        ("[team.1\n", "invalid TOML"),
    ],
)
def test_bad_files_name_file_key_and_expectation(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert needle in str(err.value)
    assert str(p) in str(err.value)


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "[server]\nport = 9000\n[team.1]\nauth_token = 'file'\n")
    monkeypatch.setenv("ODUFLOW_SERVER_PORT", "9100")
    monkeypatch.setenv("ODUFLOW_TEAM_1_AUTH_TOKEN", "env")
    monkeypatch.setenv("ODUFLOW_SERVER_ALLOW_LOCAL_REPOS", "true")
    cfg = config.load(p)
    assert cfg.server.port == 9100 and cfg.team("1").auth_token == "env"
    assert cfg.server.allow_local_repos is True
    monkeypatch.setenv("ODUFLOW_SERVER_PORT", "abc")
    with pytest.raises(ConfigError, match="ODUFLOW_SERVER_PORT"):
        config.load(p)


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "[team.7]\n")
    monkeypatch.setenv("ODUFLOW_TOML", str(p))
    assert config.search_paths()[0] == p
    assert set(config.load().teams) == {"7"}
    monkeypatch.setenv("ODUFLOW_TOML", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        config.load()


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[team.1]\n"))
    with pytest.raises(AttributeError):
        cfg.server.port = 1  # type: ignore[misc]
