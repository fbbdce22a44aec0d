"""The tool catalog machinery: one typed function + docstring + lock scope per tool.

The MCP server and ``oduflow call`` (and the REST API where the reference lists a tool)
are built from :data:`TOOLS`; surfaces add no tool of their own. A tool function takes a
:class:`Call` first, then its parameters (typed with ``Annotated[..., Field(...)]``).
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, no_progress
from oduflow.errors import NotFoundError, ValidationError
from oduflow.locks import LockScope
from oduflow.naming import branch_slug

LockKind = Literal["none", "branch", "team", "system"]


@dataclass(frozen=True)
class Call:
    """What a tool invocation runs with: the app, the caller's team and a progress sink."""

    app: App
    team: TeamConfig
    progress: Progress = no_progress


@dataclass(frozen=True)
class ToolSpec:
    name: str
    func: Callable[..., Any]
    lock: LockKind
    shape_output: bool = True
    hints: Mapping[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return inspect.getdoc(self.func) or ""

    @property
    def summary(self) -> str:
        return self.description.split("\n", 1)[0]

    @property
    def parameters(self) -> list[inspect.Parameter]:
        """The tool's own parameters (without the leading :class:`Call`), types resolved."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return [p.replace(annotation=self.hints.get(p.name, p.annotation)) for p in params]

    def signature(self) -> inspect.Signature:
        return inspect.Signature(self.parameters, return_annotation=self.hints.get("return", Any))


TOOLS: dict[str, ToolSpec] = {}


def tool(
    lock: LockKind = "none", *, shape_output: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as a tool of the catalog."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.getdoc(func):
            raise TypeError(f"tool {func.__name__} needs a docstring: agents read it")
        hints = typing.get_type_hints(func, include_extras=True)
        TOOLS[func.__name__] = ToolSpec(func.__name__, func, lock, shape_output, hints)
        return func

    return register


def get_tool(name: str) -> ToolSpec:
    from oduflow import tools  # noqa: F401 - registers the catalog

    try:
        return TOOLS[name]
    except KeyError:
        raise NotFoundError(f"unknown tool '{name}'; 'oduflow call' lists the tools") from None


def all_tools() -> list[ToolSpec]:
    from oduflow import tools  # noqa: F401 - registers the catalog

    return sorted(TOOLS.values(), key=lambda t: t.name)


def lock_scope(spec: ToolSpec, team: TeamConfig, arguments: Mapping[str, Any]) -> LockScope | None:
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


def invoke(
    app: App,
    team: TeamConfig,
    name: str,
    arguments: Mapping[str, Any],
    progress: Progress = no_progress,
    *,
    admitted: bool = False,
) -> Any:
    """Run tool ``name`` for ``team`` with validated ``arguments``, under its lock.

    The call takes one of the team's operation slots (:func:`admission`) unless the surface
    ``admitted`` it already. Long text in the result is cached and replaced by a summary and
    an output id (see ``read_output``).
    """
    with contextlib.nullcontext() if admitted else admission(app, team, name):
        return _invoke(app, team, name, arguments, progress)


def _invoke(app: App, team: TeamConfig, name: str, arguments: Mapping[str, Any], progress: Progress) -> Any:
    spec = get_tool(name)
    try:
        bound = spec.signature().bind(**arguments)
    except TypeError as exc:
        raise ValidationError(f"{name}: {exc}") from None
    bound.apply_defaults()
    call = Call(app=app, team=team, progress=progress)
    scope = lock_scope(spec, team, bound.arguments)
    if scope is None:
        result = spec.func(call, **bound.arguments)
    else:
        with app.locks.hold(scope, name):
            result = spec.func(call, **bound.arguments)
    return shape(app, team, name, result) if spec.shape_output else result


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
