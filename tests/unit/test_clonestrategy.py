"""The choice of a clone strategy from what the server can do (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow import config
from oduflow.errors import ConfigError, PrerequisiteNotMetError
from oduflow.services.clonestrategy import CloneStrategy, _choose

PG15, PG18 = 150013, 180001


@pytest.mark.parametrize(
    ("wanted", "version", "can_clone", "pool", "expected"),
    [
        ("auto", PG18, True, 1, "reflink"),
        ("auto", PG18, True, 0, "reflink"),
        ("auto", PG18, False, 1, "pool"),  # PostgreSQL 18 on ext4 silently copies: not reflink
        ("auto", PG15, True, 1, "pool"),  # a reflink filesystem under PostgreSQL 15: no clone
        ("auto", PG15, False, 0, "file_copy"),
        ("pool", PG18, True, 2, "pool"),
        ("file_copy", PG18, True, 1, "file_copy"),
        ("reflink", PG18, True, 0, "reflink"),
    ],
)
def test_choice(wanted: str, version: int, can_clone: bool, pool: int, expected: str) -> None:
    name, reason = _choose(wanted, version, can_clone, pool)
    assert name == expected
    assert reason


def test_reasons_name_the_missing_fact() -> None:
    assert "PostgreSQL 15" in _choose("auto", PG15, True, 1)[1]
    assert "filesystem" in _choose("auto", PG18, False, 0)[1]


@pytest.mark.parametrize(
    ("version", "can_clone", "fact"), [(PG15, True, "18 or newer"), (PG18, False, "XFS")]
)
def test_reflink_asked_for_but_impossible_is_refused(version: int, can_clone: bool, fact: str) -> None:
    with pytest.raises(PrerequisiteNotMetError, match=fact):
        _choose("reflink", version, can_clone, 1)


def test_pool_asked_for_without_spares_is_refused() -> None:
    with pytest.raises(PrerequisiteNotMetError, match="pool_size"):
        _choose("pool", PG18, False, 0)


def test_only_reflink_clones_with_file_copy_method_clone() -> None:
    made = {n: CloneStrategy(n, "", PG18, "", "", n == "reflink") for n in ("reflink", "pool", "file_copy")}
    assert {n: s.file_copy_method for n, s in made.items()} == {
        "reflink": "clone",
        "pool": "",
        "file_copy": "",
    }


def test_config_key_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "oduflow.toml"
    path.write_text('[database]\nclone_strategy = "magic"\n[team.1]\n')
    with pytest.raises(ConfigError, match="clone_strategy"):
        config.load(path)
    path.write_text('[database]\nclone_strategy = "reflink"\npool_size = 0\n[team.1]\n')
    assert config.load(path).database.clone_strategy == "reflink"
    path.write_text("[database]\npool_size = -1\n[team.1]\n")
    with pytest.raises(ConfigError, match="pool_size"):
        config.load(path)
