"""Stage ``cross_evaluate``: ``python -m stages.cross_evaluate <corpus>`` scores the model on a corpus it
never saw (one of ``evaluate.cross_corpora``).

Reads ``paths.models`` and ``<paths.features>/<corpus>/`` and writes ``<paths.reports>/cross/<corpus>/``
(``metrics.json``, ``per_class.csv``, ``confusion.csv``, ``predictions.csv``) through
:func:`emoaugnet.cross_corpus.evaluate_corpus`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from emoaugnet.cross_corpus import evaluate_corpus
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.cross_evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="a corpus of evaluate.cross_corpora, e.g. tess")
    args = parser.parse_args(argv)

    def body(p: Params) -> str:
        p.corpus(args.corpus)
        m = evaluate_corpus(p, args.corpus, p.paths.models, p.paths.features, Path(p.paths.reports) / "cross")
        return (f"cross_evaluate {args.corpus} (trained on {', '.join(m['trained_on'])}): {m['samples']['test']} "
                f"recordings: weighted accuracy {m['weighted_accuracy']:.4f}, unweighted accuracy "
                f"{m['unweighted_accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}")

    return run_stage("cross_evaluate", body)


if __name__ == "__main__":
    raise SystemExit(main())
