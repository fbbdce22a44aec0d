"""``odoo.api``: method decorators and the :class:`Environment` (cursor, user, context, models)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

SUPERUSER_ID = 1

F = Callable[..., Any]


def _mark(attr: str, value: Any) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        setattr(func, attr, value)
        return func

    return decorate


def model(func: F) -> F:
    """The method works on the model, not on records (no-op marker)."""
    func._api = "model"  # type: ignore[attr-defined]
    return func


def model_create_multi(func: F) -> F:
    """``create`` accepting a dict or a list of dicts; the method itself receives a list."""

    @functools.wraps(func)
    def create(self: Any, vals_list: Any) -> Any:
        if isinstance(vals_list, Mapping):
            vals_list = [vals_list]
        return func(self, vals_list)

    create._create_multi = True  # type: ignore[attr-defined]
    return create


def model_create_single(func: F) -> F:
    """``create`` written for one dict, made to accept a list too."""

    @functools.wraps(func)
    def create(self: Any, vals_list: Any) -> Any:
        if isinstance(vals_list, Mapping):
            return func(self, vals_list)
        records = self.browse(())
        for vals in vals_list:
            records |= func(self, vals)
        return records

    create._create_multi = True  # type: ignore[attr-defined]
    return create


def depends(*fields: Any) -> Callable[[F], F]:
    """Dependencies of a compute method (recorded, not used for invalidation)."""
    return _mark("_depends", fields)


def depends_context(*keys: str) -> Callable[[F], F]:
    """Context keys a compute method depends on."""
    return _mark("_depends_context", keys)


def constrains(*fields: str) -> Callable[[F], F]:
    """Check the records after ``create``/``write`` of these fields."""
    return _mark("_constrains", fields)


def onchange(*fields: str) -> Callable[[F], F]:
    """Form view onchange (never called by the stand-in)."""
    return _mark("_onchange", fields)


def ondelete(*, at_uninstall: bool) -> Callable[[F], F]:
    """Called before ``unlink``."""
    return _mark("_ondelete", at_uninstall)


def returns(model: str, downgrade: Any = None, upgrade: Any = None) -> Callable[[F], F]:
    """Return-type marker (no-op)."""
    return _mark("_returns", model)


def autovacuum(func: F) -> F:
    """Garbage-collection method marker (no-op)."""
    return func


def private(func: F) -> F:
    """Not callable over RPC (no-op)."""
    return func


readonly = private


class Environment(Mapping[str, Any]):
    """Models bound to a cursor, a user and a context: ``env['res.partner']``."""

    def __init__(
        self, cr: Any, uid: int | None, context: Mapping[str, Any] | None = None, su: bool = False
    ) -> None:
        from odoo.modules.registry import Registry

        self.cr = cr
        self.uid = uid
        self.context: dict[str, Any] = dict(context or {})
        self.su = su or uid == SUPERUSER_ID
        self.registry = Registry(cr.dbname)
        if not hasattr(cr, "cache"):
            cr.cache = {}

    @property
    def cache(self) -> dict[Any, Any]:
        """Values of non-stored computed fields, shared by every environment of the cursor."""
        return self.cr.cache  # type: ignore[no-any-return]

    def __getitem__(self, model_name: str) -> Any:
        return self.registry[model_name](self, ())

    def __contains__(self, model_name: object) -> bool:
        return model_name in self.registry.models

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry.models)

    def __len__(self) -> int:
        return len(self.registry.models)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Environment) and (self.cr, self.uid, self.su) == (
            other.cr,
            other.uid,
            other.su,
        )

    def __hash__(self) -> int:
        return hash((id(self.cr), self.uid, self.su))

    def __call__(
        self,
        cr: Any = None,
        user: Any = None,
        context: Mapping[str, Any] | None = None,
        su: bool | None = None,
    ) -> Environment:
        """A copy with some parts replaced."""
        uid = self.uid if user is None else (user.id if hasattr(user, "_ids") else user)
        return Environment(
            cr or self.cr, uid, self.context if context is None else context, self.su if su is None else su
        )

    def with_context(self, *args: Any, **kwargs: Any) -> Environment:
        """A copy with a context updated by ``args`` (a dict) and ``kwargs``."""
        ctx = dict(args[0]) if args else dict(self.context)
        ctx.update(kwargs)
        return self(context=ctx)

    def ref(self, xml_id: str, raise_if_not_found: bool = True) -> Any:
        """The record with external id ``module.name``."""
        module, _, name = xml_id.partition(".")
        if not name:
            raise ValueError(f"Invalid External ID: {xml_id!r}, it must be 'module.name'")
        self.cr.execute("SELECT model, res_id FROM ir_model_data WHERE module=%s AND name=%s", (module, name))
        row = self.cr.fetchone()
        if row and row[0] in self:
            record = self[row[0]].browse(row[1])
            if record.exists():
                return record
        if raise_if_not_found:
            raise ValueError(f"External ID not found in the system: {xml_id}")
        return None

    @property
    def user(self) -> Any:
        """The current user (``res.users``)."""
        return self(su=True)["res.users"].browse(self.uid or ())

    @property
    def company(self) -> Any:
        """The current company."""
        allowed = self.context.get("allowed_company_ids")
        if allowed:
            return self["res.company"].browse(allowed[0])
        user = self.user
        return user.company_id if user else self["res.company"].browse(1)

    @property
    def companies(self) -> Any:
        """The allowed companies."""
        allowed = self.context.get("allowed_company_ids")
        return self["res.company"].browse(allowed) if allowed else self.company

    @property
    def lang(self) -> str:
        """The context language."""
        return str(self.context.get("lang") or "en_US")

    def is_superuser(self) -> bool:
        """Whether this environment bypasses access rights."""
        return self.su

    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.su or self.uid in (1, 2)

    def is_system(self) -> bool:
        """Whether the user is a settings administrator."""
        return self.is_admin()

    def flush_all(self) -> None:
        """Nothing is buffered in the stand-in."""

    def invalidate_all(self, flush: bool = True) -> None:
        """Forget cached computed values."""
        self.cache.clear()

    def _(self, source: str, *args: Any, **kwargs: Any) -> str:
        """Translate ``source`` (formatting only)."""
        from odoo.tools.translate import _

        return _(source, *args, **kwargs)
