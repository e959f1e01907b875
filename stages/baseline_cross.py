"""Stage ``baseline_cross@C``: ``python -m stages.baseline_cross C`` trains the eGeMAPS + SVM baseline on
``run.corpora`` and scores it on all of corpus C (one of ``baseline.cross_corpora``).

Writes ``<paths.reports>/cross/baseline/C/`` in the network's cross-corpus format; see
:func:`emoaugnet.evaluation.baseline.run_cross`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.evaluation import baseline, scoring as evaluation
from emoaugnet.params import Params, ParamsError
from emoaugnet.stage import corpus_argument, run_stage


def main(argv: Sequence[str] | None = None) -> int:
    corpus = corpus_argument(argv, "baseline_cross", __doc__, "a corpus of baseline.cross_corpora, e.g. tess")

    def body(p: Params) -> str:
        if corpus not in p.baseline.cross_corpora:
            raise ParamsError(f"{corpus!r} is not in `baseline.cross_corpora` "
                              f"({', '.join(p.baseline.cross_corpora) or 'empty'})")
        m = baseline.run_cross(p, corpus, p.paths.egemaps, Path(p.paths.reports) / "cross" / "baseline" / corpus)
        return f"baseline_cross {corpus}: {evaluation.describe(m)}"

    return run_stage("baseline_cross", body)


if __name__ == "__main__":
    raise SystemExit(main())
