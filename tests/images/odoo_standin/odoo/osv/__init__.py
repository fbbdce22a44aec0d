"""``odoo.osv``: domain expressions."""
