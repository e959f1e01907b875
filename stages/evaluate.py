"""Stage ``evaluate``: ``python -m stages.evaluate`` scores the model bundle on params.yaml's test set.

Reads ``paths.models`` and ``paths.features`` and writes ``paths.reports``: ``metrics.json`` (headline
figures for ``dvc metrics show``), ``per_class.csv``, ``confusion.csv`` and ``predictions.csv``
(see :mod:`emoaugnet.evaluation.scoring`). A model trained against another test set is refused.
``evaluate_fold@K`` (stages/evaluate_fold.py) is this stage with fold K's params and folders
(:func:`emoaugnet.training.folds.stage_setup`); ``evaluate_loco@C`` (stages/evaluate_loco.py) with held-out corpus
C's (:func:`emoaugnet.evaluation.loco.stage_setup`), scoring all of C (:func:`emoaugnet.evaluation.cross_corpus.evaluate_corpus`).
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

from emoaugnet.evaluation import scoring as evaluation
from emoaugnet.training import folds
from emoaugnet.evaluation.cross_corpus import evaluate_corpus
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None, name: str = "evaluate", setup: Callable | None = None) -> int:
    """Stage ``evaluate``; with ``setup`` (:func:`emoaugnet.training.folds.stage_setup`, :func:`emoaugnet.evaluation.loco.stage_setup`),
    stage ``name`` of the fold or held-out corpus ``argv`` names (``[K]``, ``[C]``)."""
    args = None if setup is None else (sys.argv[1:] if argv is None else list(argv))

    def body(p: Params) -> str:
        run = (setup or folds.stage_setup)(p, args, name)
        models, reports = run.dirs["models"], run.dirs["reports"]
        if run.held_out is None:
            m = evaluation.evaluate(run.params, models, p.paths.features, reports)
        else:
            m = evaluate_corpus(run.params, run.held_out, models, p.paths.features, reports.parent)
        return f"{name}{' ' + run.label if run.label else ''}: {evaluation.describe(m)}"

    return run_stage(name, body)


if __name__ == "__main__":
    raise SystemExit(main())
