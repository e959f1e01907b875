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
