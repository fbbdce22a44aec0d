"""Model reflection (``ir.model``, ``ir.model.fields``), external ids and access rules."""

from __future__ import annotations

from typing import Any

from odoo import api, fields, models


class IrModel(models.Model):
    """A model of the registry."""

    _name = "ir.model"
    _description = "Models"
    _order = "model"
    _rec_name = "name"

    name = fields.Char("Model Description", required=True, translate=True)
    model = fields.Char(default="x_", required=True, index=True)
    info = fields.Text("Information")
    state = fields.Selection([("manual", "Custom Object"), ("base", "Base Object")], default="manual")
    transient = fields.Boolean("Transient Model")
    field_id = fields.One2many("ir.model.fields", "model_id", string="Fields")

    @api.model
    def _get(self, name: str) -> Any:
        """The ``ir.model`` record of model ``name``."""
        return self.search([("model", "=", name)], limit=1)

    @api.model
    def _get_id(self, name: str) -> int:
        """The id of the ``ir.model`` record of model ``name``."""
        return int(self._get(name).id or 0)


class IrModelFields(models.Model):
    """A field of a model."""

    _name = "ir.model.fields"
    _description = "Fields"
    _order = "name"

    name = fields.Char("Field Name", required=True, index=True)
    model = fields.Char("Model Name", index=True)
    model_id = fields.Many2one("ir.model", "Model", ondelete="cascade", index=True)
    field_description = fields.Char("Field Label", translate=True)
    ttype = fields.Char("Field Type")
    relation = fields.Char("Related Model")
    required = fields.Boolean()
    store = fields.Boolean(default=True)
    state = fields.Selection([("manual", "Custom Field"), ("base", "Base Field")], default="manual")


class IrModelData(models.Model):
    """An external id (``module.name``) pointing at a record."""

    _name = "ir.model.data"
    _description = "Model Data"
    _order = "module, model, name"

    name = fields.Char("External Identifier", required=True)
    complete_name = fields.Char(compute="_compute_complete_name")
    model = fields.Char("Model Name", required=True)
    module = fields.Char(default="", required=True)
    res_id = fields.Many2oneReference("Record ID")
    noupdate = fields.Boolean("Non Updatable", default=False)

    _sql_constraints = (("name_nospaces", "UNIQUE (module, name)", "External IDs must be unique"),)

    def _compute_complete_name(self) -> None:
        for rec in self:
            rec.complete_name = f"{rec.module}.{rec.name}"

    @api.model
    def _xmlid_to_res_model_res_id(self, xmlid: str, raise_if_not_found: bool = False) -> tuple[str, int]:
        """``(model, res_id)`` of ``xmlid``."""
        record = self.env.ref(xmlid, raise_if_not_found=raise_if_not_found)
        return (record._name, record.id) if record else ("", 0)

    @api.model
    def _xmlid_to_res_id(self, xmlid: str, raise_if_not_found: bool = False) -> int:
        """The id of the record of ``xmlid``."""
        return self._xmlid_to_res_model_res_id(xmlid, raise_if_not_found)[1]


class IrModelAccess(models.Model):
    """Access rights of a group on a model (``ir.model.access.csv``)."""

    _name = "ir.model.access"
    _description = "Model Access"
    _order = "model_id,group_id,name,id"

    name = fields.Char(required=True, index=True)
    active = fields.Boolean(default=True)
    model_id = fields.Many2one("ir.model", "Model", required=True, index=True, ondelete="cascade")
    group_id = fields.Many2one("res.groups", "Group", ondelete="restrict", index=True)
    perm_read = fields.Boolean("Read Access")
    perm_write = fields.Boolean("Write Access")
    perm_create = fields.Boolean("Create Access")
    perm_unlink = fields.Boolean("Delete Access")


class IrRule(models.Model):
    """A record rule (stored, not enforced by the stand-in)."""

    _name = "ir.rule"
    _description = "Record Rule"
    _order = "model_id DESC,id"

    name = fields.Char(index=True)
    active = fields.Boolean(default=True)
    model_id = fields.Many2one("ir.model", "Model", index=True, required=True, ondelete="cascade")
    groups = fields.Many2many("res.groups", "rule_group_rel", "rule_group_id", "group_id", string="Groups")
    domain_force = fields.Text("Domain")
    perm_read = fields.Boolean("Read", default=True)
    perm_write = fields.Boolean("Write", default=True)
    perm_create = fields.Boolean("Create", default=True)
    perm_unlink = fields.Boolean("Delete", default=True)
