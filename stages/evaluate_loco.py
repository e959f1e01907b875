"""Stage ``evaluate_loco@C``: ``python -m stages.evaluate_loco C`` scores held-out corpus C's model on all of C.

Every original recording of C is scored (:func:`emoaugnet.cross_corpus.evaluate_corpus`: WA / UA / macro F1
over the classes C has); ``metrics.json``, ``per_class.csv``, ``confusion.csv`` and ``predictions.csv`` go
to ``<paths.loco>/reports/C``.
"""

from __future__ import annotations

import sys
from typing import Sequence

from emoaugnet import bundle, loco, shards
from emoaugnet.atomic import WriteError
from emoaugnet.cross_corpus import evaluate_corpus
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        p = load()
        held_out = loco.parse_corpus(args, "evaluate_loco", p)
        dirs = loco.loco_dirs(p, held_out)
        with project_lock():
            m = evaluate_corpus(p, held_out, dirs["models"], p.paths.features, dirs["reports"].parent)
    except (ParamsError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"evaluate_loco: {exc}", file=sys.stderr)
        return 1
    print(f"evaluate_loco {held_out} (trained on {', '.join(m['trained_on'])}): {m['samples']['test']} recordings: "
          f"weighted accuracy {m['weighted_accuracy']:.4f}, unweighted accuracy {m['unweighted_accuracy']:.4f}, "
          f"macro F1 {m['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
