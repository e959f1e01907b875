"""Stage ``egemaps@C``: ``python -m stages.egemaps C`` stores the eGeMAPS functionals of corpus C's recordings.

Reads ``<paths.manifests>/C.csv`` and the audio it lists and writes ``<paths.egemaps>/C/speaker_<id>.h5``
(88 functionals per kept original recording; :func:`emoaugnet.egemaps.extract_corpus`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoaugnet import audio, egemaps, shards
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.egemaps", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="corpus name from data.corpora, e.g. ravdess")
    args = parser.parse_args(argv)
    try:
        p = load()
        p.corpus(args.corpus)
        with project_lock():
            s = egemaps.extract_corpus(args.corpus, Path(p.paths.manifests) / f"{args.corpus}.csv",
                                       Path(p.paths.egemaps) / args.corpus, p.audio.sample_rate, p.classes)
    except (ParamsError, audio.AudioError, shards.StoreError, LockError, WriteError, OSError) as exc:
        print(f"egemaps: {exc}", file=sys.stderr)
        return 1
    print(f"egemaps {args.corpus}: {s['recordings']} recordings of {s['speakers']} speakers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
