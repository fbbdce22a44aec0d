"""Auxiliary services without Docker: env var parsing, hostnames, masking and names."""

from __future__ import annotations

import pytest

from oduflow.errors import ValidationError
from oduflow.naming import Names
from oduflow.services.aux_services import MASK, ServiceSpec, check_hostname, new_spec, parse_env_vars


def test_env_vars_as_the_reference_gives_them_values_with_spaces_and_commas() -> None:
    text = "discovery.type=single-node,ES_JAVA_OPTS=-Xms512m -Xmx512m"
    assert parse_env_vars(text) == {"discovery.type": "single-node", "ES_JAVA_OPTS": "-Xms512m -Xmx512m"}
    assert parse_env_vars("MEILI_MASTER_KEY=abc123,MEILI_ENV=production") == {
        "MEILI_MASTER_KEY": "abc123",
        "MEILI_ENV": "production",
    }
    assert parse_env_vars("A=x,y, z,B=") == {"A": "x,y, z", "B": ""}
    assert parse_env_vars("") == parse_env_vars("  ") == {}


@pytest.mark.parametrize("text", ["novalue", "=v", "1A=v", "=x,A=1", "A B=v"])
def test_malformed_env_vars_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="KEY=VALUE"):
        parse_env_vars(text)


def test_hostnames_are_dns_names() -> None:
    assert check_hostname(" Search.Example.com ") == "search.example.com"
    assert check_hostname("") == ""
    for bad in ("-a.com", "a..b", "a_b.com", "x" * 64 + ".com", "a b"):
        with pytest.raises(ValidationError):
            check_hostname(bad)


def test_spec_validation_and_masked_listing_shows_keys_not_values() -> None:
    spec = new_spec("meilisearch", " getmeili/meilisearch:v1.6 ", 7700, "", "MEILI_MASTER_KEY=devkey123")
    assert spec == ServiceSpec(
        "meilisearch", "getmeili/meilisearch:v1.6", 7700, "", {"MEILI_MASTER_KEY": "devkey123"}
    )
    masked = spec.masked()
    assert masked["env_vars"] == {"MEILI_MASTER_KEY": MASK}
    assert "devkey123" not in repr(masked)
    for args in (
        ("Bad", "redis:7", 6379),
        ("redis", "", 6379),
        ("redis", "redis:7", 0),
        ("redis", "r", 70000),
    ):
        with pytest.raises(ValidationError):
            new_spec(*args)


def test_service_names_are_per_team_and_injective() -> None:
    names = Names("oduflow")
    assert names.service_alias("redis") == "oduflow-svc-redis"
    assert names.service_container("1", "redis") != names.service_container("2", "redis")
    assert names.team_network("a") != names.team_network("a-b")
    assert names.team_network("1") != names.network
    assert Names("a").team_network("x-net-y") != Names("a-net-x").team_network("y")
