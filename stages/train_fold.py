"""Stage ``train_fold@K``: ``python -m stages.train_fold K`` trains the model of cross-validation fold K.

Fold K is the speaker protocol with ``split.fold: K`` (:func:`emoaugnet.folds.fold_params`); the bundle
goes to ``<paths.cv>/models/fold_K`` and the DVCLive curves to ``<paths.cv>/live/fold_K``.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import backend, bundle, folds, shards, splits
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load
from emoaugnet.training import train_and_save


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        fold = folds.parse_fold(args, "train_fold")
        p = folds.fold_params(load(), fold)
        with project_lock():
            backend.configure(p.seed)
            dirs = folds.fold_dirs(p, fold)
            train_and_save(p, p.paths.features, dirs["models"], dirs["live"])
    except (ParamsError, splits.SplitError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"train_fold: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
