"""Contacts and the reference data models around them (countries, currencies, languages)."""

from __future__ import annotations

from odoo import fields, models


class Partner(models.Model):
    """A contact (person or company)."""

    _name = "res.partner"
    _description = "Contact"
    _order = "complete_name ASC, id DESC"
    _rec_name = "complete_name"

    name = fields.Char(index=True)
    complete_name = fields.Char(compute="_compute_complete_name", store=True, index=True)
    title = fields.Many2one("res.partner.title")
    parent_id = fields.Many2one("res.partner", string="Related Company", index=True)
    child_ids = fields.One2many("res.partner", "parent_id", string="Contact")
    ref = fields.Char(string="Reference", index=True)
    lang = fields.Char(string="Language", default="en_US")
    tz = fields.Char(string="Timezone")
    user_id = fields.Many2one("res.users", string="Salesperson")
    vat = fields.Char(string="Tax ID", index=True)
    company_registry = fields.Char(string="Company ID")
    bank_ids = fields.Integer(string="Banks")
    website = fields.Char("Website Link")
    comment = fields.Html(string="Notes")
    category_id = fields.Many2many(
        "res.partner.category", column1="partner_id", column2="category_id", string="Tags"
    )
    active = fields.Boolean(default=True)
    employee = fields.Boolean(help="Check this box if this contact is an Employee.")
    function = fields.Char(string="Job Position")
    type = fields.Selection(
        [
            ("contact", "Contact"),
            ("invoice", "Invoice Address"),
            ("delivery", "Delivery Address"),
            ("other", "Other Address"),
        ],
        string="Address Type",
        default="contact",
    )
    street = fields.Char()
    street2 = fields.Char()
    zip = fields.Char()
    city = fields.Char()
    state_id = fields.Many2one("res.country.state", string="State", ondelete="restrict")
    country_id = fields.Many2one("res.country", string="Country", ondelete="restrict")
    country_code = fields.Char(related="country_id.code", string="Country Code")
    partner_latitude = fields.Float(string="Geo Latitude", digits=(10, 7))
    partner_longitude = fields.Float(string="Geo Longitude", digits=(10, 7))
    email = fields.Char()
    email_formatted = fields.Char(compute="_compute_email_formatted")
    phone = fields.Char()
    mobile = fields.Char()
    is_company = fields.Boolean(string="Is a Company", default=False)
    industry_id = fields.Integer(string="Industry")
    company_type = fields.Selection(
        [("person", "Individual"), ("company", "Company")], compute="_compute_company_type"
    )
    company_id = fields.Many2one("res.company", "Company", index=True)
    color = fields.Integer(string="Color Index", default=0)
    user_ids = fields.One2many("res.users", "partner_id", string="Users")
    partner_share = fields.Boolean(string="Share Partner", default=True)
    commercial_partner_id = fields.Many2one(
        "res.partner",
        string="Commercial Entity",
        compute="_compute_commercial_partner",
        store=True,
        index=True,
    )
    commercial_company_name = fields.Char("Company Name Entity")
    company_name = fields.Char("Company Name")
    barcode = fields.Char(help="Use a barcode to identify this contact.")
    image_1920 = fields.Image("Image")

    def _compute_complete_name(self) -> None:
        for partner in self:
            name = partner.name or ""
            if partner.parent_id and not partner.is_company and name:
                name = f"{partner.parent_id.name}, {name}"
            partner.complete_name = name

    def _compute_display_name(self) -> None:
        for partner in self:
            partner.display_name = partner.complete_name or partner.name or ""

    def _compute_email_formatted(self) -> None:
        for partner in self:
            partner.email_formatted = f'"{partner.name}" <{partner.email}>' if partner.email else ""

    def _compute_company_type(self) -> None:
        for partner in self:
            partner.company_type = "company" if partner.is_company else "person"

    def _compute_commercial_partner(self) -> None:
        for partner in self:
            current = partner
            for _depth in range(50):
                if current.is_company or not current.parent_id:
                    break
                current = current.parent_id
            partner.commercial_partner_id = current


class PartnerCategory(models.Model):
    """A contact tag."""

    _name = "res.partner.category"
    _description = "Partner Tags"
    _order = "name"

    name = fields.Char("Name", required=True, translate=True)
    color = fields.Integer(string="Color")
    parent_id = fields.Many2one("res.partner.category", string="Parent Category", ondelete="cascade")
    active = fields.Boolean(default=True)


class PartnerTitle(models.Model):
    """A contact title (Mister, Doctor, ...)."""

    _name = "res.partner.title"
    _description = "Partner Title"
    _order = "name"

    name = fields.Char(string="Title", required=True, translate=True)
    shortcut = fields.Char(string="Abbreviation", translate=True)


class Country(models.Model):
    """A country."""

    _name = "res.country"
    _description = "Country"
    _order = "name"

    name = fields.Char(string="Country Name", required=True, translate=True)
    code = fields.Char(string="Country Code", required=True)
    phone_code = fields.Integer(string="Country Calling Code")
    currency_id = fields.Many2one("res.currency", string="Currency")
    state_ids = fields.One2many("res.country.state", "country_id", string="States")

    _sql_constraints = (("code_uniq", "unique (code)", "The code of the country must be unique!"),)


class CountryState(models.Model):
    """A state of a country."""

    _name = "res.country.state"
    _description = "Country state"
    _order = "code"

    country_id = fields.Many2one("res.country", string="Country", required=True, index=True)
    name = fields.Char(string="State Name", required=True)
    code = fields.Char(string="State Code", required=True)


class Currency(models.Model):
    """A currency."""

    _name = "res.currency"
    _description = "Currency"
    _order = "active desc, name"

    name = fields.Char(string="Currency", required=True)
    full_name = fields.Char(string="Name")
    symbol = fields.Char(required=True)
    rounding = fields.Float(string="Rounding Factor", digits=(12, 6), default=0.01)
    decimal_places = fields.Integer(default=2)
    active = fields.Boolean(default=True)
    position = fields.Selection([("after", "After Amount"), ("before", "Before Amount")], default="after")

    def round(self, amount: float) -> float:
        """``amount`` rounded to the currency's precision."""
        return round(amount, self.decimal_places or 2)


class Lang(models.Model):
    """A language."""

    _name = "res.lang"
    _description = "Languages"
    _order = "active desc,name"

    name = fields.Char(required=True)
    code = fields.Char(string="Locale Code", required=True)
    iso_code = fields.Char(string="ISO code")
    url_code = fields.Char("URL Code", required=True)
    active = fields.Boolean()
    direction = fields.Selection([("ltr", "Left-to-Right"), ("rtl", "Right-to-Left")], default="ltr")
    date_format = fields.Char(string="Date Format", default="%m/%d/%Y")
    time_format = fields.Char(string="Time Format", default="%H:%M:%S")
