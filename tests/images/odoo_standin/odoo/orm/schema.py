"""Database schema of models (tables, columns, relation tables, SQL constraints) and reflection.

Reflection fills ``ir_model``/``ir_model_fields`` and gives each model the external ids the real
server creates (``MODULE.model_demo_thing``, ``MODULE.field_demo_thing__name``), so that
``security/ir.model.access.csv`` files can reference them.
"""

from __future__ import annotations

import logging
from typing import Any

_logger = logging.getLogger("odoo.modules.registry")


def table_exists(cr: Any, table: str) -> bool:
    """Whether ``table`` exists in the current schema."""
    cr.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = %s AND table_schema = current_schema()",
        (table,),
    )
    return cr.fetchone() is not None


def _columns(cr: Any, table: str) -> set[str]:
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND table_schema = current_schema()",
        (table,),
    )
    return {row[0] for row in cr.fetchall()}


def _try(cr: Any, query: str, params: Any = None) -> bool:
    try:
        with cr.savepoint():
            cr.execute(query, params)
    except Exception as exc:  # noqa: BLE001  (logged: e.g. NOT NULL on a column holding NULLs)
        _logger.debug("schema statement failed: %s: %s", query, exc)
        return False
    return True


def init_models(env: Any, model_names: list[str], module: str, log: bool = True) -> None:
    """Create or update the tables of ``model_names`` and reflect them for ``module``."""
    if log:
        _logger.info("module %s: creating or updating database tables", module)
    cr = env.cr
    for name in model_names:
        cls = env.registry[name]
        if cls._abstract or not cls._auto:
            continue
        table = cls._table
        cr.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (id SERIAL NOT NULL, PRIMARY KEY(id))')
        existing = _columns(cr, table)
        for fname, field in cls._fields.items():
            if fname == "id" or not field.store or not field.column_type or fname in existing:
                continue
            cr.execute(f'ALTER TABLE "{table}" ADD COLUMN "{fname}" {field.column_type}')
            if field.required and not (field.compute or field.related):
                _try(cr, f'ALTER TABLE "{table}" ALTER COLUMN "{fname}" SET NOT NULL')
            if field.args.get("index") or field.type == "many2one":
                _try(cr, f'CREATE INDEX IF NOT EXISTS "{table}__{fname}_index" ON "{table}" ("{fname}")')
        for field in cls._fields.values():
            if field.type == "many2many" and field.relation:
                cr.execute(
                    f'CREATE TABLE IF NOT EXISTS "{field.relation}" ("{field.column1}" INTEGER NOT NULL, '
                    f'"{field.column2}" INTEGER NOT NULL, PRIMARY KEY("{field.column1}", "{field.column2}"))'
                )
        for key, definition, _message in cls._sql_constraints:
            conname = f"{table}_{key}"[:63]
            cr.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", (conname,))
            if cr.fetchone() is None:
                _try(cr, f'ALTER TABLE "{table}" ADD CONSTRAINT "{conname}" {definition}')
    if table_exists(cr, "ir_model") and table_exists(cr, "ir_model_data"):
        reflect_models(env, model_names, module)


def set_xmlid(cr: Any, module: str, name: str, model: str, res_id: int, noupdate: bool = False) -> None:
    """Create or update the external id ``module.name``."""
    cr.execute(
        "INSERT INTO ir_model_data (module, name, model, res_id, noupdate, create_date, write_date) "
        "VALUES (%s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') "
        "ON CONFLICT (module, name) DO UPDATE SET model = EXCLUDED.model, res_id = EXCLUDED.res_id, "
        "write_date = EXCLUDED.write_date",
        (module, name, model, res_id, noupdate),
    )


def reflect_models(env: Any, model_names: list[str], module: str) -> None:
    """Rows of ``ir_model`` and ``ir_model_fields`` for the models, with their external ids."""
    cr = env.cr
    model_label = env.registry["ir.model"]._fields["name"].to_column  # jsonb {"en_US": ...}
    field_label = env.registry["ir.model.fields"]._fields["field_description"].to_column
    for name in model_names:
        cls = env.registry[name]
        cr.execute("SELECT id FROM ir_model WHERE model = %s", (name,))
        row = cr.fetchone()
        if row:
            model_id = row[0]
        else:
            cr.execute(
                "INSERT INTO ir_model (model, name, state, transient, create_date, write_date) "
                "VALUES (%s, %s, 'base', %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') "
                "RETURNING id",
                (name, model_label(cls._description or name), bool(cls._transient)),
            )
            model_id = cr.fetchone()[0]
        xml_name = "model_" + name.replace(".", "_")
        set_xmlid(cr, module, xml_name, "ir.model", model_id)
        cr.execute("SELECT name, id FROM ir_model_fields WHERE model = %s", (name,))
        known = dict(cr.fetchall())
        for fname, field in cls._fields.items():
            field_id = known.get(fname)
            if field_id is None:
                cr.execute(
                    "INSERT INTO ir_model_fields (name, model, model_id, field_description, ttype, relation, "
                    "required, store, state, create_date, write_date) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "'base', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') RETURNING id",
                    (
                        fname,
                        name,
                        model_id,
                        field_label(str(field.string or fname.replace("_", " ").title())),
                        field.type,
                        field.comodel_name,
                        field.required,
                        field.store,
                    ),
                )
                field_id = cr.fetchone()[0]
            set_xmlid(cr, module, f"field_{name.replace('.', '_')}__{fname}", "ir.model.fields", field_id)
