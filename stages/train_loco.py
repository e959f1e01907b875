"""Stage ``train_loco@C``: ``python -m stages.train_loco C`` trains leave-one-corpus-out's model for held-out corpus C.

C is one of ``loco.corpora``; the model trains on the other corpora of the list, validating on speakers of
those corpora (:func:`emoaugnet.loco.split`); the bundle goes to ``<paths.loco>/models/C`` and the DVCLive
curves to ``<paths.loco>/live/C``.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import backend, bundle, loco, shards, splits
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load
from emoaugnet.training import train_and_save


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        base = load()
        held_out = loco.parse_corpus(args, "train_loco", base)
        p = loco.loco_params(base, held_out)
        with project_lock():
            backend.configure(p.seed)
            dirs = loco.loco_dirs(p, held_out)
            split = loco.split(p, held_out, p.paths.features, normalise_speakers=p.model.speaker_norm)
            train_and_save(p, p.paths.features, dirs["models"], dirs["live"], split=split)
    except (ParamsError, splits.SplitError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"train_loco: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
