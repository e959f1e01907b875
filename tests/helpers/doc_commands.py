"""The shell commands README.md and docs/ give, as a reader would copy them.

``block_lines(page)``: every line of the page's code blocks (fenced ``bash``/``sh``/unlabelled, and indented
by four spaces), backslash continuations joined and ``# comments`` dropped. ``span_lines(page)``: every
inline code span outside code blocks. ``pieces(line)``: a line cut at ``&&`` / ``||`` / ``|`` / ``;`` into
token lists, after leading ``VAR=value`` assignments. ``runnable(pages)``: the ``dvc repro`` / ``dvc exp
run`` lines the docs ask a reader to run (code blocks of every page, README's inline spans), each once, in
page order; a line with a placeholder (``KEY``, ``<stage>``, ``...``) is a pattern, not a command.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
# A placeholder word: KEY, NAME, stages.NAME, -S KEY=VALUE, <stage>, "..." (two capitals at least: baseline.C is a key).
PLACEHOLDER = re.compile(r"(^|[.@])[A-Z][A-Z0-9_]+($|[.@=])|<[^>]*>|\.\.\.")


def _join(lines: list[str]) -> list[str]:
    """Backslash continuations joined, comments dropped, blank lines left out."""
    out, pending = [], ""
    for line in lines:
        line = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line.strip()).strip()
        pending = ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def _indented_blocks(text: str) -> list[list[str]]:
    """Markdown's indented code blocks: runs of lines indented by 4+ spaces after a blank line."""
    blocks, current, previous_blank = [], None, True
    for line in text.splitlines():
        if current is not None and (line.startswith("    ") or not line.strip()):
            current.append(line[4:])
            continue
        if current is not None:
            blocks.append(current)
            current = None
        if line.startswith("    ") and previous_blank and not line.lstrip().startswith(("-", "*", "|")):
            current = [line[4:]]
        previous_blank = not line.strip()
    if current is not None:
        blocks.append(current)
    return blocks


def block_lines(page: Path | str) -> list[str]:
    text = page.read_text() if isinstance(page, Path) else page
    lines = [_join(body.splitlines()) for lang, body in FENCE.findall(text) if lang in ("bash", "sh", "")]
    lines += [_join(block) for block in _indented_blocks(FENCE.sub("", text))]
    return [line for block in lines for line in block]


def span_lines(page: Path | str) -> list[str]:
    text = page.read_text() if isinstance(page, Path) else page
    return SPAN.findall(FENCE.sub("", text))


def pieces(line: str) -> list[list[str]]:
    found = []
    for piece in re.split(r"&&|\|\||[|;]", line):
        try:
            tokens = shlex.split(piece)
        except ValueError:
            continue
        while tokens and ENV.match(tokens[0]):
            tokens = tokens[1:]
        if tokens:
            found.append(tokens)
    return found


def is_run(tokens: list[str]) -> bool:
    return tokens[:2] == ["dvc", "repro"] or tokens[:3] == ["dvc", "exp", "run"]


def targets(tokens: list[str]) -> list[str]:
    """The stage targets of a ``dvc repro`` / ``dvc exp run`` piece (option values such as ``-n NAME`` skipped)."""
    out, skip = [], False
    for token in tokens[3 if tokens[1] == "exp" else 2:]:
        if skip:
            skip = False
        elif token.startswith("-"):
            skip = token in ("-n", "--name", "-S", "--set-param", "--message", "-m")
        else:
            out.append(token)
    return out


def not_run(pages: list[Path] | None = None) -> list[str]:
    """Code-block lines that run ``dvc repro`` / ``dvc exp run`` but do not start with ``dvc`` (an environment
    variable first, a subshell): :func:`runnable` leaves them out, and the test says why for each."""
    found: dict[str, None] = {}
    for page in pages or PAGES:
        for line in block_lines(page):
            if not line.startswith(("dvc ", "python3 -m venv")) and re.search(r"\bdvc (repro|exp run)\b", line):
                found.setdefault(line, None)
    return list(found)


def runnable(pages: list[Path] | None = None) -> list[str]:
    """The ``dvc repro`` / ``dvc exp run`` lines to run, each once, in page order."""
    seen: dict[str, None] = {}
    for page in pages or PAGES:
        lines = block_lines(page) + (span_lines(page) if page.name == "README.md" else [])
        for line in lines:
            runs = [t for t in pieces(line) if t[0] == "dvc"]
            if line.startswith(("dvc ", "python3 -m venv")) and any(is_run(t) for t in runs) \
                    and not any(PLACEHOLDER.search(token) for t in runs for token in t):
                seen.setdefault(line, None)
    return list(seen)
