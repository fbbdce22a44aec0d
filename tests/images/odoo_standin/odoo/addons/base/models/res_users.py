"""Users (delegating to a contact), groups and companies; passwords are stored hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from odoo import api, fields, models

ROUNDS = 25000


def _ab64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def _ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """A passlib-compatible ``$pbkdf2-sha512$ROUNDS$SALT$CHECKSUM`` hash."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ROUNDS)
    return f"$pbkdf2-sha512${ROUNDS}${_ab64(salt)}${_ab64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Check ``password`` against a pbkdf2-sha512 hash (or a plaintext value, like passlib's context)."""
    if not stored or not password:
        return False
    if stored.startswith("$pbkdf2-sha512$"):
        _, _, rounds, salt, checksum = stored.split("$")
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), _ab64_decode(salt), int(rounds))
        return hmac.compare_digest(_ab64(digest), checksum)
    return hmac.compare_digest(stored, password)


class Groups(models.Model):
    """An access group."""

    _name = "res.groups"
    _description = "Access Groups"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    full_name = fields.Char(compute="_compute_full_name")
    users = fields.Many2many("res.users", "res_groups_users_rel", "gid", "uid")
    implied_ids = fields.Many2many("res.groups", "res_groups_implied_rel", "gid", "hid", string="Inherits")
    comment = fields.Text(translate=True)
    share = fields.Boolean(string="Share Group")
    category_name = fields.Char("Application")

    def _compute_full_name(self) -> None:
        for group in self:
            group.full_name = f"{group.category_name} / {group.name}" if group.category_name else group.name


class Company(models.Model):
    """A company."""

    _name = "res.company"
    _description = "Companies"
    _order = "sequence, name"

    name = fields.Char(related="partner_id.name", string="Company Name", required=True, store=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    parent_id = fields.Many2one("res.company", string="Parent Company", index=True)
    child_ids = fields.One2many("res.company", "parent_id", string="Branches")
    partner_id = fields.Many2one("res.partner", string="Partner", required=True)
    currency_id = fields.Many2one(
        "res.currency",
        string="Currency",
        required=True,
        default=lambda self: self.env.ref("base.USD", raise_if_not_found=False),
    )
    email = fields.Char(related="partner_id.email")
    phone = fields.Char(related="partner_id.phone")
    country_id = fields.Many2one(related="partner_id.country_id")
    user_ids = fields.Many2many(
        "res.users", "res_company_users_rel", "cid", "user_id", string="Accepted Users"
    )

    @api.model_create_multi
    def create(self, vals_list: list[dict[str, Any]]) -> Any:
        """Create the company's contact first when none is given."""
        for vals in vals_list:
            if not vals.get("partner_id"):
                partner = self.env["res.partner"].create({"name": vals.get("name"), "is_company": True})
                vals["partner_id"] = partner.id
        return super().create(vals_list)


class Users(models.Model):
    """A user; name, email, ... are those of its contact (``_inherits``)."""

    _name = "res.users"
    _description = "User"
    _inherits = {"res.partner": "partner_id"}  # noqa: RUF012  (Odoo API)
    _order = "name, login"

    partner_id = fields.Many2one("res.partner", required=True, ondelete="restrict", string="Related Partner")
    login = fields.Char(required=True, help="Used to log into the system")
    password = fields.Char(copy=False, help="Stored hashed (pbkdf2-sha512)")
    signature = fields.Html(string="Email Signature")
    active = fields.Boolean(default=True)
    share = fields.Boolean(string="Share User", default=False)
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, default=lambda self: self.env["res.company"].browse(1)
    )
    company_ids = fields.Many2many(
        "res.company", "res_company_users_rel", "user_id", "cid", string="Companies", default=lambda self: [1]
    )
    groups_id = fields.Many2many("res.groups", "res_groups_users_rel", "uid", "gid", string="Groups")
    action_id = fields.Integer("Home Action")
    notification_type = fields.Char(default="email")

    _sql_constraints = (("login_key", "UNIQUE (login)", "You can not have two users with the same login!"),)

    @api.model_create_multi
    def create(self, vals_list: list[dict[str, Any]]) -> Any:
        """Create users with hashed passwords and the default internal-user group."""
        for vals in vals_list:
            if vals.get("password"):
                vals["password"] = hash_password(vals["password"])
            if "groups_id" not in vals:
                group = self.env.ref("base.group_user", raise_if_not_found=False)
                if group:
                    vals["groups_id"] = [(4, group.id)]
        return super().create(vals_list)

    def write(self, vals: dict[str, Any]) -> bool:
        """Write, hashing a new password."""
        if vals.get("password"):
            vals = dict(vals, password=hash_password(vals["password"]))
        return super().write(vals)

    def has_group(self, group_ext_id: str) -> bool:
        """Whether the user belongs to the group (directly or by implication)."""
        group = self.env.ref(group_ext_id, raise_if_not_found=False)
        if not group or not self:
            return False
        user_groups = self.ensure_one().groups_id
        for _depth in range(10):
            if group in user_groups:
                return True
            more = user_groups | user_groups.mapped("implied_ids")
            if more == user_groups:
                return False
            user_groups = more
        return False

    def _is_admin(self) -> bool:
        return self.id in (1, 2) or self.has_group("base.group_erp_manager")

    def _is_system(self) -> bool:
        return self.id in (1, 2) or self.has_group("base.group_system")

    @api.model
    def _login(self, login: str, password: str) -> int | bool:
        """The id of the active user with these credentials, else False."""
        user = self.search([("login", "=", login)], limit=1)
        if not user:
            return False
        self.env.cr.execute("SELECT password FROM res_users WHERE id = %s", (user.id,))
        return user.id if verify_password(password, self.env.cr.fetchone()[0]) else False
