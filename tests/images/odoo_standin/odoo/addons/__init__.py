"""Namespace of the addons: ``odoo.addons.__path__`` is set to the addons path at start-up."""
