"""Configuration: file format, defaults, errors that name file and key, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import config
from oduflow.app import resource_path
from oduflow.errors import ConfigError
from oduflow.plugins import Hooks, list_plugins, new_plugin_manager
from oduflow.settings import MASK, PluginSettings, Setting
from oduflow.testing import register_builtins


def load(path: Path | None = None) -> config.Config:
    """``config.load`` bound to the built-in plugins, as ``App`` binds it."""
    return Hooks(register_builtins(new_plugin_manager())).configure(config.load(path))


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "oduflow.toml"
    p.write_text(text)
    return p


def test_bundled_default_file_has_every_key_with_reference_defaults() -> None:
    cfg = load(resource_path("oduflow.toml"))
    assert cfg.server.host == "0.0.0.0" and cfg.server.port == 8000 and cfg.server.trace is False
    assert cfg.routing.mode == "port" and cfg.plugin_settings("routing_traefik")["acme_email"] == ""
    assert (cfg.database.user, cfg.database.password, cfg.database.image) == ("odoo", "", "postgres:15")
    assert cfg.plugin_settings("storage_overlay")["threshold_mb"] == 50
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
        ('[routing]\nmode = "nginx"\n[team.1]\n', "unknown routing mode 'nginx' (known: port, traefik)"),
        ('[routing]\nmode = "Bad Mode"\n[team.1]\n', "key 'mode' expects a router name"),
        ('[routing]\nmode = "traefik"\n[team.1]\n', "key 'acme_email' (or [routing].acme_email) is required"),
        (
            "[routing]\nacme_mail = 'a@b.c'\n[team.1]\n",
            "unknown key(s) acme_mail; expected one of acme_ca_server",
        ),
        ("[storage]\noverlay_threshold_mb = -1\n[team.1]\n", "key 'threshold_mb' expects a number >= 0"),
        ("[plugins.storage_overlay]\nthreshold = 5\n[team.1]\n", "[plugins.storage_overlay]: unknown key(s)"),
        ("[plugins.s3]\nbucket = 'b'\n[team.1]\n", "no loaded plugin declares settings named 's3'"),
        (
            "[storage]\noverlay_threshold_mb = 5\n[plugins.storage_overlay]\nthreshold_mb = 6\n[team.1]\n",
            "'threshold_mb' is set twice",
        ),
        (
            "[team.1]\nport_range = [50000, 50100]\n[team.2]\nport_range = [50050, 50150]\n",
            "overlap; give each team its own range",
        ),
        ("[team.1]\nauth_token='x'\n[team.2]\nauth_token='x'\n", "share the same auth_token"),
        ("[team.1\n", "invalid TOML"),
    ],
)
def test_bad_files_name_file_key_and_expectation(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(p)
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


def test_plugin_settings_tables_aliases_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented aliases ([routing].acme_email, [storage].overlay_threshold_mb) and the
    plugins' own tables give the same settings; environment variables win."""
    aliases = write(
        tmp_path, "[routing]\nacme_email = 'a@b.c'\n[storage]\noverlay_threshold_mb = 7\n[team.1]\n"
    )
    cfg = load(aliases)
    assert cfg.plugin_settings("routing_traefik")["acme_email"] == "a@b.c"
    assert cfg.plugin_settings("storage_overlay") == {"threshold_mb": 7}
    (tmp_path / "t").mkdir()
    tables = write(
        tmp_path / "t",
        "[plugins.routing_traefik]\nacme_email = 'x@y.z'\n[plugins.storage_overlay]\nthreshold_mb = 8\n"
        '[routing]\nmode = "traefik"\n[team.1]\n',
    )
    cfg = load(tables)
    assert cfg.plugin_settings("routing_traefik")["acme_email"] == "x@y.z"
    assert cfg.plugin_settings("storage_overlay")["threshold_mb"] == 8
    monkeypatch.setenv("ODUFLOW_STORAGE_OVERLAY_THRESHOLD_MB", "9")
    assert load(tables).plugin_settings("storage_overlay")["threshold_mb"] == 9
    monkeypatch.setenv("ODUFLOW_PLUGINS_STORAGE_OVERLAY_THRESHOLD_MB", "10")
    assert load(tables).plugin_settings("storage_overlay")["threshold_mb"] == 10
    with pytest.raises(TypeError):
        cfg.plugin_settings("storage_overlay")["threshold_mb"] = 1  # type: ignore[index]
    with pytest.raises(ConfigError, match="no loaded plugin declares settings named 'nope'"):
        cfg.plugin_settings("nope")


def test_a_blocked_plugins_table_is_ignored(tmp_path: Path) -> None:
    pm = register_builtins(new_plugin_manager())
    pm.unregister(name="storage_overlay")
    pm.set_blocked("storage_overlay")
    cfg = Hooks(pm).configure(
        config.load(write(tmp_path, "[plugins.storage_overlay]\nthreshold_mb = 3\n[team.1]\n"))
    )
    with pytest.raises(ConfigError, match="no loaded plugin declares"):
        cfg.plugin_settings("storage_overlay")


def test_oduflow_plugins_lists_settings_with_secrets_masked(tmp_path: Path) -> None:
    class Vault:
        @staticmethod
        def oduflow_declare_settings() -> PluginSettings:
            return PluginSettings("vault", (Setting("token", "", secret=True), Setting("url", "https://v")))

    pm = register_builtins(new_plugin_manager())
    pm.register(Vault(), name="vault")
    cfg = config.load(
        write(tmp_path, "[plugins.vault]\ntoken = 's3cr3t'\n[routing]\nacme_email = 'a@b.c'\n[team.1]\n")
    )
    infos = {p.name: p.to_dict() for p in list_plugins(pm, cfg)}
    assert infos["vault"]["settings"] == {"token": MASK, "url": "https://v"}
    assert infos["routing_traefik"]["settings"]["acme_email"] == "a@b.c"
    assert infos["routing_traefik"]["settings"]["http_port"] == 80
    assert infos["storage_copy"]["settings"] == {}
    assert "s3cr3t" not in repr(infos)
