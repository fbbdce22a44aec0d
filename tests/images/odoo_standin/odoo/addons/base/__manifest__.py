{  # noqa: B018  (a manifest is a bare dict literal)
    "name": "Base",
    "version": "1.3",
    "category": "Hidden",
    "description": "The kernel of Odoo (stand-in), needed for all installation.",
    "depends": [],
    "data": [],
    "installable": True,
    "auto_install": True,
    "post_init_hook": "create_base_data",
    "license": "LGPL-3",
}
