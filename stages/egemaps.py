"""Stage ``egemaps@C``: ``python -m stages.egemaps C`` stores the eGeMAPS functionals of corpus C's recordings.

Reads ``<paths.manifests>/C.csv`` and the audio it lists and writes ``<paths.egemaps>/C/speaker_<id>.h5``
(88 functionals per kept original recording; :func:`emoaugnet.store.egemaps.extract_corpus`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.store import egemaps
from emoaugnet.params import Params
from emoaugnet.stage import corpus_argument, run_stage


def main(argv: Sequence[str] | None = None) -> int:
    corpus = corpus_argument(argv, "egemaps", __doc__, "corpus name from data.corpora, e.g. ravdess")

    def body(p: Params) -> str:
        p.corpus(corpus)
        s = egemaps.extract_corpus(corpus, Path(p.paths.manifests) / f"{corpus}.csv", Path(p.paths.egemaps) / corpus,
                                   p.audio.sample_rate, p.classes)
        return f"egemaps {corpus}: {s['recordings']} recordings of {s['speakers']} speakers"

    return run_stage("egemaps", body)


if __name__ == "__main__":
    raise SystemExit(main())
