"""The orders services import each other in one direction only (no cycle, not even one hidden
in a function-level import)."""

import ast
from pathlib import Path

import orders.services

PACKAGE = "orders.services"
SERVICES_DIR = Path(orders.services.__file__).resolve().parent


def _imports_of(path: Path) -> set[str]:
    """Every orders.services module imported anywhere in `path` (top level or in functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = {p.stem for p in SERVICES_DIR.glob("*.py") if p.stem != "__init__"}
    return {
        name.removeprefix(f"{PACKAGE}.").split(".")[0]
        for name in found
        if name.startswith(f"{PACKAGE}.")
        and name.removeprefix(f"{PACKAGE}.").split(".")[0] in modules
    }


def test_orders_services_import_graph_has_no_cycle():
    """checkout -> payment -> refunds -> transitions and so on: never back up."""
    graph = {p.stem: _imports_of(p) - {p.stem} for p in SERVICES_DIR.glob("*.py")}
    graph.pop("__init__", None)
    done: set[str] = set()

    def walk(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in graph.get(module, ()):
            walk(imported, (*path, module))
        done.add(module)

    for module in graph:
        walk(module, ())
    assert "payment" in graph["checkout"]
    assert "refunds" in graph["payment"]
