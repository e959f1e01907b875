"""How to get what is not there: a hint that works in this project (one owner for the wording).

A model: ``dvc pull`` is offered only when the DVC project around the folder has a remote configured;
without one it fails, so the hint says to train (``dvc repro``) or to name a model folder instead.

An extra (pyproject.toml's ``[project.optional-dependencies]``): ``pip install .`` is the core (predict,
serve's model, info). ``summary`` and ``export`` build or load the network in Keras (the ``keras`` extra, or
``jax`` under ``KERAS_BACKEND=jax``); ``show-augment`` reads the augment shards that the pipeline writes (h5py:
the ``pipeline`` extra). Without it each prints :func:`missing_extra`'s one line and exits 2, never a
traceback (tests/test_cli.py runs them with those modules hidden).
"""

from __future__ import annotations

import os
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


#: command -> (the extra it needs, what for); "keras" becomes "jax" under KERAS_BACKEND=jax
NEEDS = {
    "summary": ("keras", "the layer table is built by Keras"),
    "export": ("keras", "export loads the Keras bundle and converts it to ONNX"),
    "show-augment": ("pipeline", "it reads the augment shards the pipeline writes (h5py)"),
}


def install_extra(extra: str) -> str:
    """The pip command that adds ``extra`` to an installed emoaugnet (pip reads the extra from the installed
    package's metadata; from a source folder, ``pip install '.[EXTRA]'`` does the same)."""
    return f"pip install 'emoaugnet[{extra}]'"


def extra_for(command: str) -> tuple[str, str]:
    extra, why = NEEDS[command]
    if extra == "keras" and os.environ.get("KERAS_BACKEND", "tensorflow") == "jax":
        extra = "jax"
    return extra, why


def missing_extra(command: str, exc: ModuleNotFoundError) -> str:
    """``<command>: <module> is not installed: <why>; install the <extra> extra: pip install ...``"""
    extra, why = extra_for(command)
    module = (exc.name or str(exc)).split(".")[0]
    return f"{command}: {module} is not installed: {why}; install the {extra} extra: {install_extra(extra)}"
