"""Stage ``download``: ``python -m stages.download <corpus>`` fetches, verifies and lists one corpus.

Reads ``corpora.<corpus>``, ``classes``, ``quality`` and ``paths`` from params.yaml and calls
:func:`emoaugnet.data.ingest.ingest`, which writes ``<paths.raw>/<corpus>/``, ``<paths.manifests>/<corpus>.csv``
and ``<paths.stage_reports>/download/<corpus>.json``.
"""

from __future__ import annotations

import argparse
import sys

from emoaugnet.data.corpora import REGISTRY
from emoaugnet.data.ingest import ingest
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.download", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=sorted(REGISTRY), help="a corpus with a parser in emoaugnet/data/corpora")
    args = parser.parse_args(argv)

    def body(params: Params) -> str:
        report = ingest(args.corpus, params)
        return (f"{args.corpus}: {report['listed']} listed, {report['kept']} kept, {report['dropped']} dropped "
                f"by the label map, {report['bad']} bad, {report['duplicates']['count']} duplicates skipped, "
                f"{report['speakers']['count']} speakers; per class: {report['per_class']}")

    return run_stage("download", body)


if __name__ == "__main__":
    sys.exit(main())
