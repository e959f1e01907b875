"""The git tree a model is released from: its commit, and whether tracked files differ from it.

``emoaugnet release`` (:mod:`emoaugnet.release.release`) records the commit in the card, and refuses a tree with
uncommitted changes (or a folder outside git) unless told ``--allow-dirty``: the commit would not be the code
and params the model was made from.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class TreeError(ValueError):
    """A tree a model must not be released from; ``str()`` names the folder, the files and the way out."""


NOT_GIT = "unknown (not a git checkout)"


def git_state(root: Path) -> tuple[str, list[str]]:
    """The commit checked out at ``root`` and the tracked files that differ from it (``git status``)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return NOT_GIT, []
    return commit, [line[3:] for line in status.splitlines() if line.strip()]


def check_clean(root: Path, allow_dirty: bool = False) -> tuple[str, list[str]]:
    """``git_state(root)``, or TreeError when the tree has uncommitted changes (or is no git checkout) and
    ``allow_dirty`` is not given: the card's commit would not be what the model was made from."""
    commit, changed = git_state(root)
    if allow_dirty:
        return commit, changed
    if commit == NOT_GIT:
        raise TreeError(f"{root}: not a git checkout, so the card cannot name the commit the model was made "
                        "from; release from the project's git checkout, or pass --allow-dirty (the card then "
                        "says so)")
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise TreeError(f"{root}: the git tree has uncommitted changes to tracked files ({shown}); commit them "
                        f"first, so that the card's commit is the code and params the model was made from, or "
                        f"pass --allow-dirty (the card then records it and these files)")
    return commit, changed
