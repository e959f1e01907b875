"""Stage ``evaluate``: ``python -m stages.evaluate`` scores the model bundle on params.yaml's test set.

Reads ``paths.models`` and ``paths.features`` and writes ``paths.reports``: ``metrics.json`` (headline
figures for ``dvc metrics show``), ``per_class.csv``, ``confusion.csv`` and ``predictions.csv``
(see :mod:`emoaugnet.evaluation`). A model trained against another test set is refused.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import bundle, shards, splits
from emoaugnet.evaluation import evaluate
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        with project_lock():
            m = evaluate(p, p.paths.models, p.paths.features, p.paths.reports)
    except (ParamsError, splits.SplitError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    print(f"evaluate: {m['protocol']} protocol, {m['samples'].get('test')} test samples: weighted accuracy "
          f"{m['weighted_accuracy']:.4f}, unweighted accuracy {m['unweighted_accuracy']:.4f}, "
          f"macro F1 {m['macro_f1']:.4f}" + (" (leaky split)" if m["leakage"]["note"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
