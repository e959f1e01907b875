"""Stage ``cross_evaluate``: ``python -m stages.cross_evaluate <corpus>`` scores the model on a corpus it
never saw (one of ``evaluate.cross_corpora``).

Reads ``paths.models`` and ``<paths.features>/<corpus>/`` and writes ``<paths.reports>/cross/<corpus>/``
(``metrics.json``, ``per_class.csv``, ``confusion.csv``, ``predictions.csv``) through
:func:`emoaugnet.cross_corpus.evaluate_corpus`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from emoaugnet import bundle, shards
from emoaugnet.atomic import WriteError
from emoaugnet.cross_corpus import evaluate_corpus
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.cross_evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="a corpus of evaluate.cross_corpora, e.g. tess")
    args = parser.parse_args(argv)
    try:
        p = load()
        p.corpus(args.corpus)
        with project_lock():
            m = evaluate_corpus(p, args.corpus, p.paths.models, p.paths.features, Path(p.paths.reports) / "cross")
    except (ParamsError, shards.StoreError, bundle.BundleError, LockError, WriteError) as exc:
        print(f"cross_evaluate: {exc}", file=sys.stderr)
        return 1
    print(f"cross_evaluate {args.corpus} (trained on {', '.join(m['trained_on'])}): {m['samples']['test']} "
          f"recordings: weighted accuracy {m['weighted_accuracy']:.4f}, unweighted accuracy "
          f"{m['unweighted_accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
