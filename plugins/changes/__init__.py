"""Built-in change analysis for ``pull_and_apply``.

Classifies every changed file by what Odoo needs to see it: install a new module, upgrade
a module (fields, model attributes, security, data records, translations), restart the
server (Python code, ``odoo.conf``, dependencies), reload the browser (views with
``--dev=xml``, assets) or nothing (documentation, tests, files outside modules).
Other plugins add rules by implementing the same hook; all decisions are merged.
"""

from __future__ import annotations

from oduflow import hookimpl
from oduflow.changes import ChangeContext, Decision

from .rules import classify


@hookimpl
def oduflow_analyze_changes(ctx: ChangeContext) -> list[Decision]:
    """One decision per changed file (see :mod:`oduflow_plugins.changes.rules`)."""
    return classify(ctx)
