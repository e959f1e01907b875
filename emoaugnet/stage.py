"""One way to run a pipeline stage: :func:`run_stage` is what every script in ``stages/`` calls.

It reads and validates params.yaml (:func:`emoaugnet.params.load`), takes the project lock
(:func:`emoaugnet.lock.project_lock`), runs the stage's body and prints the line the body returns. Any
:class:`~emoaugnet.errors.EmoAugNetError` (bad params, a locked project, a failed write, a bad store or
bundle, ...) becomes one line ``<stage>: <message>`` on stderr and exit status 1; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from emoaugnet.errors import EmoAugNetError
from emoaugnet.lock import project_lock
from emoaugnet.params import Params, load


def run_stage(name: str, body: Callable[[Params], str | None]) -> int:
    """Run stage ``name``: ``body(params)`` under the project lock; its returned line (if any) on stdout."""
    try:
        params = load()
        with project_lock():
            line = body(params)
    except EmoAugNetError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    if line:
        print(line)
    return 0


def corpus_argument(argv: Sequence[str] | None, stage: str, doc: str, help: str) -> str:
    """The one argument of a per-corpus stage (``python -m stages.<stage> CORPUS``); ``doc``'s first line
    describes the stage in ``--help``."""
    parser = argparse.ArgumentParser(prog=f"python -m stages.{stage}", description=doc.splitlines()[0])
    parser.add_argument("corpus", help=help)
    return parser.parse_args(argv).corpus
