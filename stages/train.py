"""Stage ``train``: ``python -m stages.train`` fits the Table I network on the training part of the split.

Reads params.yaml, seeds and configures the Keras backend (:mod:`emoaugnet.model.backend`), and calls
:func:`emoaugnet.training.fit.train_and_save`: the feature store ``paths.features`` in, the model bundle
``paths.models`` and the DVCLive curves ``paths.live`` out. ``train_fold@K`` (stages/train_fold.py) is
this stage with fold K's params and folders (:func:`emoaugnet.training.folds.stage_setup`), ``train_loco@C``
(stages/train_loco.py) with held-out corpus C's params, split and folders (:func:`emoaugnet.evaluation.loco.stage_setup`).
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

from emoaugnet.model import backend
from emoaugnet.training import folds
from emoaugnet.params import Params
from emoaugnet.stage import run_stage
from emoaugnet.training.fit import train_and_save


def main(argv: Sequence[str] | None = None, name: str = "train", setup: Callable | None = None) -> int:
    """Stage ``train``; with ``setup`` (:func:`emoaugnet.training.folds.stage_setup`, :func:`emoaugnet.evaluation.loco.stage_setup`),
    stage ``name`` of the fold or held-out corpus ``argv`` names (``[K]``, ``[C]``)."""
    args = None if setup is None else (sys.argv[1:] if argv is None else list(argv))

    def body(p: Params) -> None:
        run = (setup or folds.stage_setup)(p, args, name)
        backend.configure(run.params.seed)
        split = None if run.split is None else run.split(p.paths.features)
        train_and_save(run.params, p.paths.features, run.dirs["models"], run.dirs["live"], split=split)

    return run_stage(name, body)


if __name__ == "__main__":
    raise SystemExit(main())
