"""Stage ``baseline_cross@C``: ``python -m stages.baseline_cross C`` trains the eGeMAPS + SVM baseline on
``run.corpora`` and scores it on all of corpus C (one of ``baseline.cross_corpora``).

Writes ``<paths.reports>/cross/baseline/C/`` in the network's cross-corpus format; see
:func:`emoaugnet.baseline.run_cross`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoaugnet import baseline, shards, splits
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.baseline_cross", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="a corpus of baseline.cross_corpora, e.g. tess")
    args = parser.parse_args(argv)
    try:
        p = load()
        if args.corpus not in p.baseline.cross_corpora:
            raise ParamsError(f"{args.corpus!r} is not in `baseline.cross_corpora` "
                              f"({', '.join(p.baseline.cross_corpora) or 'empty'})")
        with project_lock():
            m = baseline.run_cross(p, args.corpus, p.paths.egemaps,
                                   Path(p.paths.reports) / "cross" / "baseline" / args.corpus)
    except (ParamsError, splits.SplitError, shards.StoreError, baseline.BaselineError, LockError, WriteError) as exc:
        print(f"baseline_cross: {exc}", file=sys.stderr)
        return 1
    print(f"baseline_cross {args.corpus} (trained on {', '.join(m['trained_on'])}): {m['samples']['test']} "
          f"recordings: weighted accuracy {m['weighted_accuracy']:.4f}, unweighted accuracy "
          f"{m['unweighted_accuracy']:.4f}, macro F1 {m['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
