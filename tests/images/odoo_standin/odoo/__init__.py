"""Odoo stand-in: just the server behaviour Oduflow relies on, matching a real Odoo 18 server.

See tests/images/odoo_standin/README.md for what it does and where it differs from Odoo.
"""

import threading
from typing import Any

SUPERUSER_ID = 1

from odoo import release  # noqa: I001  (order matters: the ORM modules import each other)
from odoo import exceptions, tools
from odoo.tools.translate import _, _lt
from odoo import sql_db, api, fields
from odoo.fields import Command
from odoo import models, osv, modules, http

__version__ = release.version


def registry(database_name: str | None = None) -> Any:
    """The registry of ``database_name`` (default: the current thread's database)."""
    from odoo.modules.registry import Registry

    return Registry(database_name or getattr(threading.current_thread(), "dbname", ""))


__all__ = [
    "SUPERUSER_ID",
    "Command",
    "_",
    "_lt",
    "api",
    "exceptions",
    "fields",
    "http",
    "models",
    "modules",
    "osv",
    "registry",
    "release",
    "sql_db",
    "tools",
]
