"""README.md and docs/ stay true to the tree: every relative link resolves (file and heading), and every
``python -m``, ``python <script>``, ``emoaugnet`` and ``dvc`` command they name exists, with each
``-S key=value`` naming a key of params.yaml and each ``dvc repro`` target a stage of dvc.yaml.

Commands are read from bash code blocks and inline code spans, one per ``&&`` / ``|`` / ``;`` piece,
after leading ``VAR=value`` assignments. A word in capitals (``stages.NAME``, ``-S KEY=VALUE``) or in angle
brackets (``<stage>``) is a placeholder and is not looked up.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

from emoaugnet import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
PLACEHOLDER = re.compile(r"(^|[.@])[A-Z][A-Z0-9_]*($|[.@=])|<[^>]*>")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(FENCE.sub("", page.read_text()))]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def commands(page: Path) -> list[list[str]]:
    """Every shell command piece in the page's bash blocks and inline code, as tokens."""
    text = page.read_text()
    sources = [line for lang, body in FENCE.findall(text) if lang in ("bash", "sh", "")
               for line in body.splitlines()]
    sources += SPAN.findall(FENCE.sub("", text))
    found = []
    for source in sources:
        source = source.split(" #", 1)[0].rstrip("\\ ").strip()
        for piece in re.split(r"&&|\|\||[|;]", source):
            try:
                tokens = shlex.split(piece)
            except ValueError:
                continue
            while tokens and ENV.match(tokens[0]):
                tokens = tokens[1:]
            if tokens and tokens[0] in ("python", "python3", "emoaugnet", "dvc"):
                found.append([token for token in tokens if not PLACEHOLDER.search(token)])
    return found


def params_keys() -> set[str]:
    def walk(node: object, prefix: str) -> set[str]:
        if not isinstance(node, dict):
            return set()
        keys = set()
        for key, value in node.items():
            path = f"{prefix}{key}"
            keys |= {path} | walk(value, path + ".")
        return keys
    return walk(yaml.safe_load((ROOT / "params.yaml").read_text()), "")


def stage_names() -> set[str]:
    return set(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def test_pages_exist_and_readme_is_a_front_door():
    assert len(PAGES) > 5
    assert len((ROOT / "README.md").read_text().splitlines()) < 400


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with that anchor in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_commands_exist(page: Path):
    from dvc.cli.parser import get_main_parser

    ours = subcommands(cli._parser())
    dvc = get_main_parser()
    keys, stages = params_keys(), stage_names()
    wrong = []
    for tokens in commands(page):
        line = " ".join(tokens)
        head, rest = tokens[0], tokens[1:]
        if head in ("python", "python3"):
            if rest[:1] == ["-m"] and len(rest) > 1:
                if importlib.util.find_spec(rest[1]) is None:
                    wrong.append(f"{line}: no module {rest[1]}")
            elif rest and rest[0].endswith(".py") and not (ROOT / rest[0]).is_file():
                wrong.append(f"{line}: no file {rest[0]}")
        elif head == "emoaugnet":
            if rest and not rest[0].startswith("-") and rest[0] not in ours:
                wrong.append(f"{line}: emoaugnet has no subcommand {rest[0]}")
        else:
            parser, words = dvc, []
            for word in rest:
                subs = subcommands(parser)
                if not subs or word.startswith("-"):
                    break
                if word not in subs:
                    wrong.append(f"{line}: dvc {' '.join(words)} has no subcommand {word}")
                    break
                parser, words = subs[word], [*words, word]
            for flag, value in zip(rest, rest[1:]):
                if flag == "-S" and "=" in value and value.split("=", 1)[0] not in keys:
                    wrong.append(f"{line}: params.yaml has no key {value.split('=', 1)[0]}")
            if words == ["repro"]:
                targets = [w for w in rest[1:] if not w.startswith("-") and "=" not in w]
                wrong += [f"{line}: dvc.yaml has no stage {t.split('@')[0]}" for t in targets
                          if t.split("@")[0] not in stages]
    assert not wrong, f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)
