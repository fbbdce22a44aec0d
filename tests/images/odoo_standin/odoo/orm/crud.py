"""Create, read, write, unlink and search for the stand-in ORM (mixed into ``BaseModel``)."""

from __future__ import annotations

import re
from typing import Any

from odoo import api
from odoo.orm.relational import RelationalMixin
from odoo.osv import expression

_ORDER_TERM = re.compile(r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*$", re.I)


def _to_id(value: Any) -> Any:
    if hasattr(value, "_ids"):
        return value._ids[0] if value._ids else False
    return value


class CrudMixin(RelationalMixin):
    """Persistence methods; ``self`` is always a ``BaseModel`` recordset."""

    _name: str
    _table: str
    _fields: dict[str, Any]
    _ids: tuple[int, ...]
    env: Any

    # -- create ---------------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list: list[dict[str, Any]]) -> Any:
        """Create one record per dict of ``vals_list`` (a single dict is accepted too)."""
        self.env.cache.clear()
        ids = [self._create_one(dict(vals)) for vals in vals_list]
        records = self.browse(ids)  # type: ignore[attr-defined]
        records._recompute_stored()
        records._check_constraints(None)
        return records

    def _defaults(self, vals: dict[str, Any]) -> dict[str, Any]:
        result = dict(vals)
        for name, field in self._fields.items():
            if name in result:
                continue
            ctx_key = f"default_{name}"
            if ctx_key in self.env.context:
                result[name] = self.env.context[ctx_key]
            elif field.default is not None and not field.inherited:
                result[name] = field.default(self) if callable(field.default) else field.default
        return result

    def default_get(self, fields_list: list[str]) -> dict[str, Any]:
        """Default values of ``fields_list``."""
        return {k: v for k, v in self._defaults({}).items() if k in fields_list}

    def _check_names(self, vals: dict[str, Any]) -> None:
        for name in vals:
            if name not in self._fields:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")

    def _create_one(self, vals: dict[str, Any]) -> int:
        vals = self._defaults(vals)
        self._check_names(vals)
        for parent, link in self._inherits.items():  # type: ignore[attr-defined]
            pvals = {k: vals.pop(k) for k in list(vals) if self._inherits_map.get(k) == link}  # type: ignore[attr-defined]
            if not vals.get(link):
                vals[link] = self.env[parent].create(pvals).id
            elif pvals:
                self.env[parent].browse(_to_id(vals[link])).write(pvals)
        columns, later = self._split(vals)
        names = list(columns)
        values = [columns[n] for n in names]
        placeholders = ["%s"] * len(names)
        if self._log_access:  # type: ignore[attr-defined]
            for name in ("create_uid", "write_uid"):
                if name not in columns:
                    names.append(name)
                    values.append(self.env.uid)
                    placeholders.append("%s")
            for name in ("create_date", "write_date"):
                if name not in columns:
                    names.append(name)
                    placeholders.append("(now() AT TIME ZONE 'UTC')")
        cols = ", ".join(f'"{n}"' for n in names)
        if names:
            query = f'INSERT INTO "{self._table}" ({cols}) VALUES ({", ".join(placeholders)}) RETURNING id'
        else:
            query = f'INSERT INTO "{self._table}" DEFAULT VALUES RETURNING id'
        self.env.cr.execute(query, values)
        rid = self.env.cr.fetchone()[0]
        self.browse(rid)._write_later(later)  # type: ignore[attr-defined]
        return int(rid)

    def _split(self, vals: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        columns, later = {}, {}
        for name, value in vals.items():
            field = self._fields[name]
            if name == "id":
                continue
            if field.store and field.column_type:
                columns[name] = field.to_column(value)
            else:
                later[name] = value
        return columns, later

    def _write_later(self, later: dict[str, Any]) -> None:
        for name, value in later.items():
            field = self._fields[name]
            if field.type in ("one2many", "many2many"):
                self._write_x2many(field, value)
            elif field.type == "binary" and getattr(field, "attachment", False):
                self._write_attachment(field, value)
            elif field.related and not field.store:
                path, _, last = str(field.related).rpartition(".")
                for rec in self:
                    target = rec.mapped(path) if path else rec  # type: ignore[attr-defined]
                    target.write({last: value})
            elif field.compute and field.inverse:
                for rec in self:
                    rec[name] = value  # type: ignore[index]

    # -- write / unlink -------------------------------------------------------------------
    def write(self, vals: dict[str, Any]) -> bool:
        """Write ``vals`` on every record."""
        if not self._ids:
            return True
        self.env.cache.clear()
        vals = dict(vals)
        self._check_names(vals)
        for link in set(self._inherits.values()):  # type: ignore[attr-defined]
            pvals = {k: vals.pop(k) for k in list(vals) if self._inherits_map.get(k) == link}  # type: ignore[attr-defined]
            if pvals:
                self.mapped(link).write(pvals)  # type: ignore[attr-defined]
        columns, later = self._split(vals)
        assignments = [self._fields[n].assign_sql() for n in columns]
        params = list(columns.values())
        if self._log_access:  # type: ignore[attr-defined]
            if "write_uid" not in columns:
                assignments.append('"write_uid" = %s')
                params.append(self.env.uid)
            assignments.append("\"write_date\" = (now() AT TIME ZONE 'UTC')")
        if assignments:
            self.env.cr.execute(
                f'UPDATE "{self._table}" SET {", ".join(assignments)} WHERE id = ANY(%s)',
                [*params, list(self._ids)],
            )
        self._write_later(later)
        self._recompute_stored()
        self._check_constraints(set(vals))
        return True

    def unlink(self) -> bool:
        """Delete the records (cascading like the ``ondelete`` of the fields pointing here)."""
        if not self._ids:
            return True
        for name in dir(type(self)):
            method = getattr(type(self), name, None)
            if callable(method) and hasattr(method, "_ondelete"):
                method(self)
        self.env.cache.clear()
        ids = list(self._ids)
        registry = self.env.registry
        for model_name, cls in registry.models.items():
            if cls._abstract or not cls._auto:
                continue
            for field in cls._fields.values():
                if field.type == "many2one" and field.comodel_name == self._name and field.store:
                    refs = (
                        self.env[model_name].with_context(active_test=False).search([(field.name, "in", ids)])
                    )
                    if model_name == self._name:
                        refs = refs - self  # type: ignore[operator]
                    if not refs:
                        continue
                    if field.ondelete == "cascade":
                        refs.unlink()
                    elif field.ondelete == "restrict":
                        raise Exception(f"The operation cannot be completed: {model_name} references {self}")
                    else:
                        self.env.cr.execute(
                            f'UPDATE "{cls._table}" SET "{field.name}" = NULL WHERE "{field.name}" = ANY(%s)',
                            (ids,),
                        )
        for field in self._fields.values():
            if field.type == "many2many" and field.store is not False:
                self.env.cr.execute(
                    f'DELETE FROM "{field.relation}" WHERE "{field.column1}" = ANY(%s)', (ids,)
                )
        self.env.cr.execute(f'DELETE FROM "{self._table}" WHERE id = ANY(%s)', (ids,))
        if "ir.model.data" in registry.models:
            self.env.cr.execute(
                "DELETE FROM ir_model_data WHERE model = %s AND res_id = ANY(%s)", (self._name, ids)
            )
        if "ir.attachment" in registry.models and self._name != "ir.attachment":
            self.env.cr.execute(
                "DELETE FROM ir_attachment WHERE res_model = %s AND res_id = ANY(%s)", (self._name, ids)
            )
        return True

    def copy(self, default: dict[str, Any] | None = None) -> Any:
        """A copy of the (single) record with ``default`` applied."""
        skip = {"id", "create_uid", "create_date", "write_uid", "write_date", "display_name"}
        vals = {}
        for name, field in self._fields.items():
            if (
                name in skip
                or field.type == "one2many"
                or field.inherited
                or (field.compute and not field.store)
            ):
                continue
            if field.args.get("copy") is False:
                continue
            value = self[name]  # type: ignore[index]
            vals[name] = list(value._ids) if field.type == "many2many" else (_to_id(value) or value)
        vals.update(default or {})
        return self.create(vals)

    # -- computed fields and constraints --------------------------------------------------
    def _recompute_stored(self) -> None:
        targets = [f for f in self._fields.values() if f.store and (f.compute or f.related) and f.column_type]
        for _ in range(2 if len(targets) > 1 else 1):
            for field in targets:
                values = []
                for rec in self.with_context(active_test=False):  # type: ignore[attr-defined]
                    if field.related:
                        value = rec._follow_related(field)
                    else:
                        rec._compute_field(field)
                        value = rec.env.cache.pop((self._name, rec.id, field.name), field.null(self.env))
                    values.append((field.to_column(value), rec.id))
                for value, rid in values:
                    self.env.cr.execute(
                        f'UPDATE "{self._table}" SET "{field.name}" = %s WHERE id = %s', (value, rid)
                    )
        self.env.cache.clear()

    def _check_constraints(self, names: set[str] | None) -> None:
        cls = type(self)
        for attr in dir(cls):
            method = getattr(cls, attr, None)
            wanted = getattr(method, "_constrains", None)
            if callable(method) and wanted is not None and (names is None or names.intersection(wanted)):
                method(self)

    # -- search / read ----------------------------------------------------------------------
    def _order_sql(self, order: str | None) -> str:
        terms = []
        for part in (order or self._order or "id").split(","):  # type: ignore[attr-defined]
            match = _ORDER_TERM.match(part)
            if not match:
                raise ValueError(f"Invalid order {order!r} for model {self._name!r}")
            name, direction, nulls = match.groups()
            field = self._fields.get(name)
            if field is None or not (field.store or name == "id") or not (field.column_type or name == "id"):
                continue
            column = field.column_sql(f'"{self._table}"."{name}"', self.env.lang)
            term = f"{column} {(direction or 'asc').upper()}"
            terms.append(term + (f" NULLS {nulls.upper()}" if nulls else ""))
        return ", ".join(terms or [f'"{self._table}".id'])

    def _where(self, domain: Any) -> tuple[str, list[Any]]:
        domain = list(domain or [])
        active = self._active_field  # type: ignore[attr-defined]
        if active and self.env.context.get("active_test", True):
            named = {t[0] for t in domain if isinstance(t, list | tuple) and len(t) == 3}
            if active not in named:
                domain = [(active, "=", True), *domain]
        return expression.to_sql(self, domain)

    def _search(
        self, domain: Any, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        where, params = self._where(domain)
        query = (
            f'SELECT "{self._table}".id FROM "{self._table}" WHERE {where} ORDER BY {self._order_sql(order)}'
        )
        if limit:
            query += f" LIMIT {int(limit)}"
        if offset:
            query += f" OFFSET {int(offset)}"
        self.env.cr.execute(query, params)
        return [row[0] for row in self.env.cr.fetchall()]

    def search(
        self,
        domain: Any = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        count: bool = False,
    ) -> Any:
        """Records matching ``domain`` (``active`` ones unless the domain or context says otherwise)."""
        if count:
            return self.search_count(domain or [])
        return self.browse(self._search(domain, offset, limit, order))  # type: ignore[attr-defined]

    def search_count(self, domain: Any = None, limit: int | None = None) -> int:
        """Number of records matching ``domain``."""
        where, params = self._where(domain)
        self.env.cr.execute(f'SELECT count(1) FROM "{self._table}" WHERE {where}', params)
        count = int(self.env.cr.fetchone()[0])
        return min(count, limit) if limit else count

    def search_fetch(
        self,
        domain: Any,
        field_names: Any = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> Any:
        """Same as :meth:`search` (nothing is prefetched)."""
        return self.search(domain, offset, limit, order)

    def search_read(
        self,
        domain: Any = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        """``read(fields)`` of ``search(domain)``."""
        return self.search(domain or [], offset, limit, order).read(fields)  # type: ignore[no-any-return]

    def name_search(
        self, name: str = "", args: Any = None, operator: str = "ilike", limit: int = 100
    ) -> list[tuple[int, str]]:
        """``[(id, display_name)]`` of records whose name matches."""
        domain = list(args or [])
        if name:
            domain.append((self._rec_name_field(), operator, name))  # type: ignore[attr-defined]
        return [(rec.id, rec.display_name) for rec in self.search(domain, limit=limit)]

    def read(self, fields: list[str] | None = None, load: str = "_classic_read") -> list[dict[str, Any]]:
        """One dict per record with ``id`` and the requested fields."""
        names = fields or [n for n, f in self._fields.items() if f.type != "binary"]
        self._check_names(dict.fromkeys(names))
        result = []
        for rec in self.exists():
            row: dict[str, Any] = {"id": rec.id}
            for name in names:
                row[name] = self._fields[name].to_read(rec[name])
            result.append(row)
        return result

    def exists(self) -> Any:
        """The records that still exist in the database."""
        if not self._ids:
            return self
        self.env.cr.execute(f'SELECT id FROM "{self._table}" WHERE id = ANY(%s)', (list(self._ids),))
        found = {row[0] for row in self.env.cr.fetchall()}
        return self._with_ids(i for i in self._ids if i in found)  # type: ignore[attr-defined]

    def fields_get(
        self, allfields: list[str] | None = None, attributes: list[str] | None = None
    ) -> dict[str, Any]:
        """Description of the fields (type, string, required, relation, store)."""
        result = {}
        for name, field in self._fields.items():
            if allfields and name not in allfields:
                continue
            desc = {
                "type": field.type,
                "string": field.string or name.replace("_", " ").title(),
                "required": field.required,
                "store": field.store,
                "readonly": bool(field.args.get("readonly")),
                "translate": bool(field.translate),
            }
            if field.comodel_name:
                desc["relation"] = field.comodel_name
            result[name] = {k: v for k, v in desc.items() if not attributes or k in attributes}
        return result
