"""System parameters, scheduled actions, outgoing mail servers and sequences."""

from __future__ import annotations

from typing import Any

from odoo import api, fields, models


class IrConfigParameter(models.Model):
    """A key/value system parameter."""

    _name = "ir.config_parameter"
    _description = "System Parameter"
    _rec_name = "key"
    _order = "key"

    key = fields.Char(required=True)
    value = fields.Text(required=True)

    _sql_constraints = (("key_uniq", "unique (key)", "Key must be unique."),)

    @api.model
    def get_param(self, key: str, default: Any = False) -> Any:
        """The value of ``key``, or ``default``."""
        self.env.cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", (key,))
        row = self.env.cr.fetchone()
        return row[0] if row else default

    @api.model
    def set_param(self, key: str, value: Any) -> Any:
        """Set (or delete, with a falsy value) ``key``; return the old value."""
        param = self.search([("key", "=", key)])
        old = param.value if param else False
        if value is False or value is None:
            param.unlink()
        elif param:
            param.write({"value": str(value)})
        else:
            self.create({"key": key, "value": str(value)})
        return old


class IrCron(models.Model):
    """A scheduled action (never run by the stand-in)."""

    _name = "ir.cron"
    _description = "Scheduled Actions"
    _order = "cron_name, priority"

    name = fields.Char("Action Name", required=True)
    cron_name = fields.Char("Name", compute="_compute_cron_name", store=True)
    ir_actions_server_id = fields.Many2one("ir.actions.server", "Server action", ondelete="restrict")
    model_id = fields.Many2one("ir.model", "Model")
    code = fields.Text("Python Code")
    state = fields.Char(default="code")
    user_id = fields.Many2one("res.users", "Scheduler User", default=lambda self: self.env.user)
    active = fields.Boolean(default=True)
    interval_number = fields.Integer(default=1)
    interval_type = fields.Selection(
        [
            ("minutes", "Minutes"),
            ("hours", "Hours"),
            ("days", "Days"),
            ("weeks", "Weeks"),
            ("months", "Months"),
        ],
        string="Interval Unit",
        default="months",
    )
    nextcall = fields.Datetime("Next Execution Date", required=True, default=fields.Datetime.now)
    lastcall = fields.Datetime("Last Execution Date")
    priority = fields.Integer(default=5)

    def _compute_cron_name(self) -> None:
        for cron in self:
            cron.cron_name = cron.name


class IrMailServer(models.Model):
    """An outgoing mail server."""

    _name = "ir.mail_server"
    _description = "Mail Server"
    _order = "sequence, id"

    name = fields.Char("Name", required=True, index=True)
    from_filter = fields.Char("FROM Filtering")
    smtp_host = fields.Char("SMTP Server")
    smtp_port = fields.Integer("SMTP Port", default=25)
    smtp_authentication = fields.Char(default="login")
    smtp_user = fields.Char("Username")
    smtp_pass = fields.Char("Password")
    smtp_encryption = fields.Char("Connection Encryption", default="none")
    smtp_debug = fields.Boolean("Debugging")
    sequence = fields.Integer("Priority", default=10)
    active = fields.Boolean(default=True)


class IrSequence(models.Model):
    """A numbering sequence (``next_by_code``)."""

    _name = "ir.sequence"
    _description = "Sequence"
    _order = "name"

    name = fields.Char(required=True)
    code = fields.Char("Sequence Code")
    implementation = fields.Char(default="standard")
    active = fields.Boolean(default=True)
    prefix = fields.Char()
    suffix = fields.Char()
    number_next = fields.Integer("Next Number", required=True, default=1)
    number_increment = fields.Integer("Step", required=True, default=1)
    padding = fields.Integer("Sequence Size", required=True, default=0)
    company_id = fields.Many2one("res.company", "Company")

    def next_by_id(self) -> str:
        """The next number of this sequence, formatted."""
        self.ensure_one()
        self.env.cr.execute(
            "UPDATE ir_sequence SET number_next = number_next + number_increment WHERE id = %s "
            "RETURNING number_next - number_increment",
            (self.id,),
        )
        number = self.env.cr.fetchone()[0]
        return f"{self.prefix or ''}{str(number).zfill(self.padding or 0)}{self.suffix or ''}"

    @api.model
    def next_by_code(self, sequence_code: str, sequence_date: Any = None) -> Any:
        """The next number of the sequence with ``code``, or False."""
        sequence = self.search([("code", "=", sequence_code)], limit=1)
        return sequence.next_by_id() if sequence else False
