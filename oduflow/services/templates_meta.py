"""Template directories and their ``metadata.json`` (pure file handling, no Docker)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from oduflow.errors import ConfigError

METADATA = "metadata.json"
DUMP_FILES = ("dump.pgdump", "dump.sql")


@dataclass(frozen=True)
class TemplateMetadata:
    """The fields of ``metadata.json`` (unknown keys are kept in ``extra``)."""

    odoo_image: str = ""
    repo_url: str = ""
    extra_addons: dict[str, str] = field(default_factory=dict)
    storage: str = ""
    """The storage backend; empty in older templates (a backend's ``legacy_flag`` in ``extra``
    picks it: :meth:`oduflow.plugins.Hooks.template_storage`)."""
    source_url: str = ""
    source_db: str = ""
    odoo_version: str = ""
    pg_version: str = ""
    modules: list[str] = field(default_factory=list)
    created_at: str = ""
    filestore_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "extra" and v not in ("", None)}
        data.update(self.extra)
        return data


def read_metadata(directory: Path) -> TemplateMetadata:
    path = directory / METADATA
    if not path.is_file():
        return TemplateMetadata()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    known = {f.name for f in fields(TemplateMetadata)} - {"extra"}
    values = {k: v for k, v in raw.items() if k in known}
    extra = {k: v for k, v in raw.items() if k not in known}
    return TemplateMetadata(**values, extra=extra)


def write_metadata(directory: Path, meta: TemplateMetadata) -> None:
    path = directory / METADATA
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def dump_file(directory: Path) -> Path | None:
    """The template's dump (``dump.pgdump`` preferred over ``dump.sql``), if any."""
    for name in DUMP_FILES:
        if (directory / name).is_file():
            return directory / name
    return None
