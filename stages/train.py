"""Stage ``train``: ``python -m stages.train`` fits the Table I network on the training part of the split.

Reads params.yaml, seeds and configures the Keras backend (:mod:`emoaugnet.backend`), and calls
:func:`emoaugnet.training.train_and_save`: the feature store ``paths.features`` in, the model bundle
``paths.models`` and the DVCLive curves ``paths.live`` out.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import backend, bundle, shards, splits
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load
from emoaugnet.training import train_and_save


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        with project_lock():
            backend.configure(p.seed)
            train_and_save(p, p.paths.features, p.paths.models, p.paths.live)
    except (ParamsError, splits.SplitError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
