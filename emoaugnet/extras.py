"""Which extra (pyproject.toml's ``[project.optional-dependencies]``) a command needs beyond the core install,
and the one line it prints when the extra's packages are missing (exit status 2, never a traceback).

``pip install .`` is the core: predict, serve's model, info. ``summary`` and ``export`` build or load the
network in Keras (the ``keras`` extra, or ``jax`` under ``KERAS_BACKEND=jax``); ``show-augment`` reads the
augment shards that the pipeline writes (h5py: the ``pipeline`` extra). tests/test_cli.py runs each with
those modules hidden.
"""

from __future__ import annotations

import os

#: command -> (the extra it needs, what for); "keras" becomes "jax" under KERAS_BACKEND=jax
NEEDS = {
    "summary": ("keras", "the layer table is built by Keras"),
    "export": ("keras", "export loads the Keras bundle and converts it to ONNX"),
    "show-augment": ("pipeline", "it reads the augment shards the pipeline writes (h5py)"),
}


def install(extra: str) -> str:
    """The pip command that adds ``extra`` to an installed emoaugnet (pip reads the extra from the installed
    package's metadata; from a source folder, ``pip install '.[EXTRA]'`` does the same)."""
    return f"pip install 'emoaugnet[{extra}]'"


def extra_for(command: str) -> tuple[str, str]:
    extra, why = NEEDS[command]
    if extra == "keras" and os.environ.get("KERAS_BACKEND", "tensorflow") == "jax":
        extra = "jax"
    return extra, why


def missing(command: str, exc: ModuleNotFoundError) -> str:
    """``<command>: <module> is not installed: <why>; install the <extra> extra: pip install ...``"""
    extra, why = extra_for(command)
    module = (exc.name or str(exc)).split(".")[0]
    return f"{command}: {module} is not installed: {why}; install the {extra} extra: {install(extra)}"
