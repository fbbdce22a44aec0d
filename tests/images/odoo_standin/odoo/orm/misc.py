"""Smaller record methods: external ids, (non-enforced) access checks, cache helpers, archiving."""

from __future__ import annotations

from typing import Any


class MiscMixin:
    """Methods addons call on records that need no ORM machinery of their own."""

    _name: str
    _ids: tuple[int, ...]
    _active_field: str | None
    env: Any

    def name_get(self) -> list[tuple[int, str]]:
        """``[(id, display_name)]`` (deprecated in Odoo, kept for old code)."""
        return [(rec.id, rec.display_name) for rec in self]

    def get_external_id(self) -> dict[int, str]:
        """``{id: 'module.name'}`` of the records' external ids."""
        self.env.cr.execute(
            "SELECT res_id, module || '.' || name FROM ir_model_data WHERE model=%s AND res_id = ANY(%s)",
            (self._name, list(self._ids)),
        )
        found = dict(self.env.cr.fetchall())
        return {rid: found.get(rid, "") for rid in self._ids}

    def check_access_rights(self, operation: str, raise_exception: bool = True) -> bool:
        """Access rights are not enforced by the stand-in."""
        return True

    def check_access_rule(self, operation: str) -> None:
        """Record rules are not enforced by the stand-in."""

    def check_access(self, operation: str) -> None:
        """Access is not enforced by the stand-in."""

    def has_access(self, operation: str) -> bool:
        """Access is not enforced by the stand-in."""
        return True

    def invalidate_recordset(self, fnames: Any = None, flush: bool = True) -> None:
        """Forget cached computed values."""
        self.env.cache.clear()

    invalidate_model = invalidate_recordset

    def flush_recordset(self, fnames: Any = None) -> None:
        """Nothing is buffered in the stand-in."""

    flush_model = flush_recordset

    def action_archive(self) -> bool:
        """Set ``active`` to False."""
        return self.write({self._active_field or "active": False})

    def action_unarchive(self) -> bool:
        """Set ``active`` to True."""
        return self.write({self._active_field or "active": True})

    def toggle_active(self) -> None:
        """Flip ``active`` on each record."""
        for rec in self:
            rec.write({"active": not rec.active})
