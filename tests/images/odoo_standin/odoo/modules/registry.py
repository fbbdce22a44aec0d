"""The model registry of one database: combines each model's definitions into one class."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from odoo import fields as odoo_fields
from odoo import sql_db
from odoo.models import BaseModel, MetaModel

_logger = logging.getLogger(__name__)


class Registry:
    """Models of a database; ``Registry(dbname)`` returns the loaded one or loads it."""

    registries: ClassVar[dict[str, Registry]] = {}
    _lock = threading.RLock()

    def __new__(cls, db_name: str) -> Registry:
        with cls._lock:
            existing = cls.registries.get(db_name)
            if existing is not None:
                return existing
            return cls.new(db_name)

    def __init__(self, db_name: str) -> None:
        """Nothing to do: :meth:`new` initialises the instance."""

    def _init(self, db_name: str) -> None:
        self.db_name = db_name
        self.models: dict[str, type[BaseModel]] = {}
        self.model_defs: dict[str, list[type]] = {}
        self._init_modules: set[str] = set()
        self.updated_modules: list[str] = []
        self.loaded = False
        self.ready = False
        self.signal = 0
        self.test_result: Any = None

    @classmethod
    def new(cls, db_name: str, update_module: bool = False) -> Registry:
        """Load (install/update when asked) the modules of ``db_name`` into a new registry."""
        from odoo.modules import loading

        started = time.time()
        with cls._lock:
            registry = object.__new__(cls)
            registry._init(db_name)
            cls.registries[db_name] = registry
            try:
                loading.load_modules(registry, update_module=update_module)
            except Exception:
                _logger.error("Failed to load registry")
                cls.registries.pop(db_name, None)
                raise
            registry.ready = True
            if update_module:
                registry.signal_changes()
            registry.signal = registry.current_signal()
            _logger.info("Registry loaded in %.3fs", time.time() - started)
            return registry

    @classmethod
    def delete(cls, db_name: str) -> None:
        """Forget the registry of ``db_name``."""
        with cls._lock:
            cls.registries.pop(db_name, None)

    def __getitem__(self, model_name: str) -> type[BaseModel]:
        return self.models[model_name]

    def __contains__(self, model_name: object) -> bool:
        return model_name in self.models

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def cursor(self) -> sql_db.Cursor:
        """A new cursor on the database."""
        return sql_db.Cursor(self.db_name)

    def current_signal(self) -> int:
        """The value of the registry signaling sequence (0 when missing)."""
        try:
            with self.cursor() as cr:
                cr.execute("SELECT last_value FROM base_registry_signaling")
                row = cr.fetchone()
                return int(row[0]) if row else 0
        except Exception:  # noqa: BLE001  (no sequence: an old or foreign database)
            return 0

    def signal_changes(self) -> None:
        """Tell other processes that the registry changed (like the real server)."""
        _logger.info("Registry changed, signaling through the database")
        try:
            with self.cursor() as cr:
                cr.execute("SELECT nextval('base_registry_signaling')")
        except Exception:
            _logger.debug("no registry signaling sequence", exc_info=True)

    # -- model classes --------------------------------------------------------------------
    def load(self, module: str) -> list[str]:
        """Add the model definitions of ``module``; return the names of the models it touches."""
        names = []
        for cls in MetaModel.module_to_models.get(module, []):
            own_name = cls.__dict__.get("_name")
            parents = _inherit_list(cls)
            name = own_name or (parents[0] if parents else None)
            if not name:
                continue
            if not own_name and name not in self.model_defs:
                raise TypeError(f"Model {name!r} does not exist in registry.")
            for parent in parents:
                if parent != name and parent not in self.model_defs:
                    raise TypeError(f"Model {name!r} inherits from non-existing model {parent!r}.")
            defs = self.model_defs.setdefault(name, [])
            if cls not in defs:
                defs.append(cls)
            if name not in names:
                names.append(name)
        self.setup_models()
        return names

    def setup_models(self) -> None:
        """(Re)build the combined class of every model, parents before children."""
        for name, defs in self.model_defs.items():
            parents: list[str] = []
            for d in defs:
                parents += [p for p in _inherit_list(d) if p != name and p not in parents]
            bases = tuple(reversed(defs)) + tuple(self.models[p] for p in parents if p in self.models)
            attrs: dict[str, Any] = {"_name": name, "_register": False, "__module__": defs[0].__module__}
            cls: Any = type(name.replace(".", "_"), _dedupe(bases), attrs)
            cls._table = next(
                (d.__dict__["_table"] for d in reversed(defs) if d.__dict__.get("_table")), None
            ) or (name.replace(".", "_"))
            inherits: dict[str, str] = {}
            for klass in reversed(cls.__mro__):
                inherits.update(klass.__dict__.get("_inherits") or {})
            cls._inherits = inherits
            self._setup_fields(cls, inherits)
            self.models[name] = cls
        for cls in self.models.values():
            for field in cls._fields.values():
                if isinstance(field, odoo_fields.Many2many):
                    comodel = self.models.get(field.comodel_name or "")
                    field.setup_relation(
                        cls._table, comodel._table if comodel else str(field.comodel_name).replace(".", "_")
                    )

    def _setup_fields(self, cls: Any, inherits: dict[str, str]) -> None:
        found: dict[str, odoo_fields.Field] = {}
        for klass in reversed(cls.__mro__):
            for key, value in klass.__dict__.items():
                if isinstance(value, odoo_fields.Field):
                    found[key] = value
        magic: dict[str, odoo_fields.Field] = {
            "id": odoo_fields.Id("ID"),
            "display_name": odoo_fields.Char("Display Name", compute="_compute_display_name"),
        }
        if cls._log_access and not cls._abstract:
            magic.update(
                create_uid=odoo_fields.Many2one("res.users", "Created by"),
                create_date=odoo_fields.Datetime("Created on"),
                write_uid=odoo_fields.Many2one("res.users", "Last Updated by"),
                write_date=odoo_fields.Datetime("Last Updated on"),
            )
        inherits_map: dict[str, str] = {}
        for parent, link in inherits.items():
            parent_cls = self.models.get(parent)
            if parent_cls is None:
                raise TypeError(f"Model {cls._name!r} inherits from non-existing model {parent!r}.")
            for fname, pfield in parent_cls._fields.items():
                if fname in found or fname in magic or fname in inherits_map:
                    continue
                delegated = copy.copy(pfield)
                delegated.args = dict(pfield.args, store=False)
                delegated.inherited = True
                magic[fname] = delegated
                inherits_map[fname] = link
        for fname, field in magic.items():
            field.__set_name__(cls, fname)
            setattr(cls, fname, field)
            found.setdefault(fname, field)
        cls._fields = found
        cls._inherits_map = inherits_map
        cls._active_field = "active" if "active" in found else None


def _inherit_list(cls: Any) -> list[str]:
    value = cls.__dict__.get("_inherit", ())
    if isinstance(value, str):
        return [value]
    return list(value or [])


def _dedupe(bases: tuple[type, ...]) -> tuple[type, ...]:
    seen: list[type] = []
    for base in bases:
        if base not in seen and not any(issubclass(other, base) for other in seen):
            seen.append(base)
    return tuple(seen)
