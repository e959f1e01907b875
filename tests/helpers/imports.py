"""The project files a script runs: its own file plus every ``emoaugnet`` (or ``stages``) module it imports, transitively.

Imports are read from the source (``ast``), including those inside functions, so a lazily imported
module counts too. ``from emoaugnet import x`` counts ``emoaugnet/x.py`` when ``x`` is a module, and a
package's ``__init__.py`` counts whenever one of its modules is imported (Python runs it first).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("emoaugnet", "stages")


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def code_deps(script: str | Path) -> set[str]:
    """Posix paths, relative to the project root, of ``script`` and of every project module it runs."""
    start = ROOT / script
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in _imported(path):
            parts = dotted.split(".")
            for i in range(1, len(parts) + 1):      # the packages on the way run their __init__.py
                found = _module_file(".".join(parts[:i]))
                if found is not None:
                    todo.append(found)
    return {p.relative_to(ROOT).as_posix() for p in seen}


def module_imports(package_dir: Path) -> dict[str, set[str]]:
    """Every module of the package in ``package_dir`` (dotted, e.g. ``emoaugnet.data.audio``; a package by
    its own name) -> the package's modules it imports, anywhere in its code (inside functions and
    ``TYPE_CHECKING`` blocks too): ``from a.b import c`` imports module ``a.b.c`` where there is one,
    else ``a.b``; relative imports are resolved."""
    package_dir = Path(package_dir)
    top = package_dir.name
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (top, *path.relative_to(package_dir).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[:len(here.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph`` (module -> modules it imports): each strongly connected group of two
    or more modules, sorted (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(out)


def layout_problems(package_dir: Path, order: list[tuple[str, ...]]) -> list[str]:
    """What breaks the package's layering: every import circle, and every import of a module in a part
    above the importer's or beside it. ``order``: the rows of parts, lowest first; a part is a subpackage
    (``data``) or a top-level module (``cli``); ``""`` stands for the top-level modules not named (the
    shared ones). Parts in one row may not import each other. A part not in ``order`` is a problem too."""
    graph = module_imports(package_dir)
    rank = {part: row for row, parts in enumerate(order) for part in parts}

    def part(module: str) -> str:
        names = module.split(".")
        if len(names) == 1:
            return ""
        if names[1] in rank or len(names) > 2 or (Path(package_dir) / names[1]).is_dir():
            return names[1]
        return ""

    problems = [f"import circle: {' -> '.join(group)}" for group in cycles(graph)]
    for module in sorted(graph):
        if part(module) not in rank:
            problems.append(f"{module}: part {part(module)!r} is not in the order of parts")
            continue
        for target in sorted(graph[module]):
            mine, theirs = part(module), part(target)
            if theirs in rank and (rank[theirs] > rank[mine] or rank[theirs] == rank[mine] and theirs != mine):
                where = "above" if rank[theirs] > rank[mine] else "beside"
                problems.append(f"{module} imports {target}: part {theirs!r} stands {where} {mine or 'the top'!r}")
    return problems
