"""Stage ``evaluate_fold@K``: ``python -m stages.evaluate_fold K`` scores fold K's model on its test speakers.

Writes ``metrics.json``, ``per_class.csv``, ``confusion.csv`` and ``predictions.csv`` to
``<paths.cv>/reports/fold_K`` (see :mod:`emoaugnet.evaluation`).
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import bundle, folds, shards, splits
from emoaugnet.evaluation import evaluate
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        fold = folds.parse_fold(args, "evaluate_fold")
        p = folds.fold_params(load(), fold)
        dirs = folds.fold_dirs(p, fold)
        with project_lock():
            m = evaluate(p, dirs["models"], p.paths.features, dirs["reports"])
    except (ParamsError, splits.SplitError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"evaluate_fold: {exc}", file=sys.stderr)
        return 1
    print(f"evaluate_fold {fold}: {m['samples'].get('test')} test samples: weighted accuracy "
          f"{m['weighted_accuracy']:.4f}, unweighted accuracy {m['unweighted_accuracy']:.4f}, "
          f"macro F1 {m['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
