"""Plugin manager: discovery through the ``oduflow`` entry-point group, and a typed facade.

Core code never calls ``pm.hook`` directly; it goes through :class:`Hooks`, which always calls
through pluggy (so ``tryfirst``/``trylast``, wrappers and argument-less implementations work).
``ODUFLOW_DISABLE_PLUGINS`` (comma-separated entry-point names) blocks plugins.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from oduflow import PROJECT, hookspecs
from oduflow.changes import ChangeContext, ChangePlan, Decision, merge_decisions
from oduflow.config import Config
from oduflow.contracts import (
    DependencyContext,
    DependencyStep,
    Router,
    RouterFactory,
    RoutingContext,
    SanitizeContext,
    StorageBackend,
)
from oduflow.errors import ConfigError, PrerequisiteNotMetError
from oduflow.settings import PluginSettings, bind, shown

DISABLE_ENV = "ODUFLOW_DISABLE_PLUGINS"
BUILTIN_DISTRIBUTION = "oduflow"
HOOK_PREFIX = f"{PROJECT}_"


def disabled_plugins() -> set[str]:
    return {p.strip() for p in os.environ.get(DISABLE_ENV, "").split(",") if p.strip()}


class OduflowPluginManager(pluggy.PluginManager):
    """Takes every ``oduflow_*`` function of a plugin as a hook implementation (as pytest
    does with ``pytest_*``), so that a misspelt hook is found by :func:`check_hooks`."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        unmarked = opts is None and name.startswith(HOOK_PREFIX)
        if unmarked and inspect.isroutine(inspect.getattr_static(plugin, name, None)):
            return UNMARKED_IMPL
        return opts


UNMARKED_IMPL: pluggy.HookimplOpts = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with the hook specifications and no plugin loaded."""
    pm = OduflowPluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Refuse a plugin implementing a hook Oduflow does not have (``pm.check_pending``)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(_invalid_plugin_message(pm, exc)) from None


def _invalid_plugin_message(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> str:
    name = pm.get_name(exc.plugin) if pm.is_registered(exc.plugin) else None
    known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith(HOOK_PREFIX)))
    return f"plugin '{name or exc.plugin}' is invalid: {exc} (Oduflow's hooks: {known})"


def register_checked(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    """``pm.register`` with pluggy's validation errors as a :class:`ConfigError` naming the plugin."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"plugin '{name or plugin}' is invalid: {exc}") from None


def _is_builtin(ep: Any) -> bool:
    return getattr(getattr(ep, "dist", None), "name", "") == BUILTIN_DISTRIBUTION


def load_entry_points(pm: pluggy.PluginManager, disabled: Iterable[str] = ()) -> None:
    """Register every plugin of the ``oduflow`` entry-point group, except ``disabled``.

    pluggy calls the last registered implementation first: third-party plugins are
    registered first, in reverse name order, then the built-ins, so that the built-ins run
    first and third-party plugins after them in name order.
    """
    blocked = set(disabled)
    for name in blocked:
        pm.set_blocked(name)
    by_name_desc = sorted(entry_points(group=PROJECT), key=lambda ep: ep.name, reverse=True)
    for ep in sorted(by_name_desc, key=_is_builtin):
        if ep.name in blocked or pm.has_plugin(ep.name):
            continue
        plugin = ep.load()
        register_checked(pm, plugin, ep.name)
        dist = getattr(ep, "dist", None)
        if dist is not None:
            pm._plugin_distinfo.append((plugin, dist))  # noqa: SLF001 - pluggy's own record


def _blocked(pm: pluggy.PluginManager) -> set[str]:
    return {name for name, plugin in pm.list_name_plugin() if plugin is None}


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with all installed, non-disabled plugins, their hooks checked."""
    pm = new_plugin_manager()
    load_entry_points(pm, disabled_plugins())
    check_hooks(pm)
    return pm


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool
    settings: dict[str, Any] = field(default_factory=dict)
    """The plugin's settings and their values (secrets masked); empty when it has none."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_plugins(pm: pluggy.PluginManager, config: Config | None = None) -> list[PluginInfo]:
    """Every loaded plugin with its distribution, version, hooks, built-in or not, and its
    settings (with ``config``'s values, else the defaults)."""
    dists: dict[int, Any] = {id(p): d for p, d in pm.list_plugin_distinfo()}
    declared = {d.plugin: d for d in Hooks(pm).settings_declarations()}
    bound = bind(config if config is not None else Config(), list(declared.values()), ignored=_blocked(pm))
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        dist_name = dist.metadata["Name"] if dist is not None else "(not installed)"
        decl = declared.get(name)
        out.append(
            PluginInfo(
                name=name,
                distribution=dist_name,
                version=dist.version if dist is not None else "",
                hooks=tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or [])),
                builtin=dist_name == BUILTIN_DISTRIBUTION,
                settings=shown(decl, bound.plugin_settings(name)) if decl else {},
            )
        )
    return sorted(out, key=lambda p: (not p.builtin, p.name))


