"""The plugin contract of Oduflow.

Plugins are Python packages that expose hook implementations (``@oduflow.hookimpl``)
and declare themselves in the ``oduflow`` entry-point group. Every hook name starts with
``oduflow_``. The core calls hooks only through :class:`oduflow.plugins.Hooks`.
"""

from __future__ import annotations

from collections.abc import Callable

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

hookspec = pluggy.HookspecMarker(PROJECT)


# --- registration -----------------------------------------------------------------
@hookspec
def oduflow_register_storage(register: Callable[[str, StorageBackend], None]) -> None:
    """Register filestore storage backends.

    Called once when the plugin manager is built. Call ``register(name, backend)`` for
    each backend the plugin provides; ``backend`` implements
    :class:`oduflow.contracts.StorageBackend`. Templates pick a backend by name in their
    ``metadata.json`` (``storage``; the older ``use_overlay`` flag maps to ``overlay``
    or ``copy``). Registering a name twice is an error.

    :param register: callback taking the backend name and the backend.
    :return: nothing.
    """


@hookspec
def oduflow_register_routing(register: Callable[[str, RouterFactory], None]) -> None:
    """Register routers, the ways environments are reached over HTTP.

    Called once when the plugin manager is built. Call ``register(mode, factory)``;
    ``[routing].mode`` in ``oduflow.toml`` picks one by name and the core calls
    ``factory(ctx)`` with a :class:`oduflow.contracts.RoutingContext` to build it.

    :param register: callback taking the mode name and a factory.
    :return: nothing.
    """


# --- environment lifecycle --------------------------------------------------------------
@hookspec
def oduflow_sanitize(ctx: SanitizeContext) -> None:
    """Neutralise a freshly cloned database before its first serving start.

    Called for every environment created from a template with ``sanitize=true``,
    after the database clone and before Odoo starts, in plugin registration order
    (built-ins first). Use ``ctx.run_sql`` / ``ctx.run_python``; raise to abort the
    creation (everything made so far is rolled back and the error is reported).

    :param ctx: the database and the repository of the new environment.
    :return: nothing.
    """


@hookspec
def oduflow_install_dependencies(ctx: DependencyContext) -> list[DependencyStep] | None:
    """Return the steps that install the repository's system and Python dependencies.

    Called when an environment is created or rebuilt. All implementations are called;
    their steps run in order as root in a container of ``ctx.odoo_image`` and the result
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
