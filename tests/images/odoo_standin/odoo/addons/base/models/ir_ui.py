"""Views (validated like Odoo: unknown fields fail), menus and window/server actions."""

from __future__ import annotations

from typing import Any

from lxml import etree

from odoo import api, fields, models
from odoo.exceptions import ValidationError

VIEW_TYPES = [
    ("list", "List"),
    ("form", "Form"),
    ("graph", "Graph"),
    ("pivot", "Pivot"),
    ("calendar", "Calendar"),
    ("gantt", "Gantt"),
    ("kanban", "Kanban"),
    ("search", "Search"),
    ("qweb", "QWeb"),
    ("activity", "Activity"),
]
_ROOT_TYPES = {"tree": "list", **{key: key for key, _ in VIEW_TYPES}, "t": "qweb", "templates": "qweb"}


class View(models.Model):
    """A view; ``arch`` is checked against the fields of ``model`` on create and write."""

    _name = "ir.ui.view"
    _description = "View"
    _order = "priority,name,id"

    name = fields.Char("View Name", required=True)
    model = fields.Char(index=True)
    key = fields.Char()
    priority = fields.Integer("Sequence", default=16, required=True)
    type = fields.Selection(VIEW_TYPES, "View Type")
    arch_db = fields.Text("Arch Blob", translate=True)
    arch = fields.Text("View Architecture", compute="_compute_arch", inverse="_inverse_arch")
    arch_fs = fields.Char("Arch Filename")
    inherit_id = fields.Many2one("ir.ui.view", "Inherited View", ondelete="restrict", index=True)
    inherit_children_ids = fields.One2many("ir.ui.view", "inherit_id", "Views which inherit from this one")
    mode = fields.Selection([("primary", "Base view"), ("extension", "Extension View")], default="primary")
    active = fields.Boolean(default=True)
    groups_id = fields.Many2many("res.groups", "ir_ui_view_group_rel", "view_id", "group_id", string="Groups")

    def _compute_arch(self) -> None:
        for view in self:
            view.arch = view.arch_db

    def _inverse_arch(self) -> None:
        for view in self:
            view.write({"arch_db": self.env.cache.get((self._name, view.id, "arch"))})

    @api.model_create_multi
    def create(self, vals_list: list[dict[str, Any]]) -> Any:
        """Create views, deriving ``type`` and ``mode`` from the arch and the parent."""
        prepared = []
        for vals in vals_list:
            vals = dict(vals)
            if "arch" in vals:
                vals["arch_db"] = vals.pop("arch")
            if not vals.get("type") and vals.get("arch_db"):
                root = etree.fromstring(vals["arch_db"].encode())
                vals["type"] = _ROOT_TYPES.get(root.tag, "qweb" if vals.get("inherit_id") is None else False)
            if vals.get("inherit_id") and "mode" not in vals:
                vals["mode"] = "extension"
            prepared.append(vals)
        return super().create(prepared)

    def write(self, vals: dict[str, Any]) -> bool:
        """Write, keeping ``arch`` and ``arch_db`` in sync."""
        vals = dict(vals)
        if "arch" in vals:
            vals["arch_db"] = vals.pop("arch")
        return super().write(vals)

    def _check_xml(self, filename: str = "", xmlid: str = "") -> None:
        """Raise ``ValidationError`` (with Odoo's message and context) when the arch names unknown fields."""
        for view in self:
            model_name = view.model or (view.inherit_id.model if view.inherit_id else False)
            if not view.arch_db or not model_name or model_name not in self.env or view.type == "qweb":
                continue
            root = etree.fromstring(view.arch_db.encode())
            root.set("__validate__", "1")
            problem = _first_unknown_field(self.env, self.env[model_name], root)
            if problem is None:
                continue
            node, fname, model = problem
            lines = etree.tostring(root, encoding="unicode").splitlines(keepends=True)
            line = node.sourceline or 1
            fivelines = "".join(lines[max(0, line - 3) : line + 2])
            error = f'Field "{fname}" does not exist in model "{model}"'
            err = ValidationError(f"Error while validating view near:\n\n{fivelines}\n{error}")
            err.context = {  # type: ignore[attr-defined]
                "file": filename,
                "line": line,
                "name": view.name,
                "view": view,
                "view.model": model_name,
                "view.parent": view.inherit_id,
                "xmlid": xmlid,
            }
            raise err


