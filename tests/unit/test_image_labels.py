"""Which image labels Oduflow refuses (the reserved namespaces) and the Traefik routing settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import config
from oduflow.errors import ConfigError
from oduflow.images import foreign_labels, is_reserved
from oduflow.plugins import Hooks, new_plugin_manager
from oduflow.testing import register_builtins


def load(path: Path) -> config.Config:
    """``config.load`` bound to the built-in plugins, as ``App`` binds it."""
    return Hooks(register_builtins(new_plugin_manager())).configure(config.load(path))


@pytest.mark.parametrize(
    ("key", "reserved"),
    [
        ("traefik.enable", True),
        ("traefik.http.routers.x.rule", True),
        ("Traefik.HTTP.routers.x.rule", True),
        (" traefik.enable", True),
        ("traefik", True),
        ("oduflow.team", True),
        ("ODUFLOW.instance", True),
        ("org.oduflow.test-image", False),
        ("oduflow-test.image", False),
        ("traefikx.enable", False),
        ("org.opencontainers.image.version", False),
        ("maintainer", False),
    ],
)
def test_reserved_namespaces(key: str, reserved: bool) -> None:
    assert is_reserved(key) is reserved


def test_foreign_labels_are_the_reserved_ones_oduflow_did_not_set() -> None:
    own = {"oduflow.managed": "true", "oduflow.team": "1", "traefik.enable": "true"}
    labels = {
        **own,
        "oduflow.env": "other",
        "traefik.http.routers.evil.rule": "Host(`x`)",
        "org.opencontainers.image.version": "24.04",
    }
    assert foreign_labels(labels, own) == ["oduflow.env", "traefik.http.routers.evil.rule"]
    assert foreign_labels({**labels, "oduflow.team": "2"}, own)[0] == "oduflow.env"
    assert "oduflow.team" in foreign_labels({"oduflow.team": "2"}, own)
    assert foreign_labels({"org.opencontainers.image.version": "24.04"}) == []
    assert foreign_labels(None, own) == []


@pytest.mark.parametrize(
    ("routing", "needle"),
    [
        ("http_port = 0", "key 'http_port' expects a port number"),
        ("https_port = 70000", "key 'https_port' expects a port number"),
        ("http_port = 8443\nhttps_port = 8443", "'http_port' and 'https_port' must differ"),
        ('bind_address = "localhost"', "key 'bind_address' expects an IP address"),
    ],
)
def test_bad_routing_settings(tmp_path: Path, routing: str, needle: str) -> None:
    path = tmp_path / "oduflow.toml"
    path.write_text(f'[routing]\nmode = "traefik"\nacme_email = "a@b.c"\n{routing}\n[team.1]\n')
    with pytest.raises(ConfigError, match=needle):
        load(path)


def test_routing_settings_defaults_and_values(tmp_path: Path) -> None:
    path = tmp_path / "oduflow.toml"
    path.write_text("[team.1]\n")
    routing = load(path).plugin_settings("routing_traefik")
    assert (routing["http_port"], routing["https_port"], routing["bind_address"]) == (80, 443, "")
    assert (routing["traefik_image"], routing["acme_ca_server"]) == ("traefik:v3.1", "")
    path.write_text('[routing]\nbind_address = "::1"\nhttp_port = 8080\n[team.1]\n')
    routing = load(path).plugin_settings("routing_traefik")
    assert (routing["bind_address"], routing["http_port"]) == ("::1", 8080)
    path.write_text("[plugins.routing_traefik]\nhttps_port = 8443\n[team.1]\n")
    assert load(path).plugin_settings("routing_traefik")["https_port"] == 8443
