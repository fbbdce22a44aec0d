"""Data files of a module (XML records, CSV, SQL), loaded and checked like Odoo's ``convert``.

References to external ids of the stand-in's own modules (``base``, ``web``, ``mail``) that it
does not ship resolve to nothing with a warning, and records of models it lacks are skipped with a
warning: the stand-in has far fewer base records and models than the real server.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import os
import pprint
import time
from typing import Any

from lxml import etree

from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.modules.module import get_module_path
from odoo.orm.schema import set_xmlid

_logger = logging.getLogger(__name__)
_loading_logger = logging.getLogger("odoo.modules.loading")
STANDIN_MODULES = ("base", "web", "mail")


class ParseError(Exception):
    """A data file could not be loaded."""


ParseError.__module__ = "odoo.tools.convert"


def convert_file(
    env: Any, module: str, filename: str, idref: dict[str, int], mode: str = "init", noupdate: bool = False
) -> None:
    """Load ``module/filename`` (``.xml``, ``.csv`` or ``.sql``)."""
    _loading_logger.info("loading %s/%s", module, filename)
    path = os.path.join(get_module_path(module) or "", filename)
    ext = os.path.splitext(filename)[1].lower()
    if ext == ".csv":
        with open(path, encoding="utf-8") as fh:
            convert_csv_import(env, module, filename, fh.read(), idref, mode, noupdate)
    elif ext == ".xml":
        XmlImport(env, module, idref, mode, noupdate, path).parse(etree.parse(path).getroot())
    elif ext == ".sql":
        with open(path, encoding="utf-8") as fh:
            env.cr.execute(fh.read())
    elif ext == ".js":
        pass
    else:
        raise ValueError(f"Can't load unknown file type {filename}.")


class _Refs:
    def __init__(self, env: Any, module: str, idref: dict[str, int]) -> None:
        self.env, self.module, self.idref = env, module, idref

    def full(self, xml_id: str) -> str:
        return xml_id if "." in xml_id else f"{self.module}.{xml_id}"

    def id_of(self, xml_id: str) -> int | bool:
        full = self.full(xml_id)
        if full in self.idref:
            return self.idref[full]
        record = self.env.ref(full, raise_if_not_found=False)
        if record:
            return int(record.id)
        if full.split(".")[0] in STANDIN_MODULES and full.split(".")[0] != self.module:
            _logger.warning("stand-in: external id %s is not part of the stand-in; ignored", full)
            return False
        raise ValueError(f"External ID not found in the system: {full}")

    def eval_context(self) -> dict[str, Any]:
        return {
            "ref": self.id_of,
            "Command": Command,
            "time": time,
            "datetime": datetime,
            "timedelta": datetime.timedelta,
            "version": "18.0",
            "obj": lambda x: x,
            "False": False,
            "True": True,
            "None": None,
        }

    def safe_eval(self, expr: str) -> Any:
        return eval(
            expr,
            {"__builtins__": {"len": len, "list": list, "dict": dict, "str": str, "int": int}},
            self.eval_context(),
        )


def _upsert(env: Any, model: str, xml_id: str, vals: dict[str, Any], mode: str, noupdate: bool) -> Any:
    module, _, name = xml_id.partition(".")
    existing = env.ref(xml_id, raise_if_not_found=False)
    if existing and existing._name == model:
        env.cr.execute("SELECT noupdate FROM ir_model_data WHERE module=%s AND name=%s", (module, name))
        row = env.cr.fetchone()
        if mode == "update" and row and row[0]:
            return existing
        existing.write(vals)
        return existing
    record = env[model].with_context(active_test=False).create(vals)
    set_xmlid(env.cr, module, name, model, record.id, noupdate)
    return record


def convert_csv_import(
    env: Any,
    module: str,
    fname: str,
    content: str,
    idref: dict[str, int],
    mode: str = "init",
    noupdate: bool = False,
) -> None:
    """Import a ``model.name.csv`` file: an ``id`` column plus field columns (``field:id`` for refs)."""
    model = os.path.splitext(os.path.basename(fname))[0]
    refs = _Refs(env, module, idref)
    reader = csv.reader(io.StringIO(content))
    header = next(reader, [])
    if model not in env:
        _logger.warning("stand-in: model %s of %s/%s is unknown; file skipped", model, module, fname)
        return
    Model = env[model]
    for lineno, row in enumerate(reader, 2):
        if not any(row):
            continue
        vals: dict[str, Any] = {}
        xml_id = ""
        try:
            for column, raw in zip(header, row, strict=False):
                if column == "id":
                    xml_id = refs.full(raw)
                    continue
                name, sep, _ = column.replace("/id", ":id").partition(":id")
                field = Model._fields.get(name)
                if field is None:
                    raise ValueError(f"Unknown field {name!r} in column {column!r}")
                if sep:
                    ids = [refs.id_of(x.strip()) for x in raw.split(",") if x.strip()]
                    ids = [i for i in ids if i]
                    vals[name] = [(6, 0, ids)] if field.type == "many2many" else (ids[0] if ids else False)
                elif field.type == "boolean":
                    vals[name] = raw.strip().lower() in ("1", "true", "yes")
                elif field.type in ("integer", "float", "monetary"):
                    vals[name] = float(raw) if field.type != "integer" else int(raw or 0)
                else:
                    vals[name] = raw
            if xml_id:
                _upsert(env, model, xml_id, vals, mode, noupdate)
            else:
                Model.create(vals)
        except Exception as exc:
            raise Exception(
                f"Module loading {module} failed: file {module}/{fname} could not be processed:\n"
                f" line {lineno}: {exc}"
            ) from exc


class XmlImport:
    """Loads the ``<record>``, ``<template>``, ``<menuitem>``, ``<function>`` and ``<delete>`` tags."""

    def __init__(
        self, env: Any, module: str, idref: dict[str, int], mode: str, noupdate: bool, path: str
    ) -> None:
        self.env, self.module, self.mode, self.noupdate, self.path = env, module, mode, noupdate, path
        self.refs = _Refs(env, module, idref)

    def parse(self, root: Any) -> None:
        """Load every tag of the document."""
        if root.tag not in ("odoo", "openerp", "data"):
            raise ParseError(f"while parsing {self.path}: root tag must be <odoo>, got <{root.tag}>")
        self._walk(root, self.noupdate)

    def _walk(self, node: Any, noupdate: bool) -> None:
        for rec in node:
            if not isinstance(rec.tag, str):
                continue
            if rec.tag in ("data", "odoo", "openerp"):
                self._walk(rec, str(rec.get("noupdate", noupdate)).lower() in ("1", "true"))
                continue
            handler = getattr(self, f"_tag_{rec.tag}", None)
            if handler is None:
                _logger.warning("stand-in: tag <%s> in %s is not supported; skipped", rec.tag, self.path)
                continue
            try:
                handler(rec, noupdate)
            except ParseError:
                raise
            except ValidationError as err:
                context = getattr(err, "context", None) or "-no context-"
                msg = (
                    f"while parsing {self.path}:{rec.sourceline}\n{err.args[0]}\n\n"
                    f"View error context:\n{pprint.pformat(context)}\n"
                )
                raise ParseError(msg) from None
            except Exception as exc:
                snippet = etree.tostring(rec, encoding="unicode").rstrip()
                raise ParseError(
                    f"while parsing {self.path}:{rec.sourceline}, somewhere inside\n{snippet}"
                ) from exc

    def _field_value(self, Model: Any, node: Any) -> Any:
        name = node.get("name")
        field = Model._fields[name]
        if node.get("ref"):
            target = self.refs.id_of(node.get("ref"))
            if field.type == "reference" and target:
                model = self.env.ref(self.refs.full(node.get("ref")))._name
                return f"{model},{target}"
            return target
        if node.get("search"):
            comodel = self.env[node.get("model") or field.comodel_name]
            ids = comodel.search(self.refs.safe_eval(node.get("search"))).ids
            return [(6, 0, ids)] if field.type == "many2many" else (ids[0] if ids else False)
        if node.get("eval") is not None:
            return self.refs.safe_eval(node.get("eval"))
        kind = node.get("type")
        if kind in ("xml", "html"):
            parts = "".join(etree.tostring(child, encoding="unicode", with_tail=False) for child in node)
            return f"<data>{parts}</data>" if kind == "xml" and len(node) > 1 else (parts or node.text or "")
        if kind == "base64" or node.get("file"):
            with open(os.path.join(get_module_path(self.module) or "", node.get("file")), "rb") as fh:
                import base64

                return base64.b64encode(fh.read())
        text = node.text or ""
        if kind == "int" or field.type == "integer":
            return int(text.strip() or 0)
        if kind == "float" or field.type in ("float", "monetary"):
            return float(text.strip() or 0)
        if field.type == "boolean":
            return text.strip().lower() in ("1", "true")
        return text

    def _tag_record(self, rec: Any, noupdate: bool) -> None:
        model, xml_id = rec.get("model"), rec.get("id")
        if model not in self.env:
            _logger.warning("stand-in: model %s of record %s is unknown; record skipped", model, xml_id)
            return
        Model = self.env[model]
        full = self.refs.full(xml_id) if xml_id else ""
        vals: dict[str, Any] = {}
        for node in rec.findall("field"):
            name = node.get("name")
            if name not in Model._fields:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
            vals[name] = self._field_value(Model, node)
        if model == "ir.ui.view" and "arch" in vals:
            vals.setdefault("name", xml_id or "view")
        record = _upsert(self.env, model, full, vals, self.mode, noupdate) if full else Model.create(vals)
        if full:
            self.refs.idref[full] = record.id
        if model == "ir.ui.view":
            record._check_xml(self.path, xml_id or "")

    def _tag_template(self, rec: Any, noupdate: bool) -> None:
        xml_id = rec.get("id")
        full = self.refs.full(xml_id)
        arch = etree.Element("t", {"t-name": full})
        for child in rec:
            arch.append(child)
        vals: dict[str, Any] = {
            "name": rec.get("name") or xml_id,
            "type": "qweb",
            "key": full,
            "arch": etree.tostring(arch, encoding="unicode"),
            "priority": int(rec.get("priority", 16)),
        }
        if rec.get("inherit_id"):
            vals["inherit_id"] = self.refs.id_of(rec.get("inherit_id"))
        record = _upsert(self.env, "ir.ui.view", full, vals, self.mode, noupdate)
        self.refs.idref[full] = record.id

    def _tag_menuitem(self, rec: Any, noupdate: bool) -> None:
        xml_id = rec.get("id")
        vals: dict[str, Any] = {"name": rec.get("name") or xml_id}
        if rec.get("parent"):
            vals["parent_id"] = self.refs.id_of(rec.get("parent"))
        if rec.get("sequence"):
            vals["sequence"] = int(rec.get("sequence"))
        if rec.get("web_icon"):
            vals["web_icon"] = rec.get("web_icon")
        if rec.get("action"):
            action_id = self.refs.id_of(rec.get("action"))
            if action_id:
                vals["action"] = f"{self.env.ref(self.refs.full(rec.get('action')))._name},{action_id}"
        if rec.get("groups"):
            ids = [self.refs.id_of(g.strip().lstrip("-")) for g in rec.get("groups").split(",") if g.strip()]
            vals["groups_id"] = [(6, 0, [i for i in ids if i])]
        full = self.refs.full(xml_id)
        record = _upsert(self.env, "ir.ui.menu", full, vals, self.mode, noupdate)
        self.refs.idref[full] = record.id
        for child in rec.findall("menuitem"):
            child.set("parent", child.get("parent") or xml_id)
            self._tag_menuitem(child, noupdate)

    def _tag_function(self, rec: Any, noupdate: bool) -> None:
        if noupdate and self.mode != "init":
            return
        args = self.refs.safe_eval(rec.get("eval")) if rec.get("eval") else []
        Model = self.env[rec.get("model")]
        getattr(Model, rec.get("name"))(*(args if isinstance(args, list | tuple) else [args]))

    def _tag_delete(self, rec: Any, noupdate: bool) -> None:
        Model = self.env[rec.get("model")]
        if rec.get("search"):
            Model.search(self.refs.safe_eval(rec.get("search"))).unlink()
        elif rec.get("id"):
            record = self.env.ref(self.refs.full(rec.get("id")), raise_if_not_found=False)
            if record:
                record.unlink()
