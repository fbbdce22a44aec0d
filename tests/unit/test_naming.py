"""Names: validation, slugs, PostgreSQL's 63-byte limit, path traversal."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from oduflow.errors import ValidationError
from oduflow.naming import (
    PG_MAX_IDENT,
    Names,
    branch_slug,
    fit,
    under,
    validate_branch,
    validate_template_name,
)


@pytest.mark.parametrize(
    "bad",
    ["", "-rm", "a..b", "a b", "a;rm -rf /", "../x", "x/", "x.lock", "a\nb", "$(id)", "a//b", "x" * 201],
)
def test_bad_branches_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        validate_branch(bad)


def test_slugs() -> None:
    assert branch_slug("Feature/Login_2") == "feature-login-2"
    assert branch_slug("main") == "main"


def test_long_names_never_collide_after_63_bytes() -> None:
    names = Names()
    a = "feature/" + "x" * 80 + "-a"
    b = "feature/" + "x" * 80 + "-b"
    sa, sb = branch_slug(a), branch_slug(b)
    assert sa != sb
    for make in (names.env_db, names.env_role):
        da, db_ = make("1", sa), make("1", sb)
        assert da != db_
        assert len(da.encode()) <= 63 and len(db_.encode()) <= 63
    long_a, long_b = "t" * 70 + "a", "t" * 70 + "b"
    assert fit(long_a) != fit(long_b) and len(fit(long_a)) == 63
    assert fit("short") == "short"


def test_template_names() -> None:
    assert validate_template_name("v17-prod") == "v17-prod"
    for bad in ("none", "../etc", "A", "a b", "x;drop"):
        with pytest.raises(ValidationError):
            validate_template_name(bad)


def test_prefix_separates_instances() -> None:
    a, b = Names("oduflow"), Names("oduflowtest")
    assert a.network != b.network and a.db_container != b.db_container
    assert a.env_container("1", "x") != b.env_container("1", "x")
    assert b.labels("env", "1")["oduflow.instance"] == "oduflowtest"
    assert "oduflow.instance=oduflowtest" in b.instance_filter()["label"]


def test_under_refuses_escape(tmp_path: Path) -> None:
    assert under(tmp_path, "a", "b") == tmp_path.resolve() / "a" / "b"
    with pytest.raises(ValidationError):
        under(tmp_path, "..", "etc")
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(ValidationError):
        under(tmp_path, "link")


# --- injectivity: no two owners ever share a name ------------------------------------------
TEAM_CHARS = string.ascii_letters + string.digits + "-"
SLUG_CHARS = string.ascii_lowercase + string.digits + "-"
TEMPLATE_CHARS = string.ascii_lowercase + string.digits + "_-"


def _word(rng: random.Random, chars: str, low: int, high: int) -> str:
    return rng.choice(chars.replace("-", "").replace("_", "")) + "".join(
        rng.choice(chars) for _ in range(rng.randint(low, high) - 1)
    )


def owners(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(team, slug-or-template) pairs: the known colliding shapes plus random ones."""
    known = [
        ("a", "b-x"), ("a-b", "x"), ("a", "x"), ("a", "x__build"), ("a", "x__old"), ("a", "x_build"),
        ("a", "template-foo"), ("a", "foo"), ("a-template", "foo"), ("1", "job-x"), ("1", "env"),
        ("a", "b" * 60), ("a", "b" * 61), ("a-b", "b" * 58),
    ]  # fmt: skip
    for _ in range(count):
        team = _word(rng, TEAM_CHARS, 1, 20)
        name = _word(rng, TEMPLATE_CHARS, 1, 63)
        known.append((team, name))
        known.append((team, "-".join(part for part in name.replace("_", "-").split("-") if part)))
    return known


def test_every_name_has_one_owner() -> None:
    """Each resource name (container, router, database, role) belongs to exactly one
    (kind, team, name): the kinds' names never meet, nor do two teams' or two templates'."""
    names, rng = Names(), random.Random(8)
    pairs = owners(rng, 400)
    makers = {
        "env container": names.env_container,
        "editor container": names.template_container,
        "router": names.router,
    }
    db_makers = {
        "env db": names.env_db,
        "template db": names.template_db,
        "build db": names.template_build_db,
        "old db": names.template_old_db,
    }
    for group in (makers, db_makers):
        seen: dict[str, tuple[str, str, str]] = {}
        for kind, make in group.items():
            for team, name in pairs:
                if kind in ("env container", "router", "env db") and not set(name) <= set(SLUG_CHARS):
                    continue  # slugs: [a-z0-9-]
                got = make(team, name)
                owner = (kind, team, name)
                assert seen.setdefault(got, owner) == owner, f"{owner} and {seen[got]} share {got}"
                if group is db_makers:
                    assert len(got.encode()) <= PG_MAX_IDENT


def test_colliding_shapes_of_earlier_versions_are_apart() -> None:
    n = Names()
    assert n.env_container("a", "b-x") != n.env_container("a-b", "x")
    assert n.router("a", "b-x") != n.router("a-b", "x")
    assert n.template_container("1", "foo") != n.env_container("1", "template-foo")
    assert n.template_db("1", "x__build") != n.template_build_db("1", "x")
    assert n.template_db("1", "x__old") != n.template_old_db("1", "x")
    # what earlier versions named them: the shapes the new names keep apart
    assert n.legacy_env_container("a", "b-x") == n.legacy_env_container("a-b", "x")
    assert n.legacy_template_container("1", "foo") == n.legacy_env_container("1", "template-foo")


def test_work_databases_name_their_template() -> None:
    n = Names()
    for template in ("x", "x__build", "a-b_c", "t" * 63):
        for make in (n.template_build_db, n.template_old_db):
            name = make("1", template)
            shortened = "." in name.partition("_")[2]  # the digest's mark: the name cannot say
            assert n.template_of_work_db("1", name) == (None if shortened else template)
            assert n.template_of_work_db("2", name) is None
    assert n.template_of_work_db("1", n.template_db("1", "x")) is None
    assert n.template_of_work_db("a", n.template_build_db("a-b", "x")) is None


def test_short_names_keep_their_earlier_spelling() -> None:
    """Databases of existing installs keep their names (only over-long template names change)."""
    n = Names()
    assert n.env_db("1", "feature-x") == "oduflow_1_feature-x"
    assert n.env_role("1", "feature-x") == "oduflow_u_1_feature-x"
    assert n.template_db("1", "default") == "oduflow_template_1_default"
    assert n.template_role("1") == "oduflow_t_1"
