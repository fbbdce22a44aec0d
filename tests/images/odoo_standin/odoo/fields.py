"""Field types of the stand-in ORM: a column type plus conversions to and from the database.

Records read values through :meth:`Field.__get__` (delegated to the record, see
``odoo.models``); relational values are recordsets, empty values ``False`` (``0``/``0.0`` for
numbers) like in Odoo. Translatable text fields (``translate=True``) are ``jsonb`` columns keyed by
language (``{"en_US": "Base"}``) like in Odoo 16+: the ORM writes the ``en_US`` key (other keys are
kept), reads the context language with a fallback to ``en_US``, and searches ``col->>'en_US'``.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any

_LANG = re.compile(r"^[A-Za-z]{2,3}(?:_[A-Za-z0-9]+)?(?:@[A-Za-z]+)?$")


class Command:
    """The x2many write commands (``Command.create(vals)``, ``Command.set(ids)``, ...)."""

    CREATE, UPDATE, DELETE, UNLINK, LINK, CLEAR, SET = range(7)

    @classmethod
    def create(cls, values: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
        """Create a record and link it."""
        return (cls.CREATE, 0, values)

    @classmethod
    def update(cls, record_id: int, values: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
        """Write on a linked record."""
        return (cls.UPDATE, record_id, values)

    @classmethod
    def delete(cls, record_id: int) -> tuple[int, int, int]:
        """Delete a record."""
        return (cls.DELETE, record_id, 0)

    @classmethod
    def unlink(cls, record_id: int) -> tuple[int, int, int]:
        """Remove the link to a record."""
        return (cls.UNLINK, record_id, 0)

    @classmethod
    def link(cls, record_id: int) -> tuple[int, int, int]:
        """Add a link to a record."""
        return (cls.LINK, record_id, 0)

    @classmethod
    def clear(cls) -> tuple[int, int, int]:
        """Remove every link."""
        return (cls.CLEAR, 0, 0)

    @classmethod
    def set(cls, ids: Any) -> tuple[int, int, list[int]]:
        """Replace the links by ``ids``."""
        return (cls.SET, 0, list(ids))


class Field:
    """Base field: ``string`` plus keyword attributes (required, default, compute, related, ...)."""

    type = "field"
    column_type: str | None = None
    relational = False

    def __init__(self, string: Any = None, **kwargs: Any) -> None:
        self.string = string
        self.args = kwargs
        self.name = ""
        self.required = bool(kwargs.get("required"))
        self.default = kwargs.get("default")
        self.compute = kwargs.get("compute")
        self.inverse = kwargs.get("inverse")
        self.related = kwargs.get("related")
        self.comodel_name: str | None = None
        self.inherited = bool(kwargs.get("inherited"))
        self.translate = kwargs.get("translate", False)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def store(self) -> bool:
        """Whether the value lives in a column of the model's table."""
        if self.compute or self.related or self.inherited:
            return bool(self.args.get("store", False))
        return bool(self.args.get("store", True)) and self.column_type is not None

    def __get__(self, record: Any, owner: type | None = None) -> Any:
        if record is None:
            return self
        return record._get_field_value(self)

    def __set__(self, record: Any, value: Any) -> None:
        record._set_field_value(self, value)

    def null(self, env: Any) -> Any:
        """The value of an empty field."""
        return False

    def to_column(self, value: Any) -> Any:
        """Python value -> database parameter."""
        return None if value is False or value is None else value

    def from_column(self, value: Any, env: Any) -> Any:
        """Database value -> Python value."""
        return self.null(env) if value is None else value

    def to_read(self, value: Any) -> Any:
        """Record value -> ``read()`` value."""
        return value

    def column_sql(self, column: str, lang: str) -> str:
        """The SQL expression of the value held in ``column`` (``"table"."name"``)."""
        return column

    def assign_sql(self) -> str:
        """``"name" = %s`` of an ``UPDATE`` writing the value given by :meth:`to_column`."""
        return f'"{self.name}" = %s'


