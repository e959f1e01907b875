"""Stage ``train``: ``python -m stages.train`` fits the Table I network on the training part of the split.

Reads params.yaml, seeds and configures the Keras backend (:mod:`emoaugnet.backend`), and calls
:func:`emoaugnet.training.train_and_save`: the feature store ``paths.features`` in, the model bundle
``paths.models`` and the DVCLive curves ``paths.live`` out. ``train_fold@K`` (stages/train_fold.py) is
this stage with fold K's params and folders (:func:`emoaugnet.folds.stage_setup`).
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import backend, folds
from emoaugnet.params import Params
from emoaugnet.stage import run_stage
from emoaugnet.training import train_and_save


def main(argv: Sequence[str] | None = None, fold_stage: bool = False) -> int:
    """Stage ``train``; with ``fold_stage``, stage ``train_fold`` of the fold ``argv`` names (``[K]``)."""
    name = "train_fold" if fold_stage else "train"
    args = (sys.argv[1:] if argv is None else list(argv)) if fold_stage else None

    def body(p: Params) -> None:
        p, out = folds.stage_setup(p, args, name)
        backend.configure(p.seed)
        train_and_save(p, p.paths.features, out["models"], out["live"])

    return run_stage(name, body)


if __name__ == "__main__":
    raise SystemExit(main())
