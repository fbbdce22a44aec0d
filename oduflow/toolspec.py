"""What a tool is: the ``@tool`` marker and the :class:`ToolSpec` built from a marked function.

``@tool(...)`` only marks a function with its :class:`ToolMark` (lock, audience, MCP
annotations); :func:`oduflow.catalog.build_catalog` collects the marked functions. A
:class:`ToolSpec` validates and coerces raw arguments with pydantic from the function's
``Annotated[..., Field(...)]`` parameters (lax mode: the strings of ``oduflow call`` become
ints and booleans; ``ge``/``le`` and ``Literal`` are enforced) and gives the JSON schemas of
its arguments and its result.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from oduflow.contracts import Progress, no_progress
from oduflow.errors import ValidationError

if TYPE_CHECKING:
    from oduflow.app import App
    from oduflow.config import TeamConfig

LockKind = Literal["none", "branch", "team", "system"]
Audience = Literal["agent", "operator"]
"""``agent``: MCP, ``oduflow call`` and the web; ``operator``: the command line only."""

MARK = "__oduflow_tool__"
LOCK_TEXT: dict[str, str] = {
    "branch": "Lock: fails at once with BusyError while another operation on this branch runs.",
    "team": "Lock: fails at once with BusyError while another team-wide operation of your team "
    "(templates) runs.",
    "system": "Lock: fails at once with BusyError while another system-wide operation (init, destroy) runs.",
}
_GOT_MAX = 80


@dataclass(frozen=True)
class Call:
    """What a tool invocation runs with: the app, the caller's team and a progress sink."""

    app: App
    team: TeamConfig
    progress: Progress = no_progress


@dataclass(frozen=True)
class ToolMark:
    """What ``@tool`` records on a function: everything about the tool but its signature."""

    lock: LockKind
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False
    audience: Audience = "agent"
    shape_output: bool = True


def tool(
    lock: LockKind = "none",
    *,
    title: str,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
    audience: Audience = "agent",
    shape_output: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a tool; :func:`oduflow.catalog.build_catalog` collects it.

    ``read_only``/``destructive``/``idempotent``/``open_world`` become the MCP annotations
    (``readOnlyHint``...); ``audience="operator"`` keeps the tool off MCP and the web.
    """
    mark = ToolMark(lock, title, read_only, destructive, idempotent, open_world, audience, shape_output)

    def marker(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.getdoc(func):
            raise TypeError(f"tool {func.__name__} needs a docstring: agents read it")
        setattr(func, MARK, mark)
        return func

    return marker


def tool_mark(func: Any) -> ToolMark | None:
    """The :class:`ToolMark` of a marked function, else ``None``."""
    mark = getattr(func, MARK, None)
    return mark if isinstance(mark, ToolMark) else None


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _GOT_MAX else text[: _GOT_MAX - 3] + "..."


def format_errors(tool_name: str, exc: pydantic.ValidationError) -> str:
    """One line per invalid field: ``tool: field: message (got 'value')``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "arguments"
        msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
        got = "" if err["type"] == "missing" else f" (got {_got(err.get('input'))})"
        lines.append(f"{tool_name}: {loc}: {msg}{got}")
    return "\n".join(lines)


@dataclass(frozen=True)
class ToolSpec:
    """One tool of a catalog: its function, its mark and what its signature derives."""

    name: str
    func: Callable[..., Any]
    mark: ToolMark

    @classmethod
    def of(cls, func: Callable[..., Any]) -> ToolSpec:
        mark = tool_mark(func)
        if mark is None:
            raise TypeError(f"{func!r} is not marked with @tool")
        return cls(func.__name__, func, mark)

    @property
    def lock(self) -> LockKind:
        return self.mark.lock

    @property
    def audience(self) -> Audience:
        return self.mark.audience

    @property
    def shape_output(self) -> bool:
        return self.mark.shape_output

    @property
    def docstring(self) -> str:
        return inspect.getdoc(self.func) or ""

    @property
    def description(self) -> str:
        """The docstring plus, for a locked tool, what its lock means to the caller."""
        lock = LOCK_TEXT.get(self.lock)
        return f"{self.docstring}\n\n{lock}" if lock else self.docstring

    @property
    def summary(self) -> str:
        return self.docstring.split("\n", 1)[0]

    @cached_property
    def hints(self) -> dict[str, Any]:
        return typing.get_type_hints(self.func, include_extras=True)

    @property
    def parameters(self) -> list[inspect.Parameter]:
        """The tool's own parameters (without the leading :class:`Call`), types resolved."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return [p.replace(annotation=self.hints.get(p.name, p.annotation)) for p in params]

    @property
    def result_type(self) -> Any:
        return self.hints.get("return", Any)

    def signature_text(self) -> str:
        """``name(param, param=default)``: one line of ``oduflow list``."""
        parts = [
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in self.parameters
        ]
        return f"{self.name}({', '.join(parts)})"

    def signature(self) -> inspect.Signature:
        return inspect.Signature(self.parameters, return_annotation=self.result_type)

    @cached_property
    def arguments_model(self) -> type[pydantic.BaseModel]:
        """A pydantic model of the parameters (unknown ones refused, numbers taken as strings)."""
        fields: dict[str, Any] = {
            p.name: (p.annotation, ... if p.default is inspect.Parameter.empty else p.default)
            for p in self.parameters
        }
        config = pydantic.ConfigDict(extra="forbid", coerce_numbers_to_str=True)
        return pydantic.create_model(self.name, __config__=config, **fields)

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments coerced to the parameters' types, defaults filled, or :class:`ValidationError`."""
        if not isinstance(arguments, Mapping):
            raise ValidationError(f"{self.name}: arguments must be an object, got {_got(arguments)}")
        try:
            model = self.arguments_model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise ValidationError(format_errors(self.name, exc)) from None
        return {name: getattr(model, name) for name in type(model).model_fields}

    def arguments_schema(self) -> dict[str, Any]:
        """JSON schema of the arguments (what MCP lists as ``inputSchema``)."""
        return self.arguments_model.model_json_schema()

    def result_schema(self) -> dict[str, Any]:
        """JSON schema of the result; a non-object one wrapped as ``{"result": ...}``."""
        schema = pydantic.TypeAdapter(self.result_type).json_schema(mode="serialization")
        if schema.get("type") == "object":
            return schema
        defs = schema.pop("$defs", None)
        wrapped: dict[str, Any] = {
            "type": "object",
            "properties": {"result": schema},
            "required": ["result"],
            "x-fastmcp-wrap-result": True,
        }
        if defs:
            wrapped["$defs"] = defs
        return wrapped

    def annotations(self) -> dict[str, Any]:
        """MCP tool annotations: ``title`` and the read-only, destructive, idempotent and
        open-world hints."""
        m = self.mark
        hints: dict[str, Any] = {
            "title": m.title,
            "readOnlyHint": m.read_only,
            "destructiveHint": m.destructive,
            "idempotentHint": m.idempotent,
            "openWorldHint": m.open_world,  # explicit: MCP takes an absent hint as true
        }
        return hints
