"""Schema-relevant differences between two versions of a Python file, by comparing ASTs.

Only what an upgrade applies to the database counts: the model classes, their fields,
model attributes (``_name``, ``_inherit``, ``_sql_constraints``...), ``models.Constraint``
/ ``models.Index`` declarations (Odoo 18) and ``@api.constrains`` methods. Comments,
formatting, docstrings and method bodies do not count. Each part is compared as a
normalised ``ast.dump`` (no line numbers), so multi-line definitions are compared whole.
"""

from __future__ import annotations

import ast
from collections import Counter

MODEL_ATTRS = frozenset(
    {
        "_name",
        "_inherit",
        "_inherits",
        "_sql_constraints",
        "_order",
        "_rec_name",
        "_table",
        "_auto",
        "_parent_store",
        "_parent_name",
        "_description",
        "_log_access",
        "_table_query",
        "_abstract",
        "_transient",
    }
)
MODEL_MARKERS = frozenset({"_name", "_inherit", "_inherits"})
CONSTRAINT_CLASSES = frozenset({"Constraint", "Index", "UniqueIndex"})

Signature = dict[str, str]
"""Schema parts of one model class: ``"field name"``, ``"attr _name"``... → normalised dump."""


class _Aliases:
    """How a file refers to ``odoo.fields``, ``odoo.models`` and ``odoo`` itself."""

    def __init__(self, tree: ast.Module) -> None:
        self.fields_modules = {"fields"}
        self.models_modules = {"models"}
        self.field_classes: set[str] = set()
        self.odoo: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("odoo", "openerp"):
                for alias in node.names:
                    if alias.name == "fields":
                        self.fields_modules.add(alias.asname or "fields")
                    elif alias.name == "models":
                        self.models_modules.add(alias.asname or "models")
            elif isinstance(node, ast.ImportFrom) and node.module in ("odoo.fields", "openerp.fields"):
                self.field_classes.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in ("odoo.fields", "openerp.fields") and alias.asname:
                        self.fields_modules.add(alias.asname)
                    elif alias.name.split(".")[0] in ("odoo", "openerp"):
                        self.odoo.add(alias.asname or alias.name.split(".")[0])

    def _in(self, node: ast.expr, modules: set[str], submodule: str) -> bool:
        if isinstance(node, ast.Name):
            return node.id in modules
        return (
            isinstance(node, ast.Attribute)
            and node.attr == submodule
            and isinstance(node.value, ast.Name)
            and node.value.id in self.odoo
        )

    def is_field(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Name):
            return func.id in self.field_classes
        return isinstance(func, ast.Attribute) and self._in(func.value, self.fields_modules, "fields")

    def is_constraint(self, call: ast.Call) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in CONSTRAINT_CLASSES
            and self._in(func.value, self.models_modules, "models")
        )


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _assigned(stmt: ast.stmt) -> tuple[list[str], ast.expr | None]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)], stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id], stmt.value
    return [], None


def is_model_class(node: ast.ClassDef) -> bool:
    """True for a class with ``_name``/``_inherit``/``_inherits`` or a ``*Model`` base."""
    if any(_base_name(b).endswith("Model") for b in node.bases):
        return True
    return any(name in MODEL_MARKERS for stmt in node.body for name in _assigned(stmt)[0])


def _constrained(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for deco in func.decorator_list:
        if isinstance(deco, ast.Call) and _base_name(deco.func) == "constrains":
            return ast.dump(ast.Tuple(elts=[*deco.args], ctx=ast.Load()))
    return None


def class_signature(node: ast.ClassDef, aliases: _Aliases) -> Signature:
    """The schema parts of one model class."""
    sig: Signature = {"bases": ast.dump(ast.Tuple(elts=[*node.bases], ctx=ast.Load()))}
    for stmt in node.body:
        names, value = _assigned(stmt)
        for name in names:
            if isinstance(value, ast.Call) and aliases.is_field(value):
                sig[f"field {name}"] = ast.dump(value)
            elif isinstance(value, ast.Call) and aliases.is_constraint(value):
                sig[f"constraint {name}"] = ast.dump(value)
            elif name in MODEL_ATTRS and value is not None:
                sig[f"attr {name}"] = ast.dump(value)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fields = _constrained(stmt)
            if fields is not None:
                sig[f"@api.constrains {stmt.name}"] = fields
    return sig


def _label(node: ast.ClassDef) -> str:
    for stmt in node.body:
        names, value = _assigned(stmt)
        for marker in ("_name", "_inherit"):
            if marker in names and value is not None:
                first = value.elts[0] if isinstance(value, (ast.List, ast.Tuple)) and value.elts else value
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    return f"{node.name} ({first.value})"
    return node.name


def models_of(source: str | None) -> dict[str, tuple[str, Signature]]:
    """``{class name: (label, signature)}`` for every model class of ``source`` (``None``: no file).

    Raises :class:`SyntaxError` when the source does not parse.
    """
    if source is None:
        return {}
    tree = ast.parse(source)
    aliases = _Aliases(tree)
    found: dict[str, tuple[str, Signature]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and is_model_class(node):
            key, n = node.name, 1
            while key in found:
                n += 1
                key = f"{node.name} #{n}"
            found[key] = (_label(node), class_signature(node, aliases))
    return found


def _describe(old: Signature, new: Signature) -> list[str]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            out.append(f"{key} added")
        elif key not in new:
            out.append(f"{key} removed")
        elif old[key] != new[key]:
            out.append(f"{key} changed")
    return out


def schema_changes(old_source: str | None, new_source: str | None) -> list[str]:
    """Human-readable schema differences between two versions of a file; empty when none.

    A model class renamed without other change is no difference. Raises
    :class:`SyntaxError` when either version does not parse.
    """
    old, new = models_of(old_source), models_of(new_source)

    def shape(models: dict[str, tuple[str, Signature]]) -> Counter[tuple[tuple[str, str], ...]]:
        return Counter(tuple(sorted(sig.items())) for _label, sig in models.values())

    if shape(old) == shape(new):
        return []
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            out.append(f"model class {new[key][0]} added")
        elif key not in new:
            out.append(f"model class {old[key][0]} removed")
        else:
            details = _describe(old[key][1], new[key][1])
            if details:
                out.append(f"{new[key][0]}: {', '.join(details)}")
    return out or ["model classes renamed"]
