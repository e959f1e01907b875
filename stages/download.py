"""Stage ``download``: ``python -m stages.download <corpus>`` fetches, verifies and lists one corpus.

Reads ``corpora.<corpus>``, ``classes``, ``quality`` and ``paths`` from params.yaml and calls
:func:`emoaugnet.ingest.ingest`, which writes ``<paths.raw>/<corpus>/``, ``<paths.manifests>/<corpus>.csv``
and ``<paths.stage_reports>/download/<corpus>.json``.
"""

from __future__ import annotations

import argparse
import sys

from emoaugnet.corpora import REGISTRY, CorpusError
from emoaugnet.fetch import DownloadError
from emoaugnet.ingest import ingest
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.download", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=sorted(REGISTRY), help="a corpus with a parser in emoaugnet/corpora")
    args = parser.parse_args(argv)
    try:
        params = load()
        with project_lock():
            report = ingest(args.corpus, params)
    except (ParamsError, DownloadError, CorpusError, LockError, WriteError) as exc:
        print(f"download: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.corpus}: {report['listed']} listed, {report['kept']} kept, {report['dropped']} dropped "
          f"by the label map, {report['bad']} bad, {report['duplicates']['count']} duplicates skipped, "
          f"{report['speakers']['count']} speakers; "
          f"per class: {report['per_class']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
