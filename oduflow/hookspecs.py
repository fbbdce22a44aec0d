"""The plugin contract of Oduflow.

Plugins are Python packages that expose hook implementations (``@oduflow.hookimpl``)
and declare themselves in the ``oduflow`` entry-point group. Every hook name starts with
``oduflow_``; a function of a plugin named ``oduflow_*`` that matches no hook here is an error
(``ConfigError`` naming the plugin). The core calls hooks only through
:class:`oduflow.plugins.Hooks`, always through pluggy, so ``tryfirst``/``trylast``,
``wrapper=True`` and implementations that take fewer arguments work as pluggy documents.

Order: pluggy calls the implementations of a hook last registered first. Oduflow registers
third-party plugins first (in reverse entry-point name order), then the built-in ones: the
built-ins run first, then third-party plugins in entry-point name order; ``tryfirst=True``
runs before the built-ins, ``trylast=True`` after everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from oduflow import PROJECT
from oduflow.changes import ChangeContext, Decision
from oduflow.contracts import (
    DependencyContext,
    DependencyStep,
    RouterFactory,
    SanitizeContext,
    StorageBackend,
)
from oduflow.settings import PluginSettings

hookspec = pluggy.HookspecMarker(PROJECT)


# --- registration -----------------------------------------------------------------
@hookspec
def oduflow_register_storage(register: Callable[[StorageBackend], None]) -> None:
    """Register filestore storage backends.

    Called once, the first time the core needs a backend. Call ``register(backend)`` for
    each backend the plugin provides; ``backend`` implements
    :class:`oduflow.contracts.StorageBackend` and is registered under ``backend.name``.
    Templates pick a backend by name in their ``metadata.json`` (``storage``; an older
    template's boolean flag maps to the backend that declares it as ``legacy_flag``).
    Registering a name twice is an error.

    :param register: callback taking the backend.
    :return: nothing.
    """


@hookspec
def oduflow_register_routing(register: Callable[[RouterFactory], None]) -> None:
    """Register routers, the ways environments are reached over HTTP.

    Called once, the first time the core needs a router. Call ``register(factory)``
    (a router class with a ``name`` attribute is a factory); ``[routing].mode`` in
    ``oduflow.toml`` picks one by that name and the core calls ``factory(ctx)`` with a
    :class:`oduflow.contracts.RoutingContext` to build it. Registering a name twice is an error.

    :param register: callback taking a factory.
    :return: nothing.
    """


@hookspec
def oduflow_declare_settings() -> PluginSettings | None:
    """Declare the plugin's settings: the keys of its ``[plugins.NAME]`` table.

    Called when the configuration is bound to the plugins (``App`` creation, ``oduflow
    plugins``). Return a :class:`oduflow.settings.PluginSettings` whose ``plugin`` is the
    plugin's entry-point name; each :class:`oduflow.settings.Setting` gives a key, its default
    (and so its type), whether it is secret, and aliases in core sections. The core refuses
    unknown keys and reads values with ``config.plugin_settings(NAME)``.

    :return: the declaration, or ``None`` when the plugin has no setting.
    """


# --- environment lifecycle --------------------------------------------------------------
@hookspec
def oduflow_sanitize(ctx: SanitizeContext) -> None:
    """Neutralise a freshly cloned database before its first serving start.

    Called for every environment created from a template with ``sanitize=true``,
    after the database clone and before Odoo starts: the built-in plugin first (the team's
    scripts, then the repository's), then third-party plugins in entry-point name order
    (``tryfirst``/``trylast`` and ``wrapper=True`` as in pluggy). Use ``ctx.run_sql`` /
    ``ctx.run_python``; raise to abort the creation (everything made so far is rolled back
    and the error is reported).

    :param ctx: the database and the repository of the new environment.
    :return: nothing.
    """


@hookspec
def oduflow_install_dependencies(ctx: DependencyContext) -> list[DependencyStep] | None:
    """Return the steps that install the repository's system and Python dependencies.

    Called when an environment is created or rebuilt. All implementations are called, the
    built-in one first, then third-party plugins in entry-point name order; their steps run
    in that order as root in a container of ``ctx.odoo_image`` and the result
    is committed as the environment's image, cached by a hash of image, steps and
    inputs (the next environment with the same image and files reuses it).

    :param ctx: the cloned repository and the Odoo image.
    :return: a list of steps, or ``None`` when the plugin has nothing to install.
    """


@hookspec
def oduflow_analyze_changes(ctx: ChangeContext) -> list[Decision] | None:
    """Classify the files changed by a pull into actions (install, upgrade, restart, ...).

    Called by ``pull_and_apply`` after the fast-forward. All implementations are called;
    the decisions of every plugin are concatenated and merged (the highest action per
    module wins: install > upgrade > restart > refresh > nothing).

    :param ctx: the repository, the old and new revisions and every changed file.
    :return: a list of decisions, or ``None`` when the plugin has no opinion.
    """


# --- tools --------------------------------------------------------------------------------
@hookspec
def oduflow_register_tools(register: Callable[[Callable[..., Any]], object]) -> None:
    """Add tools to the catalog.

    Called once when an instance builds its catalog (``App.catalog``). Call
    ``register(func)`` for each function marked with :func:`oduflow.toolspec.tool`: it
    takes a :class:`oduflow.toolspec.Call` first, then its parameters typed with
    ``Annotated[..., Field(...)]``, and its docstring is what agents read. The tool is served
    on every surface of its audience, with the lock, validation and output shaping of the
    built-in ones. A name already in the catalog is an error.

    :param register: callback taking a ``@tool``-marked function.
    :return: nothing.
    """
