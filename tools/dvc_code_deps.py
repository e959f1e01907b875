"""Rewrite the code deps of every stage in dvc.yaml from the imports (tests/helpers/imports.py's rule).

Each stage lists, among its deps, exactly the files ``python -m stages.NAME`` runs: its script and every
``emoaugnet`` module it imports, transitively (tests/test_layout.py checks it). After moving or adding an
import, ``python tools/dvc_code_deps.py`` rewrites those lines in place (the stage script first, then the
modules sorted) and leaves every other line of dvc.yaml as it is; ``--check`` only says which stages differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^(\s*)- ((?:emoaugnet|stages)/\S+\.py)\s*$")
STAGE = re.compile(r"^  (\w+):\s*$")


def rewrite(text: str) -> tuple[str, list[str]]:
    """``text`` (dvc.yaml) with each stage's code deps derived again, and the stages that changed."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.imports import code_deps
    out: list[str] = []
    changed: list[str] = []
    stage = None
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if match := STAGE.match(lines[i]):
            stage = match[1]
        code = CODE.match(lines[i])
        if not code or stage is None:
            out.append(lines[i])
            i += 1
            continue
        indent, old = code[1], []
        while i < len(lines) and (code := CODE.match(lines[i])):
            old.append(code[2])
            i += 1
        script = f"stages/{stage}.py"
        new = [script, *sorted(code_deps(script) - {script})]
        if new != old:
            changed.append(stage)
        out += [f"{indent}- {path}\n" for path in new]
    return "".join(out), changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list the stages whose code deps differ")
    args = parser.parse_args(argv)
    path = ROOT / "dvc.yaml"
    text, changed = rewrite(path.read_text())
    if not args.check:
        path.write_text(text)
    print(f"{'differ' if args.check else 'rewrote'}: {', '.join(changed) or 'none'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
