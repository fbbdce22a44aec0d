"""The shape the code keeps: short functions, no import circle, every module on the map.

These read the source (no import of the modules under test beyond parsing), so a long function,
a circular import or a module missing from ``docs/architecture.md`` fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("oduflow", "plugins")
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_function_is_longer_than_the_limit() -> None:
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def _module_level_imports(path: Path, known: set[str]) -> set[str]:
    """Project modules imported when ``path`` is imported (not those imported inside functions)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        found.update(n for n in names if n in known)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_level_import_circle() -> None:
    paths = {_module_name(p): p for p in _sources()}
    known = set(paths)
    graph = {name: _module_level_imports(path, known) - {name} for name, path in paths.items()}
    # a package's __init__ is imported before any of its modules: an edge to it is no circle risk
    packages = {n for n, p in paths.items() if p.name == "__init__.py"}
    graph = {n: {m for m in deps if m not in packages} for n, deps in graph.items()}
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_no_bottom_of_module_imports() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _sources() if "noqa: E402" in p.read_text()]
    assert offenders == [], f"imports placed after code (registration by import): {offenders}"


def test_every_module_is_on_the_architecture_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [
        str(p.relative_to(ROOT))
        for p in _sources()
        if p.name != "__init__.py"
        and p.parent.name in ("oduflow", "services", "surfaces")
        and f"`{p.name}`" not in text
        and f"{p.stem}.py" not in text
    ]
    assert missing == [], f"modules missing from docs/architecture.md: {missing}"
