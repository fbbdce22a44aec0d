"""Pytest plugin for plugin authors (installed as the ``oduflow`` pytest11 entry point).

Fixtures:

``oduflow_pm``
    A plugin manager with Oduflow's hook specifications and no plugin loaded (entry
    points are not read), so a test sees exactly the plugins it registers.
``oduflow_hooks``
    The typed :class:`oduflow.plugins.Hooks` facade over ``oduflow_pm``.
``register_plugin``
    ``register_plugin(obj, name=None)`` registers a plugin (module, class instance or
    object with ``@oduflow.hookimpl`` functions) on ``oduflow_pm`` for one test; it is
    unregistered afterwards.
``builtin_plugins``
    Registers Oduflow's built-in plugins (from the entry points of the ``oduflow``
    distribution) on ``oduflow_pm``, to test a plugin next to them.

Example::

    def test_my_storage(oduflow_hooks, register_plugin):
        register_plugin(my_plugin)
        assert "s3" in oduflow_hooks.storage_backends()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any

import pluggy
import pytest

from oduflow.plugins import BUILTIN_DISTRIBUTION, Hooks, new_plugin_manager


@pytest.fixture
def oduflow_pm() -> pluggy.PluginManager:
    """A plugin manager with the hook specifications and no plugin."""
    return new_plugin_manager()


@pytest.fixture
def oduflow_hooks(oduflow_pm: pluggy.PluginManager) -> Hooks:
    """The typed hook facade over ``oduflow_pm``."""
    return Hooks(oduflow_pm)


@pytest.fixture
def register_plugin(oduflow_pm: pluggy.PluginManager) -> Iterator[Callable[..., Any]]:
    """Register a plugin on ``oduflow_pm`` for the duration of one test."""
    registered: list[object] = []

    def register(plugin: object, name: str | None = None) -> object:
        oduflow_pm.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        if oduflow_pm.is_registered(plugin):
            oduflow_pm.unregister(plugin)


@pytest.fixture
def builtin_plugins(oduflow_pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Register the built-in plugins of Oduflow on ``oduflow_pm``."""
    for ep in entry_points(group="oduflow"):
        dist = getattr(ep, "dist", None)
        if getattr(dist, "name", None) == BUILTIN_DISTRIBUTION and not oduflow_pm.has_plugin(ep.name):
            oduflow_pm.register(ep.load(), name=ep.name)
    return oduflow_pm
