"""What changed in a module's ``__manifest__.py``."""

from __future__ import annotations

import ast
from typing import Any

from oduflow.changes import Action

UPGRADE_KEYS = ("version", "depends", "data", "demo", "assets", "qweb", "init_xml", "update_xml", "demo_xml")
"""Keys whose change only an upgrade applies (data files, assets, dependencies, version)."""


def parse_manifest(text: str | None) -> dict[str, Any] | None:
    """The manifest dictionary, or ``None`` when missing or not a dict literal."""
    if text is None:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def is_installable(text: str | None) -> bool:
    """False only for a parsed manifest saying ``'installable': False``."""
    manifest = parse_manifest(text)
    return manifest is None or bool(manifest.get("installable", True))


def compare_manifest(old_text: str | None, new_text: str | None) -> tuple[Action, str]:
    """The action and reason for a manifest of an existing module that changed."""
    old, new = parse_manifest(old_text), parse_manifest(new_text)
    if new is None:
        return Action.UPGRADE, "manifest is not a valid dict literal; an upgrade reports the error"
    if old is None:
        return Action.UPGRADE, "previous manifest was unreadable; upgrading to be safe"
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if "version" in changed:
        return Action.UPGRADE, f"version changed ({old.get('version')} -> {new.get('version')})"
    listed = [k for k in changed if k in UPGRADE_KEYS]
    if listed:
        extra = "; new dependencies are installed by the upgrade" if "depends" in listed else ""
        return Action.UPGRADE, f"manifest {', '.join(listed)} changed{extra}"
    if changed:
        return Action.NOTHING, f"only descriptive manifest keys changed ({', '.join(changed)})"
    return Action.NOTHING, "manifest formatting or comments only"
