"""Core models (order matters: ``res.users`` delegates to ``res.partner``)."""

from . import ir_attachment, ir_misc, ir_model, ir_module, ir_ui, res_partner, res_users

__all__ = ["ir_attachment", "ir_misc", "ir_model", "ir_module", "ir_ui", "res_partner", "res_users"]
