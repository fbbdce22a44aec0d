"""Plugin manager: discovery through the ``oduflow`` entry-point group, and a typed facade.

Core code never calls ``pm.hook`` directly; it goes through :class:`Hooks`.
``ODUFLOW_DISABLE_PLUGINS`` (comma-separated entry-point names) blocks plugins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib.metadata import entry_points
from typing import Any, cast

import pluggy

from oduflow import PROJECT, hookspecs
from oduflow.changes import ChangeContext, ChangePlan, Decision, merge_decisions
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

DISABLE_ENV = "ODUFLOW_DISABLE_PLUGINS"
BUILTIN_DISTRIBUTION = "oduflow"


def disabled_plugins() -> set[str]:
    return {p.strip() for p in os.environ.get(DISABLE_ENV, "").split(",") if p.strip()}


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with the hook specifications and no plugin loaded."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_entry_points(pm: pluggy.PluginManager, disabled: Iterable[str] = ()) -> None:
    """Register every plugin of the ``oduflow`` entry-point group, except ``disabled``."""
    blocked = set(disabled)
    for name in blocked:
        pm.set_blocked(name)

    def order(ep: Any) -> tuple[bool, str]:
        dist = getattr(ep, "dist", None)
        return (getattr(dist, "name", "") != BUILTIN_DISTRIBUTION, ep.name)

    for ep in sorted(entry_points(group=PROJECT), key=order):
        if ep.name in blocked or pm.has_plugin(ep.name):
            continue
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
        dist = getattr(ep, "dist", None)
        if dist is not None:
            pm._plugin_distinfo.append((plugin, dist))  # noqa: SLF001 - pluggy's own record


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with all installed, non-disabled plugins."""
    pm = new_plugin_manager()
    load_entry_points(pm, disabled_plugins())
    return pm


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every loaded plugin with its distribution, version, hooks and whether it is built in."""
    dists: dict[int, Any] = {id(p): d for p, d in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        dist_name = dist.metadata["Name"] if dist is not None else "(not installed)"
        version = dist.version if dist is not None else ""
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or []))
        out.append(
            PluginInfo(
                name=name,
                distribution=dist_name,
                version=version,
                hooks=hooks,
                builtin=dist_name == BUILTIN_DISTRIBUTION,
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
    def _registry(kind: str, target: dict[str, Any]) -> Any:
        def register(name: str, value: Any) -> None:
            if name in target:
                raise ConfigError(f"two plugins register the {kind} '{name}'")
            target[name] = value

        return register

    def storage_backends(self) -> dict[str, StorageBackend]:
        if self._storage is None:
            found: dict[str, StorageBackend] = {}
            self.pm.hook.oduflow_register_storage(register=self._registry("storage backend", found))
            self._storage = found
        return self._storage

    def storage(self, name: str) -> StorageBackend:
        """The storage backend called ``name``; a clear error when no plugin provides it."""
        backends = self.storage_backends()
        if name not in backends:
            raise ConfigError(
                f"unknown storage backend '{name}' (known: "
                f"{', '.join(sorted(backends)) or 'none'}); is the plugin installed?"
            )
        backend = backends[name]
        reason = backend.available()
        if reason:
            raise PrerequisiteNotMetError(f"storage backend '{name}' cannot run here: {reason}")
        return backend

    def router_factories(self) -> dict[str, RouterFactory]:
        if self._routers is None:
            found: dict[str, RouterFactory] = {}
            self.pm.hook.oduflow_register_routing(register=self._registry("routing mode", found))
            self._routers = found
        return self._routers

    def router(self, mode: str, ctx: RoutingContext) -> Router:
        factories = self.router_factories()
        if mode not in factories:
            raise ConfigError(
                f"unknown routing mode '{mode}' (known: "
                f"{', '.join(sorted(factories)) or 'none'}); is the plugin installed?"
            )
        return factories[mode](ctx)

    def sanitize(self, ctx: SanitizeContext) -> None:
        # pluggy calls LIFO; sanitisation runs in registration order (team before repo).
        for impl in self.pm.hook.oduflow_sanitize.get_hookimpls():
            impl.function(ctx=ctx)

    def dependency_steps(self, ctx: DependencyContext) -> list[DependencyStep]:
        steps: list[DependencyStep] = []
        for impl in self.pm.hook.oduflow_install_dependencies.get_hookimpls():
            result = cast("list[DependencyStep] | None", impl.function(ctx=ctx))
            steps.extend(result or [])
        return steps

    def analyze_changes(self, ctx: ChangeContext) -> ChangePlan:
        decisions: list[Decision] = []
        for result in self.pm.hook.oduflow_analyze_changes(ctx=ctx):
            decisions.extend(result or [])
        return merge_decisions(decisions)
