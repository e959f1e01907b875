"""A tiny real copy of the project in a temporary git + DVC repository, for tests that run DVC itself.

``build(tmp)`` copies ``emoaugnet/``, ``stages/``, ``dvc.yaml``, ``.dvcignore`` and ``.gitignore`` into ``tmp/repo``, writes
a shrunk ``params.yaml`` (the RAVDESS fixtures, statement 01 only, as a local source folder
``tmp/corpus``; frames layout; 1 epoch; one augment variant, trained on; 1 worker; actor 4 held out for test and 3
for validation; plus any dotted overrides), then ``git init``, ``dvc init`` and one commit. A full
``dvc repro`` of it takes well under a minute on 2 cores. ``run(args, cwd)`` runs a command there in a
clean environment (this virtual environment first on PATH, a git identity, no DVC analytics) and
returns its stdout, failing the test with the command's output when it exits non-zero. ``copy(repo, dest)``
copies a project whole (git history, DVC cache, outputs): the tests that need the project after a plain
``dvc repro`` and then change it each work on a copy of one run (conftest's ``reproduced_project``, run in
``user_env()``; ``reproduced_output`` is what that first run printed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from emoaugnet.params import from_dict
from helpers.featurestore import params_tree

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ravdess"
COPY = ("emoaugnet", "stages", "dvc.yaml", ".dvcignore", ".gitignore")
DVC = [sys.executable, "-m", "dvc"]

# 4 actors x 8 statement-01 files, 7 kept each; x2 with the one augment variant.
SMALL: dict[str, Any] = {
    "model.input_layout": "frames", "train.epochs": 1, "train.batch_size": 16, "train.precision": "float32",
    "split.test_speakers": [4], "split.val_speakers": [3],
    "augment.variants": [["noise"]], "split.train_variants": [], "augment.workers": 1, "features.workers": 1,
}


def env() -> dict[str, str]:
    """The environment for git and DVC in a tiny project: nothing from the caller's repo leaks in."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "DVC_NO_ANALYTICS": "1", "PYTHONPATH": "", "PYTHONUNBUFFERED": "1"}


def user_env() -> dict[str, str]:
    """:func:`env` as a user runs DVC: without the TF_CPP_MIN_LOG_LEVEL the tests set, so TensorFlow's own
    notices would show (emoaugnet/model/backend.py takes them out of its first import's stderr)."""
    return {k: v for k, v in env().items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def run(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> str:
    """Run ``args`` in ``cwd`` (``dvc`` as the first word means this environment's DVC); its stdout."""
    if args[0] == "dvc":
        args = DVC + list(args[1:])
    done = subprocess.run(args, cwd=cwd, env={**env(), **(extra_env or {})}, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def fixture_corpus(dest: Path) -> Path:
    """The RAVDESS fixtures, statement 01 only (8 files per actor, 7 kept), laid out like the archive."""
    for path in sorted(FIXTURE.glob("Actor_*/03-01-*-*-01-*-*.flac")):
        (dest / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / path.parent.name / path.name)
    return dest


def make_repo(repo: Path, tree: dict[str, Any]) -> Path:
    """A committed git + DVC repository at ``repo``: the project's code and dvc.yaml, ``tree`` as params.yaml."""
    from_dict(tree)                           # a bad override fails here, not inside dvc repro
    repo.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, repo / name)
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["dvc", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "project copy"], repo)
    return repo


def build(tmp: Path, **overrides: Any) -> Path:
    """``tmp/repo``: a committed git + DVC copy of the project on ``tmp/corpus``; see the module doc."""
    corpus = fixture_corpus(tmp / "corpus")
    tree = params_tree(**{**SMALL, "corpora.ravdess.source": str(corpus), **overrides})
    return make_repo(tmp / "repo", tree)


def copy(repo: Path, dest: Path) -> Path:
    """A copy of the project at ``repo`` (its git history, DVC cache and outputs) at ``dest``, for a test that
    changes it. Its params still name the original's corpus folder, which stays for the whole session."""
    shutil.copytree(repo, dest, symlinks=True)
    return dest
