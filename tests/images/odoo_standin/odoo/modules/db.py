"""A new database: the module tables and the list of available modules (``init db``)."""

from __future__ import annotations

from typing import Any

from odoo.modules.module import get_manifest, get_modules, load_openerp_module
from odoo.orm import schema


def is_initialized(cr: Any) -> bool:
    """Whether the database holds Odoo's module table."""
    return schema.table_exists(cr, "ir_module_module")


def initialize(env: Any) -> None:
    """Create the bootstrap tables and list every module (``base`` and auto-installs to install)."""
    cr = env.cr
    cr.execute("CREATE SEQUENCE IF NOT EXISTS base_registry_signaling INCREMENT BY 1 START WITH 1")
    cr.execute("SELECT nextval('base_registry_signaling')")
    cr.execute("CREATE SEQUENCE IF NOT EXISTS base_cache_signaling INCREMENT BY 1 START WITH 1")
    cr.execute("SELECT nextval('base_cache_signaling')")
    load_openerp_module("base")
    env.registry.load("base")
    schema.init_models(
        env, ["ir.module.module", "ir.module.module.dependency", "ir.model.data"], "base", log=False
    )
    Module = env["ir.module.module"]
    for name in get_modules():
        info = get_manifest(name)
        if not info:
            continue
        state = (
            "uninstallable"
            if not info["installable"]
            else ("to install" if name == "base" else "uninstalled")
        )
        Module.create({**Module.get_values_from_terp(info), "name": name, "state": state})
    Module.search([("name", "=", "base")])._mark_auto_install()
