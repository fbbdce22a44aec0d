"""Shared set-up of the attack tests: a template with ``base`` installed (sanitize scripts and
``save_as_template`` need one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures import templates as template_fixtures
from tests.fixtures.instance import Instance


@pytest.fixture(scope="module")
def base_template(instance: Instance) -> Iterator[str]:
    """Template ``secbase``: a fresh database with ``base`` installed."""
    yield from template_fixtures.base_template(instance, "secbase")
