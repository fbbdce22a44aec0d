"""The records a new database starts with (the real server loads them from ``base/data/*.xml``)."""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

from odoo.orm.schema import set_xmlid

_logger = logging.getLogger("odoo.modules.loading")

GROUPS = [
    ("group_user", "Internal User"),
    ("group_portal", "Portal"),
    ("group_public", "Public"),
    ("group_system", "Settings"),
    ("group_erp_manager", "Access Rights"),
    ("group_no_one", "Technical Features"),
    ("group_multi_company", "Multi Companies"),
    ("group_multi_currency", "Multi Currencies"),
    ("group_partner_manager", "Contact Creation"),
    ("group_allow_export", "Access to export feature"),
]
COUNTRIES = [
    ("us", "United States", "US", 1),
    ("be", "Belgium", "BE", 32),
    ("fr", "France", "FR", 33),
    ("de", "Germany", "DE", 49),
    ("uk", "United Kingdom", "GB", 44),
    ("nl", "Netherlands", "NL", 31),
    ("es", "Spain", "ES", 34),
    ("it", "Italy", "IT", 39),
    ("ch", "Switzerland", "CH", 41),
    ("ca", "Canada", "CA", 1),
    ("in", "India", "IN", 91),
    ("br", "Brazil", "BR", 55),
]
VIEWS = [
    (
        "view_partner_form",
        "res.partner.form",
        "res.partner",
        '<form string="Partners"><sheet><field name="name"/><field name="email"/><field name="phone"/>'
        '<notebook><page name="contact_addresses" string="Contacts"><field name="child_ids"/></page>'
        '<page name="internal_notes" string="Internal Notes"><field name="comment"/></page></notebook>'
        "</sheet></form>",
    ),
    (
        "view_partner_tree",
        "res.partner.list",
        "res.partner",
        '<list string="Contacts"><field name="complete_name"/><field name="email"/>'
        '<field name="phone"/></list>',
    ),
    (
        "view_res_partner_filter",
        "res.partner.select",
        "res.partner",
        '<search string="Search Partner"><field name="name"/><field name="email"/></search>',
    ),
    (
        "view_users_form",
        "res.users.form",
        "res.users",
        '<form string="Users"><sheet><field name="name"/><field name="login"/>'
        '<notebook><page name="access_rights" string="Access Rights"><field name="groups_id"/></page>'
        "</notebook></sheet></form>",
    ),
    (
        "view_company_form",
        "res.company.form",
        "res.company",
        '<form string="Company"><sheet><field name="name"/><field name="currency_id"/></sheet></form>',
    ),
]


def _create(env: Any, xmlid: str, model: str, vals: dict[str, Any], noupdate: bool = False) -> Any:
    record = env[model].with_context(active_test=False).create(vals)
    set_xmlid(env.cr, "base", xmlid, model, record.id, noupdate)
    return record


def create_base_data(env: Any) -> None:
    """Company, users, groups, currencies, countries, parameters, a cron and a few views and menus."""
    for name in ("res_partner_data.xml", "res_company_data.xml", "res_users_data.xml", "base_groups.xml"):
        _logger.info("loading base/data/%s", name)
    usd = _create(
        env,
        "USD",
        "res.currency",
        {"name": "USD", "full_name": "United States dollar", "symbol": "$", "position": "before"},
    )
    _create(env, "EUR", "res.currency", {"name": "EUR", "full_name": "Euro", "symbol": "€", "active": False})
    _create(
        env,
        "lang_en",
        "res.lang",
        {"name": "English (US)", "code": "en_US", "iso_code": "en", "url_code": "en", "active": True},
    )
    for xmlid, name, code, phone in COUNTRIES:
        _create(env, xmlid, "res.country", {"name": name, "code": code, "phone_code": phone})
    main_partner = _create(env, "main_partner", "res.partner", {"name": "My Company", "is_company": True})
    root_partner = _create(env, "partner_root", "res.partner", {"name": "OdooBot"})
    admin_partner = _create(env, "partner_admin", "res.partner", {"name": "Administrator"})
    public_partner = _create(env, "public_partner", "res.partner", {"name": "Public user", "active": False})
    company = _create(
        env,
        "main_company",
        "res.company",
        {"name": "My Company", "partner_id": main_partner.id, "currency_id": usd.id},
    )
    (main_partner | root_partner | admin_partner | public_partner).write({"company_id": company.id})
    groups = {xmlid: _create(env, xmlid, "res.groups", {"name": name}) for xmlid, name in GROUPS}
    internal = groups["group_user"].id
    admin_groups = [
        groups[x].id
        for x in (
            "group_user",
            "group_system",
            "group_erp_manager",
            "group_no_one",
            "group_partner_manager",
            "group_allow_export",
        )
    ]
    _create(
        env,
        "user_root",
        "res.users",
        {
            "login": "__system__",
            "partner_id": root_partner.id,
            "active": False,
            "groups_id": [(6, 0, admin_groups)],
        },
    )
    _create(
        env,
        "user_admin",
        "res.users",
        {
            "login": "admin",
            "password": "admin",
            "partner_id": admin_partner.id,
            "groups_id": [(6, 0, admin_groups)],
        },
    )
    _create(
        env,
        "public_user",
        "res.users",
        {
            "login": "public",
            "partner_id": public_partner.id,
            "active": False,
            "share": True,
            "groups_id": [(6, 0, [groups["group_public"].id])],
        },
    )
    _create(
        env,
        "default_user",
        "res.users",
        {
            "login": "default",
            "name": "Default User Template",
            "active": False,
            "groups_id": [(6, 0, [internal])],
        },
    )
    params = env["ir.config_parameter"]
    params.set_param("database.uuid", str(uuid.uuid1()))
    params.set_param("database.create_date", str(env.cr.now()).split(".")[0])
    params.set_param("database.secret", secrets.token_hex(32))
    params.set_param("web.base.url", "http://localhost:8069")
    _create(
        env,
        "autovacuum_job",
        "ir.cron",
        {
            "name": "Base: Auto-vacuum internal data",
            "interval_type": "days",
            "code": "model._run_vacuum_cleaner()",
        },
        noupdate=True,
    )
    _create(
        env,
        "ir_cron_res_users_deletion",
        "ir.cron",
        {"name": "Base: Portal Users Deletion", "interval_type": "days", "active": False},
        noupdate=True,
    )
    menu_admin = _create(env, "menu_administration", "ir.ui.menu", {"name": "Settings", "sequence": 550})
    _create(
        env, "menu_custom", "ir.ui.menu", {"name": "Technical", "parent_id": menu_admin.id, "sequence": 110}
    )
    _create(env, "menu_users", "ir.ui.menu", {"name": "Users & Companies", "parent_id": menu_admin.id})
    _create(env, "menu_management", "ir.ui.menu", {"name": "Apps", "sequence": 500})
    for xmlid, name, model, arch in VIEWS:
        _create(env, xmlid, "ir.ui.view", {"name": name, "model": model, "arch": arch})
    _create(
        env,
        "action_partner_form",
        "ir.actions.act_window",
        {"name": "Customers", "res_model": "res.partner", "view_mode": "kanban,list,form"},
    )
    _create(env, "action_res_users", "ir.actions.act_window", {"name": "Users", "res_model": "res.users"})