class Id(Field):
    """The ``id`` field."""

    type = "integer"

    def __get__(self, record: Any, owner: type | None = None) -> Any:
        if record is None:
            return self
        if not record._ids:
            return False
        return record.ensure_one()._ids[0]

    def __set__(self, record: Any, value: Any) -> None:
        raise TypeError("field 'id' cannot be assigned")


class Char(Field):
    """Short text (``varchar``; ``jsonb`` keyed by language when ``translate``)."""

    type, column_type = "char", "varchar"

    def __init__(self, string: Any = None, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        if self.translate:
            self.column_type = "jsonb"

    def to_column(self, value: Any) -> Any:
        if value is False or value is None:
            return None
        return json.dumps({"en_US": str(value)}) if self.translate else str(value)

    def from_column(self, value: Any, env: Any) -> Any:
        if self.translate and isinstance(value, dict):
            lang = env.lang if env is not None else "en_US"
            value = value[lang] if lang in value else value.get("en_US")
        return super().from_column(value, env)

    def column_sql(self, column: str, lang: str) -> str:
        if not self.translate:
            return column
        lang = lang if _LANG.match(lang) else "en_US"
        return f"COALESCE({column}->>'{lang}', {column}->>'en_US')"

    def assign_sql(self) -> str:
        if not self.translate:
            return super().assign_sql()
        return f'"{self.name}" = COALESCE("{self.name}", \'{{}}\'::jsonb) || %s::jsonb'


class Text(Char):
    """Long text."""

    type, column_type = "text", "text"


class Html(Text):
    """HTML text."""

    type = "html"


class Selection(Char):
    """One value out of ``selection`` (stored as text)."""

    type = "selection"

    def __init__(self, selection: Any = None, string: Any = None, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        self.selection = selection


class Integer(Field):
    """Integer (``int4``); empty reads as ``0``."""

    type, column_type = "integer", "int4"

    def null(self, env: Any) -> Any:
        return 0

    def to_column(self, value: Any) -> Any:
        return int(value or 0)


class Float(Field):
    """Floating point (``numeric`` with ``digits``, else ``float8``); empty reads as ``0.0``."""

    type = "float"

    def __init__(self, string: Any = None, digits: Any = None, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        self.column_type = "numeric" if digits else "float8"

    def null(self, env: Any) -> Any:
        return 0.0

    def to_column(self, value: Any) -> Any:
        return float(value or 0.0)

    def from_column(self, value: Any, env: Any) -> Any:
        return 0.0 if value is None else float(value)


class Monetary(Float):
    """An amount in a currency (``numeric``)."""

    type = "monetary"

    def __init__(self, string: Any = None, currency_field: str | None = None, **kwargs: Any) -> None:
        super().__init__(string, digits=True, **kwargs)


class Boolean(Field):
    """Boolean (``bool``)."""

    type, column_type = "boolean", "bool"

    def to_column(self, value: Any) -> Any:
        return bool(value)

    def from_column(self, value: Any, env: Any) -> Any:
        return bool(value)


class Date(Field):
    """Date (``date``)."""

    type, column_type = "date", "date"

    @staticmethod
    def today(*args: Any) -> datetime.date:
        """Today's date."""
        return datetime.date.today()

    @staticmethod
    def to_date(value: Any) -> Any:
        """Parse ``YYYY-MM-DD`` text."""
        if not value:
            return False
        return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value)[:10])

    @staticmethod
    def to_string(value: Any) -> Any:
        """Format as ``YYYY-MM-DD``."""
        return value.strftime("%Y-%m-%d") if value else False

    def to_read(self, value: Any) -> Any:
        return self.to_string(value)


class Datetime(Field):
    """Date and time in UTC (``timestamp``)."""

    type, column_type = "datetime", "timestamp"

    @staticmethod
    def now(*args: Any) -> datetime.datetime:
        """Now, UTC, without microseconds."""
        return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)

    @staticmethod
    def to_datetime(value: Any) -> Any:
        """Parse ``YYYY-MM-DD HH:MM:SS`` text."""
        if not value:
            return False
        return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))

    @staticmethod
    def to_string(value: Any) -> Any:
        """Format as ``YYYY-MM-DD HH:MM:SS``."""
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else False

    def to_read(self, value: Any) -> Any:
        return self.to_string(value)


