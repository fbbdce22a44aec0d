"""Writing relational values: x2many commands and binary fields stored as attachments."""

from __future__ import annotations

from typing import Any


class RelationalMixin:
    """x2many commands (``(0, 0, vals)``, ``(6, 0, ids)``, ...) and attachment-backed binary fields."""

    _name: str
    _ids: tuple[int, ...]
    env: Any

    def _write_attachment(self, field: Any, value: Any) -> None:
        Attachment = self.env["ir.attachment"].sudo()
        for rid in self._ids:
            domain = [("res_model", "=", self._name), ("res_field", "=", field.name), ("res_id", "=", rid)]
            existing = Attachment.search(domain)
            if not value:
                existing.unlink()
            elif existing:
                existing.write({"datas": value})
            else:
                Attachment.create(
                    {
                        "name": field.name,
                        "res_model": self._name,
                        "res_field": field.name,
                        "res_id": rid,
                        "datas": value,
                    }
                )

    def _write_x2many(self, field: Any, value: Any) -> None:
        comodel = self.env[field.comodel_name]
        if hasattr(value, "_ids"):
            value = [(6, 0, list(value._ids))]
        elif value and all(isinstance(v, int) for v in value):
            value = [(6, 0, list(value))]
        for rid in self._ids:
            for command in value or []:
                code = command[0]
                if code == 0:
                    extra = {field.inverse_name: rid} if field.type == "one2many" else {}
                    new = comodel.create({**command[2], **extra})
                    if field.type == "many2many":
                        self._m2m_link(field, rid, [new.id])
                elif code == 1:
                    comodel.browse(command[1]).write(command[2])
                elif code == 2:
                    comodel.browse(command[1]).unlink()
                elif code in (3, 5):
                    targets = [command[1]] if code == 3 else None
                    self._x2many_unlink(field, rid, targets)
                elif code == 4:
                    self._x2many_link(field, rid, [command[1]])
                elif code == 6:
                    self._x2many_unlink(field, rid, None)
                    self._x2many_link(field, rid, list(command[2]))

    def _m2m_link(self, field: Any, rid: int, ids: list[int]) -> None:
        for target in ids:
            self.env.cr.execute(
                f'INSERT INTO "{field.relation}" ("{field.column1}", "{field.column2}") VALUES (%s, %s) '
                "ON CONFLICT DO NOTHING",
                (rid, target),
            )

    def _x2many_link(self, field: Any, rid: int, ids: list[int]) -> None:
        if field.type == "many2many":
            self._m2m_link(field, rid, ids)
        elif ids:
            self.env[field.comodel_name].browse(ids).write({field.inverse_name: rid})

    def _x2many_unlink(self, field: Any, rid: int, ids: list[int] | None) -> None:
        if field.type == "many2many":
            sql = f'DELETE FROM "{field.relation}" WHERE "{field.column1}" = %s'
            params: list[Any] = [rid]
            if ids is not None:
                sql += f' AND "{field.column2}" = ANY(%s)'
                params.append(ids)
            self.env.cr.execute(sql, params)
            return
        comodel = self.env[field.comodel_name]
        lines = comodel.with_context(active_test=False).search([(field.inverse_name, "=", rid)])
        if ids is not None:
            lines = lines.browse([i for i in lines._ids if i in ids])
        inverse = comodel._fields[field.inverse_name]
        if getattr(inverse, "ondelete", "") == "cascade":
            lines.unlink()
        else:
            lines.write({field.inverse_name: False})
