"""README.md and docs/ stay true to the tree: every relative link resolves (file and heading), and every
``python -m``, ``python <script>``, ``emoaugnet`` and ``dvc`` command they name exists, with each
``-S key=value`` naming a key of params.yaml and each ``dvc repro`` target a stage of dvc.yaml.

Commands are read from code blocks (fenced and indented) and inline code spans by
``helpers.doc_commands``, one per ``&&`` / ``|`` / ``;`` piece, after leading ``VAR=value`` assignments. A
word in capitals (``stages.NAME``, ``-S KEY=VALUE``) or in angle brackets (``<stage>``) is a placeholder and
is not looked up. ``tests/test_doc_commands.py`` runs the ``dvc repro`` / ``dvc exp run`` lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from emoaugnet import cli
from helpers import doc_commands
from helpers.doc_commands import FENCE, PAGES, PLACEHOLDER

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


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
    """Every shell command piece in the page's code blocks and inline code, as tokens."""
    found = []
    for line in doc_commands.block_lines(page) + doc_commands.span_lines(page):
        for tokens in doc_commands.pieces(line):
            if tokens[0] in ("python", "python3", "emoaugnet", "dvc"):
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


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with that anchor in {file.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = broken_links(page)
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def wrong_commands(page: Path) -> list[str]:
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
    return wrong


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_commands_exist(page: Path):
    wrong = wrong_commands(page)
    assert not wrong, f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)


STALE = """# A stale page

See [the old page](gone.md), [a lost heading](#nowhere) and [this one](#a-stale-page).

```bash
python -m stages.no_such_stage
emoaugnet no-such-subcommand recording.wav
dvc exp run -S model.no_such_key=1 -S 'cv.folds=[0]'
```

Indented, as docs/evaluation.md writes its examples:

    dvc repro no_such_stage@all
    python tools/no_such_tool.py --corpora x

and inline: `dvc exp rnu`, `dvc exp run -S KEY=VALUE` (a placeholder, fine).
"""


def test_the_checks_fail_on_a_stale_page(tmp_path):
    page = tmp_path / "stale.md"
    page.write_text(STALE)
    assert broken_links(page) == ["gone.md: no such file", "#nowhere: no heading with that anchor in stale.md"]
    wrong = wrong_commands(page)
    expected = ["no module stages.no_such_stage", "emoaugnet has no subcommand no-such-subcommand",
                "params.yaml has no key model.no_such_key", "dvc.yaml has no stage no_such_stage",
                "no file tools/no_such_tool.py", "dvc exp has no subcommand rnu"]
    assert [w.split(": ", 1)[1] for w in wrong] == expected, wrong


#: Phrases about the machines this project is developed on, which a reader of README does not have.
DEVELOPMENT_NOTES = ("../shared", "shared/corpora", "this project's machines", "that machine", "load average",
                     "shared with other jobs", "these 2-core", "measured here")


def test_readme_speaks_to_users_not_about_the_development_machines():
    text = (ROOT / "README.md").read_text()
    found = [phrase for phrase in DEVELOPMENT_NOTES if phrase in text]
    assert not found, f"README.md: {found}: move such notes to docs/"


#: Pages whose fixture recordings are no example of classifying, and why.
NOT_EXAMPLES = {"docs/augmentation.md": "measures an augmentation's effect on a recording; nothing is classified"}
FIXTURE_PATH = re.compile(r"tests/fixtures/([a-z0-9-]+)/([^\s`)\"']+)")


def fixture_speaker(corpus_folder: str, rest: str) -> tuple[str, str] | None:
    """``(corpus, speaker)`` of a fixture recording's path, as the model's card names them; the renamed
    ``cremad`` / ``savee`` fixtures are RAVDESS recordings (tests/helpers/renamed_fixtures.py)."""
    from helpers import renamed_fixtures
    name = rest.rsplit("/", 1)[-1]
    if corpus_folder.startswith("ravdess"):
        match = re.search(r"Actor_(\d+)", rest)
        return ("ravdess", str(int(match[1]))) if match else None
    if corpus_folder == "tess":
        return "tess", name.split("_", 1)[0]
    if corpus_folder == "emodb":
        return "emodb", name[:2]
    if corpus_folder == "cremad":
        actors = {cremad: ravdess for ravdess, cremad in renamed_fixtures.CREMAD_ACTORS.items()}
        return "ravdess", str(int(actors[name.split("_", 1)[0]]))
    if corpus_folder == "savee":
        actors = {savee: ravdess for ravdess, (savee, _) in renamed_fixtures.SAVEE_ACTORS.items()}
        return "ravdess", str(int(actors[re.split(r"[_/]", rest, maxsplit=1)[0]]))
    return None


def test_example_recordings_are_of_speakers_the_shipped_model_never_heard_or_say_so():
    """An example that classifies a fixture recording uses a speaker outside the shipped model's training and
    validation speakers (its card), or its paragraph (or the one before) says it is a training speaker."""
    from emoaugnet.inference import model_dir
    from emoaugnet.release import card as card_mod
    card = card_mod.read(model_dir.SHIPPED)
    heard = {(c["name"], str(s)) for c in card["corpora"]
             for s in (c["speakers"].get("train") or []) + (c["speakers"].get("val") or [])}
    assert heard
    unsaid, checked = [], 0
    for page in [ROOT / "README.md", ROOT / "MODEL_CARD.md", *PAGES]:
        rel = page.relative_to(ROOT).as_posix()
        if rel in NOT_EXAMPLES or not page.exists():
            continue
        paragraphs = re.split(r"\n\s*\n", page.read_text())
        for i, paragraph in enumerate(paragraphs):
            for corpus_folder, rest in FIXTURE_PATH.findall(paragraph):
                speaker = fixture_speaker(corpus_folder, rest)
                if speaker is None:
                    continue
                checked += 1
                context = " ".join(paragraphs[max(0, i - 1):i + 2]).lower()
                if speaker in heard and "training speaker" not in context:
                    unsaid.append(f"{rel}: tests/fixtures/{corpus_folder}/{rest} ({speaker[0]} speaker {speaker[1]})")
    assert checked >= 3
    assert not unsaid, ("examples on recordings of the shipped model's training speakers that do not say so: "
                        + "; ".join(unsaid))
