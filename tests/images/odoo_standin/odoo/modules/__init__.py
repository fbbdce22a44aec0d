"""``odoo.modules``: addons discovery, the registry and module loading."""

from odoo.modules.module import adapt_version, get_manifest, get_module_path, get_modules, initialize_sys_path

__all__ = ["adapt_version", "get_manifest", "get_module_path", "get_modules", "initialize_sys_path"]
