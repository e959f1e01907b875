"""Stage ``evaluate``: ``python -m stages.evaluate`` scores the model bundle on params.yaml's test set.

Reads ``paths.models`` and ``paths.features`` and writes ``paths.reports``: ``metrics.json`` (headline
figures for ``dvc metrics show``), ``per_class.csv``, ``confusion.csv`` and ``predictions.csv``
(see :mod:`emoaugnet.evaluation`). A model trained against another test set is refused.
``evaluate_fold@K`` (stages/evaluate_fold.py) is this stage with fold K's params and folders
(:func:`emoaugnet.folds.stage_setup`).
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import folds
from emoaugnet.evaluation import evaluate
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None, fold_stage: bool = False) -> int:
    """Stage ``evaluate``; with ``fold_stage``, stage ``evaluate_fold`` of the fold ``argv`` names (``[K]``)."""
    name = "evaluate_fold" if fold_stage else "evaluate"
    args = (sys.argv[1:] if argv is None else list(argv)) if fold_stage else None

    def body(p: Params) -> str:
        p, out = folds.stage_setup(p, args, name)
        m = evaluate(p, out["models"], p.paths.features, out["reports"])
        fold = "" if args is None else f" {args[0]}"
        return (f"{name}{fold}: {m['protocol']} protocol, {m['samples'].get('test')} test samples: weighted "
                f"accuracy {m['weighted_accuracy']:.4f}, unweighted accuracy {m['unweighted_accuracy']:.4f}, "
                f"macro F1 {m['macro_f1']:.4f}" + (" (leaky split)" if m["leakage"]["note"] else ""))

    return run_stage(name, body)


if __name__ == "__main__":
    raise SystemExit(main())
