"""Agent guides: bundled markdown copied into each team's ``agent_guides/`` at init.

A team may edit its copies; they are served from there (bundled ones as fallback).
"""

from __future__ import annotations

import re
from pathlib import Path

from oduflow.app import App, resource_path
from oduflow.config import TeamConfig
from oduflow.errors import NotFoundError, ValidationError
from oduflow.layout import team_layout

AGENT_GUIDE = "agent_guide.md"
SUPPORTED_VERSIONS = (15, 16, 17, 18, 19)
_FILENAME = re.compile(r"[A-Za-z0-9_.-]+\.md")


def _guide_dirs(app: App, team: TeamConfig) -> list[Path]:
    return [team_layout(app, team.id).guides, resource_path("agent_guides")]


def read_guide(app: App, team: TeamConfig, filename: str) -> str:
    """The content of guide ``filename``: the team's copy, else the bundled one."""
    if not _valid_name(filename):
        raise ValidationError(f"invalid guide name {filename!r}")
    for folder in _guide_dirs(app, team):
        path = folder / filename
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise NotFoundError(f"agent guide '{filename}' not found")


def list_guides(app: App, team: TeamConfig) -> list[dict[str, object]]:
    """Every guide :func:`read_guide` serves, by file name: ``filename``, ``title`` (its first
    heading), ``size`` and ``source`` (``team`` for the team's copy, else ``bundled``)."""
    found: dict[str, dict[str, object]] = {}
    for folder, source in zip(_guide_dirs(app, team), ("team", "bundled"), strict=True):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name in found or not _valid_name(path.name) or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "")
            found[path.name] = {"filename": path.name, "title": title, "size": len(text), "source": source}
    return [found[name] for name in sorted(found)]


def _valid_name(filename: str) -> bool:
    return bool(_FILENAME.fullmatch(filename)) and not filename.startswith(".")


def normalize_version(version: str | int | float) -> int:
    """``17``, ``"17.0"``, ``"saas~17.2"``, ``"odoo:17.0"`` -> 17; unsupported -> error."""
    match = re.search(r"(\d{2})(?:\.\d+)?", str(version))
    major = int(match.group(1)) if match else -1
    if major not in SUPPORTED_VERSIONS:
        raise ValidationError(
            f"no guide for Odoo version {version!r}; supported: {', '.join(map(str, SUPPORTED_VERSIONS))}"
        )
    return major


def development_guide(app: App, team: TeamConfig, version: str) -> str:
    return read_guide(app, team, f"odoo_{normalize_version(version)}_guide.md")
