"""How to get a model that is not there: a hint that works in this project (one owner for the wording).

``dvc pull`` is offered only when the DVC project around the folder has a remote configured; without
one it fails, so the hint says to train (``dvc repro``) or to name a model folder instead.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A remote section of a DVC config: ``['remote "name"']`` (as `dvc remote add` writes it) or ``[remote "name"]``.
REMOTE_SECTION = re.compile(r"^\s*\[\s*'?remote\s+\"", re.MULTILINE)


def dvc_remote(start: str | Path = ".") -> bool:
    """Whether the DVC project around ``start`` has a remote configured (``dvc pull`` can work)."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        configs = [folder / ".dvc" / name for name in ("config", "config.local")]
        if (folder / ".dvc").is_dir():
            text = "\n".join(c.read_text(errors="replace") for c in configs if c.is_file())
            return bool(REMOTE_SECTION.search(text))
    return False


def how_to_get(start: str | Path = ".") -> str:
    """A hint that works here: train (``dvc repro``), pass ``--model``, and ``dvc pull`` only with a remote."""
    pull = " or fetch it with `dvc pull`," if dvc_remote(start) else ""
    return f"train one with `dvc repro` (in the project folder),{pull} or pass --model DIR"
