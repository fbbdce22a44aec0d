"""Plugin settings: what a plugin declares, and its ``[plugins.NAME]`` table checked against it.

A plugin declares its keys through ``oduflow_declare_settings`` (a :class:`PluginSettings`).
The core knows no plugin key: :func:`bind` validates every table, fills in defaults, resolves
the aliases plugins declare in core sections (``[routing].acme_email`` for
``[plugins.routing_traefik].acme_email``) and refuses keys nobody declares. Plugins read their
values with ``config.plugin_settings(NAME)``.

Precedence per key: ``ODUFLOW_PLUGINS_<NAME>_<KEY>`` > the alias' environment variable
(``ODUFLOW_<SECTION>_<KEY>``) > the table > the alias in the file > the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from oduflow.config import Config, coerce, section_keys, unknown_keys_error
from oduflow.errors import ConfigError

MASK = "********"


@dataclass(frozen=True)
class Setting:
    """One key of a plugin's table; the type of ``default`` is the key's type."""

    key: str
    default: str | int | float | bool
    help: str = ""
    secret: bool = False
    """Shown masked by ``oduflow plugins``."""
    minimum: float | None = None
    aliases: tuple[str, ...] = ()
    """Documented spellings in core sections, as ``"section.key"`` (``"routing.acme_email"``)."""


@dataclass(frozen=True)
class PluginSettings:
    """The settings of one plugin: the table ``[plugins.<plugin>]``."""

    plugin: str
    """The table name: the plugin's entry-point name."""
    settings: tuple[Setting, ...]
    check: Callable[[Config], None] | None = None
    """Called with the bound configuration: cross-key rules (raise :class:`ConfigError`)."""


def _env_name(*parts: str) -> str:
    return "_".join(["ODUFLOW", *(p.upper().replace("-", "_") for p in parts)])


def _value(cfg: Config, decl: PluginSettings, setting: Setting) -> tuple[str, Any] | None:
    """(where, raw value) of ``setting`` by precedence, or ``None`` for the default."""
    table = f"{cfg.where} [plugins.{decl.plugin}]"
    aliases = [tuple(a.split(".", 1)) for a in setting.aliases]
    in_file = [(table, cfg.plugin_tables.get(decl.plugin, {}), setting.key)]
    in_file += [(f"{cfg.where} [{s}]", cfg.unclaimed.get(s, {}), k) for s, k in aliases]
    given = [(where, raw[key]) for where, raw, key in in_file if key in raw]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(w for w, _ in given)}: '{setting.key}' is set twice; keep one")
    for env in [_env_name("plugins", decl.plugin, setting.key), *(_env_name(s, k) for s, k in aliases)]:
        if env in os.environ:
            return f"environment variable {env}", os.environ[env]
    return given[0] if given else None


def _resolve(cfg: Config, decl: PluginSettings) -> Mapping[str, Any]:
    table = cfg.plugin_tables.get(decl.plugin, {})
    keys = {s.key for s in decl.settings}
    if set(table) - keys:
        raise unknown_keys_error(f"{cfg.where} [plugins.{decl.plugin}]", set(table) - keys, keys)
    values: dict[str, Any] = {}
    for setting in decl.settings:
        found = _value(cfg, decl, setting)
        value = setting.default
        if found is not None:
            where, raw = found
            from_env = where.startswith("environment variable")
            value = coerce(where, setting.key, raw, setting.default, from_env=from_env)
            if setting.minimum is not None and value < setting.minimum:
                raise ConfigError(f"{where}: key '{setting.key}' expects a number >= {setting.minimum:g}")
        values[setting.key] = value
    return MappingProxyType(values)


def _claimed(declarations: Iterable[PluginSettings]) -> dict[str, str]:
    """``"section.key"`` -> plugin, refusing an alias two plugins declare."""
    out: dict[str, str] = {}
    for decl in declarations:
        for alias in (a for s in decl.settings for a in s.aliases):
            if alias in out:
                raise ConfigError(f"plugins '{out[alias]}' and '{decl.plugin}' both declare '{alias}'")
            out[alias] = decl.plugin
    return out


def _check_leftovers(cfg: Config, declarations: list[PluginSettings], ignored: set[str]) -> None:
    claimed = _claimed(declarations)
    for section, raw in cfg.unclaimed.items():
        unknown = {k for k in raw if f"{section}.{k}" not in claimed}
        if unknown:
            known = section_keys(section) | {
                a.split(".", 1)[1] for a in claimed if a.startswith(f"{section}.")
            }
            raise unknown_keys_error(f"{cfg.where} [{section}]", unknown, known)
    declared = {d.plugin for d in declarations}
    for name in set(cfg.plugin_tables) - declared - ignored:
        raise ConfigError(
            f"{cfg.where} [plugins.{name}]: no loaded plugin declares settings named '{name}' "
            f"(declared: {', '.join(sorted(declared)) or 'none'}); is the plugin installed?"
        )


def bind(cfg: Config, declarations: list[PluginSettings], ignored: Iterable[str] = ()) -> Config:
    """``cfg`` with every plugin's settings validated (tables of ``ignored`` plugins are skipped)."""
    names = [d.plugin for d in declarations]
    twice = {n for n in names if names.count(n) > 1}
    if twice:
        raise ConfigError(f"two plugins declare the settings table '{sorted(twice)[0]}'")
    _check_leftovers(cfg, declarations, set(ignored))
    settings = {d.plugin: _resolve(cfg, d) for d in declarations}
    bound = replace(cfg, settings=MappingProxyType(settings))
    for decl in declarations:
        if decl.check is not None:
            decl.check(bound)
    return bound


def shown(decl: PluginSettings, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``decl`` for display: secrets that are set are masked."""
    return {s.key: MASK if s.secret and values.get(s.key) else values.get(s.key) for s in decl.settings}
