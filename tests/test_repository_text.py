"""What a reader of the repository meets: no absolute path of the machine a file was written on, and no
wording that only the project's own history explains (issue numbers, rounds, worktrees, "the lead", a
session's or development machine's point of view). Every tracked text file is read; each check is a
plain function, shown failing on a stale example of its kind first.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".txt", ".ini", ".cfg", ".json", ".jsonl", ".csv", ""}
# An absolute path of one machine's file system: a home folder, /root, or the /work tree.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(work|root|home/\w+|Users/\w+)/")
HISTORY = [
    (re.compile(r"\bissue\s*#?\d+", re.I), "an issue number"),
    (re.compile(r"\bround\s+\d+\b|\bround \d+'s\b", re.I), "a development round"),
    (re.compile(r"\bwork-?trees?\b|\bwt-\w+", re.I), "a worktree"),
    (re.compile(r"\bthe lead('s)?\b", re.I), "the lead"),
    (re.compile(r"\bthis session\b|\bsession's (editor|cpu|machine|2-core)", re.I), "a session"),
    (re.compile(r"\bdevelopment machines?\b|\bthis [\w-]+ (\w+ )?machine\b", re.I), "the development machine"),
]
# This file states the patterns it looks for.
EXEMPT = {"tests/test_repository_text.py"}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = []
    for name in listed.stdout.split("\0"):
        path = ROOT / name
        if name and name not in EXEMPT and path.suffix in TEXT and path.is_file():
            files.append(path)
    return files


def machine_paths(text: str) -> list[str]:
    return [m.group(0) for m in MACHINE_PATH.finditer(text)]


def history_wording(text: str) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for pattern, what in HISTORY for m in pattern.finditer(text)]


def test_the_checks_catch_stale_examples_of_each_kind():
    assert machine_paths("cd /tmp/x && . /work/main/.venv/bin/activate") == ["/work/"]
    assert machine_paths('S = "/home/alice/corpora"') == ["/home/alice/"]
    assert machine_paths("data/raw/ravdess and ../shared/corpora and /tmp/old and tests/work/x") == []
    found = history_wording("Channel chains (issue 23); round 2's best row; a copy of this worktree; "
                            "the lead's measurements; on this session's 2-core development machine")
    assert [f.split(":")[0] for f in found] == ["an issue number", "a development round", "a worktree",
                                                 "the lead", "a session", "the development machine"]
    assert history_wording("rounds to 6 decimals; round-robin; --rounds 2; a round trip; a session file") == []


def test_git_lists_the_files():
    files = tracked_text_files()
    assert ROOT / "README.md" in files and ROOT / "emoaugnet" / "params.py" in files


@pytest.mark.parametrize("path", tracked_text_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_path_and_no_development_history(path: Path):
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        pytest.fail(f"{path.relative_to(ROOT)}: a tracked text file that is not UTF-8")
    problems = [f"machine path {p!r}" for p in machine_paths(text)] + history_wording(text)
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)
