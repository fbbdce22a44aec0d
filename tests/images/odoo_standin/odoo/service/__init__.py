"""``odoo.service``: server life cycle, the ``db`` service and the HTTP endpoints."""
