"""Stage ``features``: ``python -m stages.features <corpus>`` writes the feature store of one corpus.

Reads ``<paths.augmented>/<corpus>/speaker_<id>.h5`` and writes ``<paths.features>/<corpus>/speaker_<id>.h5``
through :func:`emoaugnet.store.feature_shards.run` (ZCR, RMS and MFCC per frame, :mod:`emoaugnet.store.features`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emoaugnet.store import feature_shards
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.features", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="corpus name from data.corpora, e.g. ravdess")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: features.workers)")
    args = parser.parse_args(argv)

    def body(params: Params) -> str:
        params.corpus(args.corpus)
        summary = feature_shards.run(args.corpus, params.features, in_dir=Path(params.paths.augmented) / args.corpus,
                                     out_dir=Path(params.paths.features) / args.corpus, workers=args.workers,
                                     scheduler=params.scheduler)
        return (f"features {args.corpus}: {summary['samples']} samples in {summary['shards']} shards"
                + ("" if params.scheduler == "local" else f" on Dask ({params.scheduler})"))

    return run_stage("features", body)


if __name__ == "__main__":
    raise SystemExit(main())