class Hooks:
    """Typed facade over ``pm.hook``: the only way the core calls plugins."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._storage: dict[str, StorageBackend] | None = None
        self._routers: dict[str, RouterFactory] | None = None

    @staticmethod
    def _registry(kind: str, target: dict[str, Any]) -> Callable[[Any], None]:
        """A ``register(obj)`` callback keying ``obj`` by its declared ``name``."""

        def register(value: Any) -> None:
            name = getattr(value, "name", None)
            if not isinstance(name, str) or not name:
                raise ConfigError(f"a plugin registers a {kind} without a 'name': {value!r}")
            if name in target:
                raise ConfigError(f"two plugins register the {kind} '{name}'")
            target[name] = value

        return register

    # --- configuration ----------------------------------------------------------------------
    def settings_declarations(self) -> list[PluginSettings]:
        """What every plugin declares through ``oduflow_declare_settings``."""
        return [d for d in self.pm.hook.oduflow_declare_settings() if d is not None]

    def configure(self, config: Config) -> Config:
        """``config`` bound to the plugins: their settings validated, ``[routing].mode`` known."""
        bound = bind(config, self.settings_declarations(), ignored=_blocked(self.pm))
        self._known("routing mode", bound.routing.mode, self.router_factories(), f"{bound.where} [routing]")
        return bound

    @staticmethod
    def _known(kind: str, name: str, found: dict[str, Any], where: str = "") -> None:
        if name not in found:
            raise ConfigError(
                f"{where + ': ' if where else ''}unknown {kind} '{name}' (known: "
                f"{', '.join(sorted(found)) or 'none'}); is the plugin installed?"
            )

    # --- storage ------------------------------------------------------------------------------
    def storage_backends(self) -> dict[str, StorageBackend]:
        if self._storage is None:
            found: dict[str, StorageBackend] = {}
            self.pm.hook.oduflow_register_storage(register=self._registry("storage backend", found))
            self._storage = found
        return self._storage

    def storage(self, name: str) -> StorageBackend:
        """The storage backend called ``name``; a clear error when no plugin provides it."""
        backends = self.storage_backends()
        self._known("storage backend", name, backends)
        backend = backends[name]
        reason = backend.available()
        if reason:
            raise PrerequisiteNotMetError(f"storage backend '{name}' cannot run here: {reason}")
        return backend

    def storage_with(self, capability: str) -> set[str]:
        """The names of the backends that declare ``capability``."""
        return {n for n, b in self.storage_backends().items() if capability in b.capabilities}

    def preferred_storage(self, filestore_mb: float, config: Config) -> str:
        """The available backend with the highest preference for a filestore that large."""
        ranked = sorted(
            (-backend.preference(filestore_mb, config), name)
            for name, backend in self.storage_backends().items()
            if backend.available() is None
        )
        if not ranked or ranked[0][0] >= 0:
            raise ConfigError(
                "no available storage backend accepts new templates; is a storage plugin installed?"
            )
        return ranked[0][1]

    def template_storage(self, storage: str, metadata: dict[str, Any], config: Config) -> str:
        """The backend of a template: its ``storage``, else the backend whose ``legacy_flag`` is
        true in its metadata, else the preferred backend for an empty filestore."""
        if storage:
            return storage
        for name, backend in sorted(self.storage_backends().items()):
            if backend.legacy_flag and metadata.get(backend.legacy_flag) is True:
                return name
        return self.preferred_storage(0.0, config)

    def legacy_flags(self, storage: str) -> dict[str, bool]:
        """The legacy flags to write next to ``storage`` (older Oduflow versions read them)."""
        return {b.legacy_flag: n == storage for n, b in self.storage_backends().items() if b.legacy_flag}

    # --- routing -------------------------------------------------------------------------------
    def router_factories(self) -> dict[str, RouterFactory]:
        if self._routers is None:
            found: dict[str, RouterFactory] = {}
            self.pm.hook.oduflow_register_routing(register=self._registry("routing mode", found))
            self._routers = found
        return self._routers

    def router(self, mode: str, ctx: RoutingContext) -> Router:
        factories = self.router_factories()
        self._known("routing mode", mode, factories)
        return factories[mode](ctx)

    # --- lifecycle ------------------------------------------------------------------------------
    def sanitize(self, ctx: SanitizeContext) -> None:
        """Every ``oduflow_sanitize`` implementation, in pluggy's order (see :mod:`oduflow.hookspecs`)."""
        self.pm.hook.oduflow_sanitize(ctx=ctx)

    def dependency_steps(self, ctx: DependencyContext) -> list[DependencyStep]:
        """The steps of every ``oduflow_install_dependencies`` implementation, in pluggy's order."""
        results: list[list[DependencyStep] | None] = self.pm.hook.oduflow_install_dependencies(ctx=ctx)
        return [step for result in results for step in result or []]

    def analyze_changes(self, ctx: ChangeContext) -> ChangePlan:
        decisions: list[Decision] = []
        for result in self.pm.hook.oduflow_analyze_changes(ctx=ctx):
            decisions.extend(result or [])
        return merge_decisions(decisions)

    def register_tools(self, register: Callable[[Callable[..., Any]], object]) -> None:
        """Let every plugin add its ``@tool`` functions through ``register``."""
        self.pm.hook.oduflow_register_tools(register=register)
