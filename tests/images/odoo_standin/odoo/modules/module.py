"""Addons on the addons path: discovery, manifests, import."""

from __future__ import annotations

import ast
import importlib.util
import logging
import os
import re
import shutil
import sys
from typing import Any

from odoo import release
from odoo.tools import config

_logger = logging.getLogger(__name__)
MANIFEST_NAMES = ("__manifest__.py", "__openerp__.py")
_DEFAULTS: dict[str, Any] = {
    "application": False,
    "author": "Odoo S.A.",
    "auto_install": False,
    "category": "Uncategorized",
    "depends": [],
    "description": "",
    "installable": True,
    "license": "LGPL-3",
    "post_load": None,
    "version": "1.0",
    "web": False,
    "sequence": 100,
    "summary": "",
    "website": "",
    "data": [],
    "demo": [],
    "test": [],
    "init_xml": [],
    "update_xml": [],
    "demo_xml": [],
    "external_dependencies": {},
    "pre_init_hook": None,
    "post_init_hook": None,
    "uninstall_hook": None,
    "assets": {},
}


def initialize_sys_path() -> None:
    """Point ``odoo.addons`` at the stand-in's addons, ``DATA_DIR/addons/SERIE`` and ``addons_path``."""
    import odoo.addons

    base = os.path.normcase(os.path.dirname(os.path.abspath(odoo.addons.__file__)))
    paths = [base]
    data_dir = config.addons_data_dir
    if os.access(data_dir, os.R_OK):
        paths.append(data_dir)
    for raw in str(config["addons_path"] or "").split(","):
        if raw.strip():
            path = os.path.normcase(os.path.abspath(raw.strip()))
            if path not in paths:
                paths.append(path)
    odoo.addons.__path__[:] = paths  # type: ignore[index]


def addons_paths() -> list[str]:
    """The addons path in use."""
    import odoo.addons

    return list(odoo.addons.__path__)


def get_module_path(module: str) -> str | None:
    """Directory of ``module`` (first match on the addons path), None when absent."""
    if not re.fullmatch(r"\w+", module or ""):
        return None
    for root in addons_paths():
        path = os.path.join(root, module)
        if any(os.path.isfile(os.path.join(path, name)) for name in MANIFEST_NAMES):
            return path
    return None


def get_modules() -> list[str]:
    """Names of every module on the addons path."""
    found = set()
    for root in addons_paths():
        if not os.path.isdir(root):
            continue
        for name in os.listdir(root):
            if get_module_path(name) == os.path.join(root, name):
                found.add(name)
    return sorted(found)


def get_manifest(module: str) -> dict[str, Any]:
    """The manifest of ``module`` with Odoo's defaults; ``{}`` when the module is absent."""
    path = get_module_path(module)
    if not path:
        return {}
    manifest_file = next(
        os.path.join(path, n) for n in MANIFEST_NAMES if os.path.isfile(os.path.join(path, n))
    )
    with open(manifest_file, encoding="utf-8") as fh:
        manifest = dict(_DEFAULTS, **ast.literal_eval(fh.read()))
    manifest["depends"] = list(manifest["depends"] or ([] if module == "base" else ["base"]))
    manifest["addons_path"] = os.path.dirname(path)
    manifest["module_path"] = path
    manifest["version"] = adapt_version(str(manifest["version"]))
    return manifest


def adapt_version(version: str) -> str:
    """Prefix a module version with the series (``1.0`` -> ``18.0.1.0``)."""
    serie = release.major_version
    if version == serie or not version.startswith(serie + "."):
        base_version, version = version, f"{serie}.{version}"
    else:
        base_version = version[len(serie) + 1 :]
    if not re.match(r"^[0-9]+\.[0-9]+(?:\.[0-9]+)?$", base_version):
        raise ValueError(
            f"Invalid version {base_version!r}. Modules should have a version in format `x.y`, `x.y.z`, "
            f"`{serie}.x.y` or `{serie}.x.y.z`."
        )
    return version


def check_external_dependencies(module: str, manifest: dict[str, Any]) -> None:
    """Fail like the real server when a Python library or a binary the module needs is missing."""
    deps = manifest.get("external_dependencies") or {}
    for name in deps.get("python", []):
        if importlib.util.find_spec(name.split(".")[0]) is None:
            raise Exception(f"External dependency python-{name} not installed: No module named '{name}'")
    for name in deps.get("bin", []):
        if shutil.which(name) is None:
            raise Exception(f"Unable to find {name!r} in path")


def load_openerp_module(module: str) -> None:
    """Import ``odoo.addons.MODULE`` (logs CRITICAL and re-raises on failure)."""
    qualname = f"odoo.addons.{module}"
    if qualname in sys.modules:
        return
    try:
        __import__(qualname)
    except Exception:
        _logger.critical("Couldn't load module %s", module)
        raise
