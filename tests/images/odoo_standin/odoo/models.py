"""``odoo.models``: model classes and the recordset protocol of the stand-in ORM.

Addon classes (``class Thing(models.Model): _name = 'x.thing'``) are collected per addon by
:class:`MetaModel`; the registry combines every definition of a model into one class per
database (see ``odoo.modules.registry``). A record is an instance holding ``env`` and a tuple
of ids; field values are read from the database on access (no prefetching).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from odoo import api, fields
from odoo.exceptions import MissingError
from odoo.orm.crud import CrudMixin
from odoo.orm.misc import MiscMixin

MAGIC_COLUMNS = ("id", "create_uid", "create_date", "write_uid", "write_date")
LOG_ACCESS_COLUMNS = MAGIC_COLUMNS[1:]


class MetaModel(type):
    """Collects the model classes of each addon (``module_to_models``) as they are defined."""

    module_to_models: ClassVar[dict[str, list[type]]] = defaultdict(list)

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> MetaModel:
        create = attrs.get("create")
        if callable(create) and not getattr(create, "_create_multi", False):
            attrs["create"] = api.model_create_single(create)
        return super().__new__(mcs, name, bases, attrs)

    def __init__(cls, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> None:
        super().__init__(name, bases, attrs)
        if not attrs.get("_register", True):
            return
        module = attrs.get("__module__", "")
        if module.startswith("odoo.addons."):
            cls._module = module.split(".")[2]
            MetaModel.module_to_models[cls._module].append(cls)


class BaseModel(CrudMixin, MiscMixin, metaclass=MetaModel):
    """Base of every model: a recordset of ``_name`` bound to ``env``."""

    _register = False
    _name: str | None = None
    _inherit: Any = ()
    _inherits: ClassVar[dict[str, str]] = {}
    _description: str | None = None
    _order = "id"
    _rec_name: str | None = None
    _table: str | None = None
    _auto = False
    _abstract = True
    _transient = False
    _log_access = True
    _sql_constraints: ClassVar[Any] = ()
    _fields: ClassVar[dict[str, fields.Field]] = {}
    _inherits_map: ClassVar[dict[str, str]] = {}
    _active_field: str | None = None
    _module: str | None = None
    _parent_name = "parent_id"
    _parent_store = False
    _check_company_auto = False
    _translate = True

    def __init__(self, env: api.Environment, ids: Any = ()) -> None:
        self.env = env
        self._ids: tuple[int, ...] = tuple(ids)

    # -- recordset protocol -------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        """The record ids."""
        return list(self._ids)

    @property
    def _cr(self) -> Any:
        return self.env.cr

    @property
    def _uid(self) -> int | None:
        return self.env.uid

    @property
    def _context(self) -> dict[str, Any]:
        return self.env.context

    def browse(self, ids: Any = ()) -> Any:
        """Records of this model with ``ids`` (an id, ids, or nothing)."""
        if ids is None or ids is False:
            ids = ()
        elif isinstance(ids, int):
            ids = (ids,)
        return type(self)(self.env, tuple(int(i) for i in ids))

    def _with_ids(self, ids: Any) -> Any:
        return type(self)(self.env, tuple(ids))

    def __len__(self) -> int:
        return len(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)

    def __iter__(self) -> Iterator[Any]:
        for rid in self._ids:
            yield self._with_ids((rid,))

    def __reversed__(self) -> Iterator[Any]:
        for rid in reversed(self._ids):
            yield self._with_ids((rid,))

    def __contains__(self, item: Any) -> bool:
        if isinstance(item, BaseModel):
            return item._name == self._name and len(item) == 1 and item._ids[0] in self._ids
        return False

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return getattr(self, key)
        if isinstance(key, slice):
            return self._with_ids(self._ids[key])
        return self._with_ids((self._ids[key],))

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseModel):
            return NotImplemented
        return self._name == other._name and set(self._ids) == set(other._ids)

    def __hash__(self) -> int:
        return hash((self._name, frozenset(self._ids)))

    def __repr__(self) -> str:
        return f"{self._name}{self._ids!r}"

    def __or__(self, other: Any) -> Any:
        return self._with_ids(dict.fromkeys(self._ids + other._ids))

    def __add__(self, other: Any) -> Any:
        return self._with_ids(self._ids + other._ids)

    def __and__(self, other: Any) -> Any:
        keep = set(other._ids)
        return self._with_ids(dict.fromkeys(i for i in self._ids if i in keep))

    def __sub__(self, other: Any) -> Any:
        drop = set(other._ids)
        return self._with_ids(i for i in self._ids if i not in drop)

    def union(self, *others: Any) -> Any:
        """All records of ``self`` and ``others``, without duplicates."""
        result = self
        for other in others:
            result = result | other
        return result

    def ensure_one(self) -> Any:
        """``self`` if it holds exactly one record, else ``ValueError``."""
        if len(self._ids) != 1:
            raise ValueError(f"Expected singleton: {self}")
        return self

    def with_env(self, env: api.Environment) -> Any:
        """The same records in another environment."""
        return env.registry[self._name](env, self._ids)

    def with_context(self, *args: Any, **kwargs: Any) -> Any:
        """The same records with an updated context."""
        return self.with_env(self.env.with_context(*args, **kwargs))

    def with_user(self, user: Any) -> Any:
        """The same records as another user."""
        return self.with_env(self.env(user=user, su=False))

    def with_company(self, company: Any) -> Any:
        """The same records with ``company`` first in the allowed companies."""
        cid = company.id if isinstance(company, BaseModel) else company
        return self.with_context(allowed_company_ids=[cid])

    def sudo(self, flag: bool = True) -> Any:
        """The same records in superuser mode (the stand-in checks no access rights anyway)."""
        return self.with_env(self.env(su=flag))

    def mapped(self, func: Any) -> Any:
        """Values of ``func`` (a dotted field path or a callable) over the records."""
        if callable(func):
            values = [func(rec) for rec in self]
            if values and all(isinstance(v, BaseModel) for v in values):
                return values[0].union(*values[1:])
            return values
        result: Any = self
        for name in str(func).split("."):
            field = result._fields.get(name)
            if field is not None and field.relational:
                parts = [getattr(rec, name) for rec in result]
                result = field.null(result.env).union(*parts)
            else:
                return [getattr(rec, name) for rec in result]
        return result

    def filtered(self, func: Any) -> Any:
        """The records for which ``func`` (callable or dotted path) is truthy."""
        if isinstance(func, str):
            path = func
            func = lambda rec: any(rec.mapped(path))  # noqa: E731
        return self._with_ids(rec.id for rec in self if func(rec))

    def filtered_domain(self, domain: list[Any]) -> Any:
        """The records matching ``domain``."""
        if not self:
            return self
        keep = set(self.with_context(active_test=False).search([("id", "in", self.ids), *domain]).ids)
        return self._with_ids(i for i in self._ids if i in keep)

    def sorted(self, key: Any = None, reverse: bool = False) -> Any:
        """The records sorted by ``key`` (callable or field name; default ``_order``)."""
        if key is None:
            return self.search([("id", "in", self.ids)], order=None if not reverse else "id desc")
        func: Callable[[Any], Any] = (lambda rec: rec[key]) if isinstance(key, str) else key
        return self._with_ids(rec.id for rec in sorted(self, key=func, reverse=reverse))

    def grouped(self, key: Any) -> dict[Any, Any]:
        """Records grouped by ``key``."""
        groups: dict[Any, list[int]] = {}
        for rec in self:
            groups.setdefault(rec[key] if isinstance(key, str) else key(rec), []).append(rec.id)
        return {k: self._with_ids(v) for k, v in groups.items()}

    # -- field access ---------------------------------------------------------------------
    def _rec_name_field(self) -> str:
        name = self._rec_name or ("name" if "name" in self._fields else "id")
        return name if self._fields[name].store or name == "id" else "id"

    def _inherits_field(self, name: str) -> str:
        return self._inherits_map[name]

    def _compute_display_name(self) -> None:
        name = self._rec_name or ("name" if "name" in self._fields else None)
        for rec in self:
            value = rec[name] if name else False
            rec.display_name = value if value else f"{rec._name},{rec.id}"

    def _get_field_value(self, field: fields.Field) -> Any:
        if not self._ids:
            return field.null(self.env)
        self.ensure_one()
        key = (self._name, self._ids[0], field.name)
        cache = self.env.cache
        if key in cache:
            return cache[key]
        if field.inherited:
            return self[self._inherits_field(field.name)][field.name]
        if field.related and not field.store:
            return self._follow_related(field)
        if field.compute and not field.store:
            self._compute_field(field)
            return cache.setdefault(key, field.null(self.env))
        return self._fetch_field(field)

    def _follow_related(self, field: fields.Field) -> Any:
        value: Any = self
        for name in str(field.related).split("."):
            if not value:
                return field.null(self.env)
            value = value[0][name] if isinstance(value, BaseModel) and len(value) > 1 else value[name]
        return value

    def _compute_field(self, field: fields.Field) -> None:
        method = field.compute
        func = getattr(type(self), method) if isinstance(method, str) else method
        computing = self._computing()
        computing.add((self._name, field.name))
        try:
            func(self)
        finally:
            computing.discard((self._name, field.name))

    def _computing(self) -> set[tuple[str, str]]:
        cr = self.env.cr
        if not hasattr(cr, "computing"):
            cr.computing = set()
        return cr.computing  # type: ignore[no-any-return]

    def _cache_value(self, field: fields.Field, value: Any) -> Any:
        if field.type == "many2one" and not isinstance(value, BaseModel):
            return self.env[field.comodel_name].browse(field.to_column(value) or ())
        if field.type in ("one2many", "many2many") and not isinstance(value, BaseModel):
            return self.env[field.comodel_name].browse([v for v in (value or []) if isinstance(v, int)])
        return value

    def _set_field_value(self, field: fields.Field, value: Any) -> None:
        computing = (self._name, field.name) in self._computing()
        if field.compute and (computing or not field.store):
            for rec in self:
                self.env.cache[(self._name, rec.id, field.name)] = rec._cache_value(field, value)
            if not computing and field.inverse:
                inverse = field.inverse
                (getattr(type(self), inverse) if isinstance(inverse, str) else inverse)(self)
            return
        self.write({field.name: value})

    def _fetch_field(self, field: fields.Field) -> Any:
        rid = self._ids[0]
        if field.type == "one2many":
            comodel = self.env[field.comodel_name]
            return comodel.search([(field.inverse_name, "=", rid)])
        if field.type == "many2many":
            self.env.cr.execute(
                f'SELECT "{field.column2}" FROM "{field.relation}" WHERE "{field.column1}" = %s ORDER BY 1',
                (rid,),
            )
            return self.env[field.comodel_name].browse([row[0] for row in self.env.cr.fetchall()])
        if field.type == "binary" and getattr(field, "attachment", False):
            att = (
                self.env["ir.attachment"]
                .sudo()
                .search(
                    [("res_model", "=", self._name), ("res_field", "=", field.name), ("res_id", "=", rid)],
                    limit=1,
                )
            )
            return att.datas if att else False
        if not field.store:
            return field.null(self.env)
        self.env.cr.execute(f'SELECT "{field.name}" FROM "{self._table}" WHERE id = %s', (rid,))
        row = self.env.cr.fetchone()
        if row is None:
            raise MissingError(
                f"Record does not exist or has been deleted.\n(Record: {self}, User: {self.env.uid})"
            )
        return field.from_column(row[0], self.env)


class AbstractModel(BaseModel):
    """A model without a table (mixins)."""

    _register = False
    _auto = False
    _abstract = True


class Model(AbstractModel):
    """A regular, persisted model."""

    _register = False
    _auto = True
    _abstract = False


class TransientModel(Model):
    """A model for wizards (persisted like a regular one in the stand-in)."""

    _register = False
    _transient = True
