"""The tool catalog: the one door every surface (MCP, ``oduflow call``, the admin commands,
later REST) goes through.

:func:`build_catalog` collects the functions marked with :func:`oduflow.toolspec.tool` from
:data:`TOOL_MODULES` and those plugins register (hook ``oduflow_register_tools``). A
:class:`Catalog` validates and coerces raw arguments (:meth:`ToolSpec.validate`), takes the
caller's operation slot and the tool's lock, runs it and shapes long outputs. Surfaces only
map arguments in and errors out.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConfigError, NotFoundError, ValidationError
from oduflow.locks import LockScope
from oduflow.naming import branch_slug
from oduflow.toolspec import Audience, Call, LockKind, ToolSpec, tool, tool_mark

if TYPE_CHECKING:
    from oduflow.app import App
    from oduflow.config import TeamConfig
    from oduflow.plugins import Hooks

__all__ = ["Call", "Catalog", "LockKind", "ToolSpec", "build_catalog", "invoke", "tool"]

TOOL_MODULES = (
    "oduflow.tools",
    "oduflow.tools_odoo",
    "oduflow.tools_admin",
    "oduflow.tools_auth",
    "oduflow.tools_services",
    "oduflow.tools_repos",
    "oduflow.tools_snapshots",
)
"""The modules whose ``@tool`` functions make the built-in catalog."""


def lock_scope(spec: ToolSpec, team: TeamConfig, arguments: Mapping[str, Any]) -> LockScope | None:
    """The lock a call of ``spec`` with (validated) ``arguments`` holds, if any."""
    if spec.lock == "branch":
        branch = arguments.get("branch_name")
        if not isinstance(branch, str) or not branch:
            raise ValidationError(f"{spec.name}: branch_name is required")
        return LockScope.branch(team.id, branch_slug(branch))  # spellings of one branch share it
    if spec.lock == "team":
        return LockScope.team(team.id)
    if spec.lock == "system":
        return LockScope.system()
    return None


def admission(app: App, team: TeamConfig, operation: str) -> AbstractContextManager[None]:
    """One of the team's ``[limits].max_concurrent_per_team`` operation slots, or :class:`BusyError`.

    Refused at once rather than queued: a queued call would still hold a connection and, in the
    server, a worker; the agent retries when one of its own operations has finished. Slots are
    counted per team across every surface and process, so one team can never take the workers
    (or the engine) that the other teams need.
    """
    limit = app.config.limits.max_concurrent_per_team
    return app.locks.slot(f"team:{team.id}", limit, operation, holder=f"team '{team.id}'")


def shape(app: App, team: TeamConfig, tool_name: str, result: Any) -> Any:
    """Replace every over-long string of ``result`` by a cached summary."""
    if isinstance(result, str):
        text, _ = app.outputs.shape(team.id, tool_name, result)
        return text
    if isinstance(result, dict):
        return {k: shape(app, team, tool_name, v) for k, v in result.items()}
    if isinstance(result, list):
        return [shape(app, team, tool_name, v) for v in result]
    return result


class Catalog:
    """A set of tools by name; build one with :func:`build_catalog`."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def add(self, func: Callable[..., Any]) -> ToolSpec:
        """Add a ``@tool``-marked function; a second tool of the same name is a :class:`ConfigError`."""
        spec = ToolSpec.of(func)
        if spec.name in self._tools:
            raise ConfigError(f"two tools are called '{spec.name}'")
        self._tools[spec.name] = spec
        return spec

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``, or :class:`NotFoundError`."""
        try:
            return self._tools[name]
        except KeyError:
            raise NotFoundError(f"unknown tool '{name}'; 'oduflow list' lists the tools") from None

    def all(self, audience: Audience | None = None) -> list[ToolSpec]:
        """Every tool (or those of one audience), by name."""
        specs = sorted(self._tools.values(), key=lambda t: t.name)
        return [s for s in specs if audience is None or s.audience == audience]

    def invoke(
        self,
        app: App,
        team: TeamConfig,
        name: str,
        arguments: Mapping[str, Any],
        progress: Progress = no_progress,
        *,
        admitted: bool = False,
    ) -> Any:
        """Validate ``arguments`` and run tool ``name`` for ``team`` under its lock.

        The call takes one of the team's operation slots (:func:`admission`) unless the surface
        ``admitted`` it already. Long text in the result is cached and replaced by a summary
        and an output id (see ``read_output``).
        """
        spec = self.get(name)
        values = spec.validate(arguments)
        with contextlib.nullcontext() if admitted else admission(app, team, name):
            call = Call(app=app, team=team, progress=progress)
            scope = lock_scope(spec, team, values)
            with contextlib.nullcontext() if scope is None else app.locks.hold(scope, name):
                result = spec.func(call, **values)
        return shape(app, team, name, result) if spec.shape_output else result


def marked_functions(module: object) -> Iterable[Callable[..., Any]]:
    """The ``@tool`` functions defined in ``module``, in source order."""
    for value in vars(module).values():
        if callable(value) and tool_mark(value) is not None and value.__module__ == module.__name__:  # type: ignore[attr-defined]
            yield value


def build_catalog(hooks: Hooks | None = None, modules: Iterable[str] = TOOL_MODULES) -> Catalog:
    """A catalog of the tools of ``modules`` plus those the plugins of ``hooks`` register."""
    catalog = Catalog()
    for name in modules:
        for func in marked_functions(importlib.import_module(name)):
            catalog.add(func)
    if hooks is not None:
        hooks.register_tools(catalog.add)
    return catalog


def invoke(
    app: App,
    team: TeamConfig,
    name: str,
    arguments: Mapping[str, Any],
    progress: Progress = no_progress,
    *,
    admitted: bool = False,
) -> Any:
    """Run tool ``name`` through ``app.catalog`` (see :meth:`Catalog.invoke`)."""
    return app.catalog.invoke(app, team, name, arguments, progress, admitted=admitted)


def builtin() -> Catalog:
    """The built-in tools alone (no plugin), built once: for listings that have no :class:`App`."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = build_catalog()
    return _BUILTIN


_BUILTIN: Catalog | None = None


def get_tool(name: str) -> ToolSpec:
    """A built-in tool by name (see :func:`builtin`)."""
    return builtin().get(name)


def all_tools() -> list[ToolSpec]:
    """Every built-in tool (see :func:`builtin`)."""
    return builtin().all()
