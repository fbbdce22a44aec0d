{  # noqa: B018  (a manifest is a bare dict literal)
    "name": "Web",
    "category": "Hidden",
    "version": "1.0",
    "description": "Odoo Web core module (stand-in: the HTTP endpoints live in odoo.service.httpd).",
    "depends": ["base"],
    "auto_install": True,
    "license": "LGPL-3",
}
