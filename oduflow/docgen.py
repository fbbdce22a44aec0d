"""The tools reference (``docs/tools.md``), generated from the catalog.

``python -m oduflow.docgen`` (or ``oduflow list --markdown``) prints it; a unit test fails
when the committed file differs from what the catalog generates.
"""

from __future__ import annotations

import sys
import typing
from typing import Any

import typing_extensions
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from oduflow.catalog import Catalog, build_catalog
from oduflow.toolspec import LOCK_TEXT, ToolSpec

HEADER = """# Tools reference

Generated from the tool catalog by `python -m oduflow.docgen` (or `oduflow list --markdown`);
do not edit by hand. Agent tools are served over MCP and by `oduflow call`; operator tools only
by their own `oduflow` command. Every call's arguments are validated by the catalog: a bad one
is a `ValidationError` naming the parameter, the same on every surface.

"""
_HINTS = (("read_only", "read-only"), ("destructive", "destructive"), ("idempotent", "idempotent"))


def type_text(tp: Any) -> str:
    """A readable spelling of a type: ``str``, ``list[Environment]``, ``Literal['a', 'b']``."""
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("NoneType", "None")


def _constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("le", "<="), ("gt", ">"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return f" ({', '.join(parts)})" if parts else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parameters_table(spec: ToolSpec) -> list[str]:
    fields = spec.arguments_model.model_fields
    if not fields:
        return ["No parameters.", ""]
    rows = ["| Parameter | Type | Default | Description |", "|---|---|---|---|"]
    for name, field in fields.items():
        default = "required" if field.default is PydanticUndefined else f"`{field.default!r}`"
        kind = type_text(field.annotation) + _constraints(field)
        rows.append(f"| `{name}` | `{_cell(kind)}` | {default} | {_cell(field.description or '')} |")
    return [*rows, ""]


def returns_lines(spec: ToolSpec) -> list[str]:
    tp = spec.result_type
    keys = _keys_of(tp)
    lines = [f"**Returns** `{type_text(tp)}`" + (":" if keys else "."), ""]
    for key, (kind, required) in keys.items():
        lines.append(f"- `{key}`: `{_cell(type_text(kind))}`" + ("" if required else " (not always present)"))
    return [*lines, ""] if keys else lines


def _keys_of(tp: Any) -> dict[str, tuple[Any, bool]]:
    """The keys of a TypedDict result (or of the items of a list of them): type, required."""
    if typing.get_origin(tp) is list:
        tp = typing.get_args(tp)[0]
    if not typing_extensions.is_typeddict(tp):
        return {}
    required = tp.__required_keys__
    return {k: (v, k in required) for k, v in typing_extensions.get_type_hints(tp).items()}


def tool_section(spec: ToolSpec) -> list[str]:
    audience = "agent (MCP, `oduflow call`)" if spec.audience == "agent" else "operator (CLI only)"
    hints = [text for attr, text in _HINTS if getattr(spec.mark, attr)]
    if spec.mark.open_world:
        hints.append("open world")
    lines = [
        f"## `{spec.name}`",
        "",
        f"*{spec.mark.title}*",
        "",
        f"- Audience: {audience}",
        f"- Lock: {spec.lock}"
        + (f" — {LOCK_TEXT[spec.lock].removeprefix('Lock: ')}" if spec.lock in LOCK_TEXT else ""),
        f"- Annotations: {', '.join(hints) or 'none'}",
        "",
        spec.docstring,
        "",
    ]
    return lines + parameters_table(spec) + returns_lines(spec)


def tools_reference(catalog: Catalog) -> str:
    """The whole reference: agent tools, then operator tools, each by name."""
    out = [HEADER.rstrip("\n"), "", "## Index", ""]
    specs = catalog.all(audience="agent") + catalog.all(audience="operator")
    out += [f"- [`{s.name}`](#{s.name}) — {s.mark.title} ({s.audience})" for s in specs]
    out.append("")
    for spec in specs:
        out += tool_section(spec)
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> None:
    """Print the reference of the built-in tools (redirect it to docs/tools.md)."""
    sys.stdout.write(tools_reference(build_catalog()))


if __name__ == "__main__":  # pragma: no cover
    main()
