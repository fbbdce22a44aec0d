"""``ir.module.module``: the list of modules and their states (install/upgrade marking)."""

from __future__ import annotations

import logging
from typing import Any

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.modules.module import get_manifest, get_modules

_logger = logging.getLogger(__name__)
STATES = [
    ("uninstallable", "Uninstallable"),
    ("uninstalled", "Not Installed"),
    ("installed", "Installed"),
    ("to upgrade", "To be upgraded"),
    ("to remove", "To be removed"),
    ("to install", "To be installed"),
]


def _log_access(method: str, modules: Any) -> None:
    names = [m.shortdesc for m in modules]
    _logger.info("ALLOW access to module.%s on %s to user __system__ #1 via n/a", method, names)


class Module(models.Model):
    """A module found on the addons path."""

    _name = "ir.module.module"
    _description = "Module"
    _order = "application desc,sequence,name"

    name = fields.Char("Technical Name", required=True, index=True)
    shortdesc = fields.Char("Module Name", translate=True)
    summary = fields.Char("Summary", translate=True)
    description = fields.Text("Description", translate=True)
    author = fields.Char("Author")
    maintainer = fields.Char("Maintainer")
    website = fields.Char("Website")
    category_name = fields.Char("Category")
    latest_version = fields.Char("Installed Version")
    published_version = fields.Char("Published Version")
    license = fields.Char("License", default="LGPL-3")
    state = fields.Selection(STATES, string="Status", default="uninstallable", index=True)
    demo = fields.Boolean("Demo Data", default=False)
    application = fields.Boolean("Application")
    auto_install = fields.Boolean("Automatic Installation")
    sequence = fields.Integer("Sequence", default=100)
    icon = fields.Char("Icon URL")
    to_buy = fields.Boolean("Odoo Enterprise Module", default=False)
    dependencies_id = fields.One2many("ir.module.module.dependency", "module_id", string="Dependencies")

    _sql_constraints = (("name_uniq", "UNIQUE (name)", "The name of the module must be unique!"),)

    @api.model
    def get_values_from_terp(self, terp: dict[str, Any]) -> dict[str, Any]:
        """Column values taken from a manifest."""
        return {
            "shortdesc": terp.get("name", ""),
            "summary": terp.get("summary", ""),
            "description": terp.get("description", ""),
            "author": terp.get("author", "Unknown"),
            "maintainer": terp.get("maintainer", False),
            "website": terp.get("website", ""),
            "category_name": terp.get("category", "Uncategorized"),
            "license": terp.get("license", "LGPL-3"),
            "application": bool(terp.get("application")),
            "auto_install": bool(terp.get("auto_install")),
            "sequence": int(terp.get("sequence", 100)),
            "icon": terp.get("icon") or False,
            "dependencies_id": [(5, 0, 0)] + [(0, 0, {"name": dep}) for dep in terp.get("depends", [])],
        }

    @api.model
    def update_list(self) -> list[int]:
        """Add the modules found on the addons path; refresh the manifest values of known ones."""
        _log_access("update_list", self.browse(()))
        updated = added = 0
        known = {m.name: m for m in self.with_context(active_test=False).search([])}
        for name in get_modules():
            info = get_manifest(name)
            values = self.get_values_from_terp(info)
            module = known.get(name)
            if module is None:
                state = "uninstalled" if info["installable"] else "uninstallable"
                self.create({**values, "name": name, "state": state})
                added += 1
            else:
                if module.state == "uninstallable" and info["installable"]:
                    values["state"] = "uninstalled"
                module.write(values)
                updated += 1
        return [updated, added]

    def _dependency_names(self) -> list[str]:
        return [dep.name for dep in self.dependencies_id]

    def button_install(self) -> bool:
        """Mark the modules, their missing dependencies and the triggered auto-installs to install."""
        _log_access("button_install", self)
        todo = list(self)
        seen: set[str] = set()
        while todo:
            module = todo.pop()
            if module.name in seen:
                continue
            seen.add(module.name)
            for dep_name in module._dependency_names():
                dep = self.search([("name", "=", dep_name)])
                if not dep or dep.state == "uninstallable":
                    raise UserError(
                        f"You try to install module {module.name!r} that depends on module {dep_name!r}.\n"
                        "But the latter module is not available in your system."
                    )
                if dep.state == "uninstalled":
                    todo.append(dep)
            if module.state == "uninstalled":
                module.write({"state": "to install"})
        self._mark_auto_install()
        return True

    def _mark_auto_install(self) -> None:
        """Mark to install every auto-install module whose dependencies will all be installed."""
        ready = ("to install", "installed", "to upgrade")
        for _round in range(100):
            states = {m.name: m.state for m in self.search([])}
            candidates = self.search([("state", "=", "uninstalled"), ("auto_install", "=", True)])
            newly = [m for m in candidates if all(states.get(d) in ready for d in m._dependency_names())]
            if not newly:
                return
            for module in newly:
                module.write({"state": "to install"})

    def button_upgrade(self) -> bool:
        """Mark the modules and the installed modules depending on them to upgrade."""
        _log_access("button_upgrade", self)
        names = set(self.mapped("name"))
        for _round in range(100):
            Dep = self.env["ir.module.module.dependency"]
            dependents = Dep.search([("name", "in", sorted(names))]).mapped("module_id")
            more = {m.name for m in dependents if m.state in ("installed", "to upgrade")} - names
            if not more:
                break
            names |= more
        modules = self.search([("name", "in", sorted(names)), ("state", "in", ["installed", "to upgrade"])])
        modules.write({"state": "to upgrade"})
        missing = self.search(
            [
                ("name", "in", [d for m in modules for d in m._dependency_names()]),
                ("state", "=", "uninstalled"),
            ]
        )
        _log_access("button_install", missing)
        if missing:
            missing.button_install()
        return True

    def button_immediate_install(self) -> None:
        """Not available in the stand-in: install with ``odoo -i MODULE --stop-after-init``."""
        raise UserError("The Odoo stand-in installs modules only with `odoo -i MODULE --stop-after-init`.")

    button_immediate_upgrade = button_immediate_install


class ModuleDependency(models.Model):
    """A dependency of a module (by name)."""

    _name = "ir.module.module.dependency"
    _description = "Module dependency"

    name = fields.Char(index=True)
    module_id = fields.Many2one("ir.module.module", "Module", ondelete="cascade")
    auto_install_required = fields.Boolean(default=True)
