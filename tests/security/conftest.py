"""Shared set-up of the attack tests: a template with ``base`` installed (sanitize scripts and
``save_as_template`` need one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.instance import Instance

TEAM = "1"


@pytest.fixture(scope="module")
def base_template(instance: Instance) -> Iterator[str]:
    """Template ``secbase``: a fresh database with ``base`` installed."""
    from oduflow.services import templates, templates_ops

    app = instance.app()
    team = app.config.team(TEAM)
    templates_ops.init_template(app, team, instance.odoo_image, "secbase", "base")
    yield "secbase"
    templates.delete_template(app, team, "secbase")
