"""Thread/activity mixins (``_inherit = ['mail.thread']``), messages, outgoing mails, fetchmail servers."""

from __future__ import annotations

from typing import Any

from odoo import fields, models


class MailThread(models.AbstractModel):
    """Chatter mixin: ``message_post`` stores a ``mail.message``."""

    _name = "mail.thread"
    _description = "Email Thread"

    message_follower_ids = fields.Integer("Followers", compute="_compute_no_chatter")
    message_ids = fields.Integer("Messages", compute="_compute_no_chatter")

    def _compute_no_chatter(self) -> None:
        for rec in self:
            rec.message_follower_ids = 0
            rec.message_ids = 0

    def message_post(
        self, body: Any = "", subject: Any = None, message_type: str = "notification", **kwargs: Any
    ) -> Any:
        """Store a message on the record."""
        self.ensure_one()
        return self.env["mail.message"].create(
            {
                "model": self._name,
                "res_id": self.id,
                "body": str(body or ""),
                "subject": subject,
                "message_type": message_type,
                "author_id": self.env.user.partner_id.id,
            }
        )

    def message_subscribe(self, partner_ids: Any = None, subtype_ids: Any = None) -> bool:
        """Followers are not kept by the stand-in."""
        return True

    def message_unsubscribe(self, partner_ids: Any = None) -> bool:
        """Followers are not kept by the stand-in."""
        return True


class MailActivityMixin(models.AbstractModel):
    """Activities mixin (no activities in the stand-in)."""

    _name = "mail.activity.mixin"
    _description = "Activity Mixin"

    activity_state = fields.Selection(
        [("overdue", "Overdue"), ("today", "Today"), ("planned", "Planned")],
        compute="_compute_activity_state",
    )

    def _compute_activity_state(self) -> None:
        for rec in self:
            rec.activity_state = False


class MailMessage(models.Model):
    """A message posted on a record."""

    _name = "mail.message"
    _description = "Message"
    _order = "id desc"

    subject = fields.Char()
    body = fields.Html()
    model = fields.Char("Related Document Model", index=True)
    res_id = fields.Many2oneReference("Related Document ID", index=True)
    message_type = fields.Char(default="notification")
    author_id = fields.Many2one("res.partner", "Author", ondelete="set null")
    date = fields.Datetime(default=fields.Datetime.now)


class MailMail(models.Model):
    """An outgoing email (never sent by the stand-in)."""

    _name = "mail.mail"
    _description = "Outgoing Mails"
    _order = "id desc"

    subject = fields.Char()
    body_html = fields.Text("Text Contents")
    email_from = fields.Char("From")
    email_to = fields.Text("To")
    state = fields.Selection(
        [
            ("outgoing", "Outgoing"),
            ("sent", "Sent"),
            ("exception", "Delivery Failed"),
            ("cancel", "Cancelled"),
        ],
        default="outgoing",
    )
    mail_server_id = fields.Many2one("ir.mail_server", "Outgoing mail server")


class FetchmailServer(models.Model):
    """An incoming mail server."""

    _name = "fetchmail.server"
    _description = "Incoming Mail Server"
    _order = "priority"

    name = fields.Char("Name", required=True)
    active = fields.Boolean("Active", default=True)
    state = fields.Selection([("draft", "Not Confirmed"), ("done", "Confirmed")], default="draft")
    server = fields.Char("Server Name")
    port = fields.Integer()
    server_type = fields.Selection(
        [("imap", "IMAP Server"), ("pop", "POP Server"), ("local", "Local Server")],
        default="imap",
        required=True,
    )
    is_ssl = fields.Boolean("SSL/TLS")
    user = fields.Char("Username")
    password = fields.Char()
    priority = fields.Integer("Server Priority", default=5)