class Binary(Field):
    """Binary data, base64-encoded; stored as an attachment unless ``attachment=False``."""

    type = "binary"

    def __init__(self, string: Any = None, attachment: bool = True, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        self.attachment = attachment
        self.column_type = None if attachment else "bytea"

    def to_column(self, value: Any) -> Any:
        if not value:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    def from_column(self, value: Any, env: Any) -> Any:
        return bytes(value) if value is not None else False

    def to_read(self, value: Any) -> Any:
        return value.decode() if isinstance(value, bytes) else value


class Image(Binary):
    """An image (binary attachment)."""

    type = "binary"


class Json(Field):
    """JSON value (``jsonb``)."""

    type, column_type = "json", "jsonb"

    def to_column(self, value: Any) -> Any:
        return None if value is None or value is False else json.dumps(value)


class Reference(Char):
    """A ``model,id`` reference stored as text."""

    type = "reference"


class Many2oneReference(Integer):
    """An id whose model is given by another field."""

    type = "many2one_reference"


class _Relational(Field):
    relational = True

    def null(self, env: Any) -> Any:
        return env[self.comodel_name].browse(())


class Many2one(_Relational):
    """Link to one record (``int4`` column holding its id)."""

    type, column_type = "many2one", "int4"

    def __init__(self, comodel_name: str | None = None, string: Any = None, **kwargs: Any) -> None:
        super().__init__(string, **kwargs)
        self.comodel_name = comodel_name or kwargs.get("comodel_name")
        self.ondelete = kwargs.get("ondelete", "set null")

    def to_column(self, value: Any) -> Any:
        if hasattr(value, "_ids"):
            return value._ids[0] if value._ids else None
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        return int(value) if value else None

    def from_column(self, value: Any, env: Any) -> Any:
        return env[self.comodel_name].browse(value or ())

    def to_read(self, value: Any) -> Any:
        return (value.id, value.display_name) if value else False


class One2many(_Relational):
    """The records of ``comodel_name`` whose ``inverse_name`` points here (no column)."""

    type = "one2many"

    def __init__(
        self,
        comodel_name: str | None = None,
        inverse_name: str | None = None,
        string: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(string, **kwargs)
        self.comodel_name = comodel_name or kwargs.get("comodel_name")
        self.inverse_name = inverse_name or kwargs.get("inverse_name")

    def to_read(self, value: Any) -> Any:
        return list(value._ids)


class Many2many(_Relational):
    """Links to records of ``comodel_name`` through a relation table."""

    type = "many2many"

    def __init__(
        self,
        comodel_name: str | None = None,
        relation: str | None = None,
        column1: str | None = None,
        column2: str | None = None,
        string: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(string, **kwargs)
        self.comodel_name = comodel_name or kwargs.get("comodel_name")
        self.relation, self.column1, self.column2 = relation, column1, column2

    def setup_relation(self, model_table: str, comodel_table: str) -> None:
        """Default relation table and columns, like Odoo's."""
        if not self.relation:
            tables = sorted([model_table, comodel_table])
            self.relation = f"{tables[0]}_{tables[1]}_rel"
        self.column1 = self.column1 or f"{model_table}_id"
        self.column2 = self.column2 or f"{comodel_table}_id"

    def to_read(self, value: Any) -> Any:
        return list(value._ids)


def b64(data: bytes | str) -> bytes:
    """Base64 of raw bytes (what binary fields hold)."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data)
