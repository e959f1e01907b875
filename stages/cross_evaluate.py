"""Stage ``cross_evaluate``: ``python -m stages.cross_evaluate <corpus>`` scores the model on a corpus it
never saw (one of ``evaluate.cross_corpora``).

Reads ``paths.models`` and ``<paths.features>/<corpus>/`` and writes ``<paths.reports>/cross/<corpus>/``
(``metrics.json``, ``per_class.csv``, ``confusion.csv``, ``predictions.csv``) through
:func:`emoaugnet.evaluation.cross_corpus.evaluate_corpus`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.evaluation import scoring as evaluation
from emoaugnet.evaluation.cross_corpus import evaluate_corpus
from emoaugnet.params import Params
from emoaugnet.stage import corpus_argument, run_stage


def main(argv: Sequence[str] | None = None) -> int:
    corpus = corpus_argument(argv, "cross_evaluate", __doc__, "a corpus of evaluate.cross_corpora, e.g. tess")

    def body(p: Params) -> str:
        p.corpus(corpus)
        m = evaluate_corpus(p, corpus, p.paths.models, p.paths.features, Path(p.paths.reports) / "cross")
        return f"cross_evaluate {corpus}: {evaluation.describe(m)}"

    return run_stage("cross_evaluate", body)


if __name__ == "__main__":
    raise SystemExit(main())
