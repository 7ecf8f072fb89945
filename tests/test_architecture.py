"""Imports point down, and no module imports itself round a cycle.

    domain < bot basics (i18n, config) < storage < services < texts < senders < handlers < assembly

Imports inside functions count too: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from bot import PROJECT_ROOT

PACKAGES = ("bot", "handlers", "storage")
# The first matching prefix (longest first) gives a module's layer.
LAYERS = {
    "bot.domain": 0,
    "bot": 1,  # the package itself, i18n, config, catalogs
    "storage": 2,
    "bot.services": 3,
    "bot.texts": 4,
    "bot.pacer": 5,
    "bot.limits": 5,
    "bot.retry": 5,
    "bot.outbox": 5,
    "bot.broadcasts": 5,
    "bot.menus": 5,
    "bot.matcher": 5,
    "bot.tracing": 1,  # name and person matching: pure, with the string libraries
    "bot.exchange": 1,  # list formats: CSV, PFIF; pure
    "bot.middlewares": 5,
    "bot.metrics": 5,  # counters of updates and sends; the backlog is read by the assembly
    "bot.serving": 7,  # webhook and health servers: assembly, beside bot.app
    "handlers": 6,
    "bot.app": 7,
    "bot.cli": 7,
    "bot.sandbox": 7,  # assembles the bot like bot.app, with the emulator and a web chat
    "bot.__main__": 7,
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # alembic's scripts are loaded by alembic, not imported
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Every module `path` imports, wherever in the file (type-checking blocks aside)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            # `from pkg import module` imports the module too.
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            imported
            for imported in _imports(path, name, path.name == "__init__.py")
            if imported in modules and imported != name
        }
        for name, path in modules.items()
    }


def layer(module: str) -> int:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS")


def test_imports_point_down() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {imported} (layer {layer(imported)})"
        for module, imports in sorted(_graph().items())
        for imported in sorted(imports)
        if layer(imported) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_nothing_in_bot_or_storage_imports_the_handlers_but_the_assembly() -> None:
    wrong = [
        f"{module} imports {imported}"
        for module, imports in _graph().items()
        if not module.startswith("handlers") and layer(module) < LAYERS["bot.app"]
        for imported in imports
        if imported.startswith("handlers")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_domain_depends_on_nothing_but_the_standard_library() -> None:
    for name, path in _modules().items():
        if not name.startswith("bot.domain"):
            continue
        for imported in _imports(path, name, path.name == "__init__.py"):
            top = imported.split(".")[0]
            standard = top in sys.stdlib_module_names or top == "__future__"
            assert imported.startswith("bot.domain") or standard, f"{name}: {imported}"


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    assert not cycles, cycles


def test_the_checks_see_real_imports() -> None:
    """Guards the guard: the graph finds imports known to exist, in functions too."""
    graph = _graph()
    assert "bot.services.uow" in graph["bot.services.cases"]
    assert "handlers.family" in graph["handlers"]  # imported inside get_routers()
    assert layer("bot.services.cases") < layer("handlers.liaison.cases")
