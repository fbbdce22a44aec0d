"""Dependency graph of the modules to load, iterated by depth then name like Odoo's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from odoo.modules.module import get_manifest

_logger = logging.getLogger(__name__)


class Package:
    """A module in the graph: its database row values and manifest."""

    def __init__(self, name: str, row: dict[str, Any], info: dict[str, Any]) -> None:
        self.name = name
        self.id: int = row["id"]
        self.state: str = row["state"]
        self.installed_version = row.get("latest_version")
        self.dbdemo = bool(row.get("demo"))
        self.info = info
        self.depth = 0


class Graph(dict[str, Package]):
    """Modules keyed by name."""

    def add_modules(self, cr: Any, names: list[str]) -> int:
        """Add ``names`` whose dependencies are (or become) in the graph; return how many were added."""
        pending: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for name in names:
            if name in self:
                continue
            cr.execute(
                "SELECT id, state, latest_version, demo FROM ir_module_module WHERE name = %s", (name,)
            )
            row = cr.dictfetchone()
            info = get_manifest(name)
            if row and info:
                pending[name] = (row, info)
        added = 0
        progress = True
        while pending and progress:
            progress = False
            for name in sorted(pending):
                row, info = pending[name]
                if all(dep in self for dep in info["depends"]):
                    package = Package(name, row, info)
                    package.depth = 1 + max((self[d].depth for d in info["depends"]), default=-1)
                    self[name] = package
                    del pending[name]
                    added += 1
                    progress = True
        for name, (_row, info) in sorted(pending.items()):
            missing = [dep for dep in info["depends"] if dep not in self]
            _logger.info("module %s: Unmet dependencies: %s", name, ", ".join(missing))
        return added

    def __iter__(self) -> Iterator[Package]:  # type: ignore[override]
        yield from sorted(self.values(), key=lambda p: (p.depth, p.name))
