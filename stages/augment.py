"""Stage ``augment``: ``python -m stages.augment <corpus>`` materialises every variant of every kept file.

Reads ``<paths.manifests>/<corpus>.csv`` (kept rows) and writes ``<paths.augmented>/<corpus>/speaker_<id>.h5``
and ``<paths.stage_reports>/augment/<corpus>.json`` through :func:`emoaugnet.store.augment.run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoaugnet.data import manifest
from emoaugnet.store.augment import AugmentError, run
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.augment", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="corpus name from data.corpora, e.g. ravdess")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: augment.workers)")
    args = parser.parse_args(argv)

    def body(params: Params) -> str:
        params.corpus(args.corpus)
        paths = params.paths
        table = Path(paths.manifests) / f"{args.corpus}.csv"
        if not table.is_file():
            raise AugmentError(f"{table}: manifest not found (run `dvc repro download@{args.corpus}` first)")
        report = run(args.corpus, manifest.read(table, kept_only=True), params,
                     out_dir=Path(paths.augmented) / args.corpus,
                     report_path=Path(paths.stage_reports) / "augment" / f"{args.corpus}.json",
                     workers=args.workers)
        return (f"augment {args.corpus}: {report['samples']} samples from {report['augmented']} utterances "
                f"in {report['shards']} shards; {len(report['bad'])} bad files, {len(report['truncated'])} "
                "truncated (used as far as they decode; listed in the report)"
                + ("" if params.scheduler == "local" else f"; on Dask ({params.scheduler})"))

    return run_stage("augment", body)


if __name__ == "__main__":
    sys.exit(main())
