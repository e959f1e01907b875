"""Stage ``features``: ``python -m stages.features <corpus>`` writes the feature store of one corpus.

Reads ``<paths.augmented>/<corpus>/speaker_<id>.h5`` and writes ``<paths.features>/<corpus>/speaker_<id>.h5``
through :func:`emoaugnet.feature_shards.run` (ZCR, RMS and MFCC per frame, :mod:`emoaugnet.features`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoaugnet import feature_shards, shards
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.features", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="corpus name from data.corpora, e.g. ravdess")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: features.workers)")
    args = parser.parse_args(argv)
    try:
        params = load()
        params.corpus(args.corpus)
        with project_lock():
            summary = feature_shards.run(args.corpus, params.features,
                                         in_dir=Path(params.paths.augmented) / args.corpus,
                                         out_dir=Path(params.paths.features) / args.corpus, workers=args.workers)
    except (ParamsError, shards.StoreError, LockError, WriteError) as exc:
        print(f"features: {exc}", file=sys.stderr)
        return 1
    print(f"features {args.corpus}: {summary['samples']} samples in {summary['shards']} shards")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
