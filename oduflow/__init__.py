"""Oduflow: per-branch throw-away Odoo environments on Docker, served to AI agents over MCP."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pluggy

PROJECT = "oduflow"

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marker for plugin hook implementations: ``@oduflow.hookimpl``."""

try:
    __version__ = version(PROJECT)
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["PROJECT", "__version__", "hookimpl"]