def _first_unknown_field(env: Any, model: Any, node: Any) -> tuple[Any, str, str] | None:
    """The first ``<field name=...>`` of ``node`` unknown to ``model`` (sub-views use the comodel)."""
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "field" and child.get("name"):
            fname = child.get("name")
            field = model._fields.get(fname)
            if field is None:
                return child, fname, model._name
            sub_model = model
            if not child.get("position") and field.relational and field.comodel_name in env:
                sub_model = env[field.comodel_name]
            found = _first_unknown_field(env, sub_model, child) if len(child) else None
        else:
            found = _first_unknown_field(env, model, child)
        if found:
            return found
    return None


class Menu(models.Model):
    """A menu item."""

    _name = "ir.ui.menu"
    _description = "Menu"
    _order = "sequence,id"

    name = fields.Char("Menu", required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    parent_id = fields.Many2one("ir.ui.menu", "Parent Menu", index=True, ondelete="restrict")
    child_id = fields.One2many("ir.ui.menu", "parent_id", string="Child IDs")
    groups_id = fields.Many2many("res.groups", "ir_ui_menu_group_rel", "menu_id", "gid", string="Groups")
    web_icon = fields.Char("Web Icon File")
    action = fields.Reference("Action")


class ActWindow(models.Model):
    """A window action."""

    _name = "ir.actions.act_window"
    _description = "Action Window"
    _order = "name, id"

    name = fields.Char("Action Name", required=True, translate=True)
    type = fields.Char(default="ir.actions.act_window")
    xml_id = fields.Char("External ID")
    help = fields.Html("Action Description", translate=True)
    binding_model_id = fields.Many2one("ir.model", ondelete="cascade")
    binding_view_types = fields.Char(default="list,form")
    res_model = fields.Char("Destination Model", required=True)
    res_id = fields.Integer("Record ID")
    view_mode = fields.Char("View Mode", required=True, default="list,form")
    view_id = fields.Many2one("ir.ui.view", "View Ref.", ondelete="set null")
    search_view_id = fields.Many2one("ir.ui.view", "Search View Ref.")
    domain = fields.Char("Domain Value")
    context = fields.Char("Context Value", default={}, required=True)
    target = fields.Char("Target Window", default="current")
    limit = fields.Integer(default=80)
    groups_id = fields.Many2many("res.groups", "ir_act_window_group_rel", "act_id", "gid", string="Groups")


class ActServer(models.Model):
    """A server action."""

    _name = "ir.actions.server"
    _description = "Server Actions"
    _order = "sequence,name"

    name = fields.Char("Action Name", required=True, translate=True)
    type = fields.Char(default="ir.actions.server")
    sequence = fields.Integer(default=5)
    model_id = fields.Many2one("ir.model", "Model", ondelete="cascade")
    model_name = fields.Char(related="model_id.model", store=True)
    state = fields.Char("Type", default="code")
    code = fields.Text("Python Code")
    binding_model_id = fields.Many2one("ir.model", ondelete="cascade")
    binding_view_types = fields.Char(default="list,form")
    groups_id = fields.Many2many("res.groups", "ir_act_server_group_rel", "act_id", "gid", string="Groups")


class ActClient(models.Model):
    """A client action."""

    _name = "ir.actions.client"
    _description = "Client Action"

    name = fields.Char("Action Name", required=True, translate=True)
    type = fields.Char(default="ir.actions.client")
    tag = fields.Char("Client action tag", required=True)
    target = fields.Char(default="current")
    res_model = fields.Char("Destination Model")
    context = fields.Char("Context Value", default="{}")
    params_store = fields.Binary("Params storage", attachment=False)


class ActReport(models.Model):
    """A report action."""

    _name = "ir.actions.report"
    _description = "Report Action"

    name = fields.Char(required=True, translate=True)
    type = fields.Char(default="ir.actions.report")
    model = fields.Char("Model Name", required=True)
    report_type = fields.Char(default="qweb-pdf")
    report_name = fields.Char("Template Name", required=True)
    report_file = fields.Char("Report File")
    print_report_name = fields.Char("Printed Report Name")
    binding_model_id = fields.Many2one("ir.model", ondelete="cascade")
    binding_type = fields.Char(default="report")
    paperformat_id = fields.Integer("Paper Format")


class ActUrl(models.Model):
    """A URL action."""

    _name = "ir.actions.act_url"
    _description = "Action URL"

    name = fields.Char(required=True, translate=True)
    type = fields.Char(default="ir.actions.act_url")
    url = fields.Text("Action URL", required=True)
    target = fields.Char("Action Target", default="new")
