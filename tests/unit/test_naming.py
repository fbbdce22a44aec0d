"""Names: validation, slugs, PostgreSQL's 63-byte limit, path traversal."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow.errors import ValidationError
from oduflow.naming import Names, branch_slug, fit, under, validate_branch, validate_template_name


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
