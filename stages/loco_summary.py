"""Stage ``loco_summary``: ``python -m stages.loco_summary`` summarises the held-out corpora of ``loco.corpora``.

Writes ``<paths.reports>/loco/metrics.json`` (per held-out corpus WA / UA / macro F1, their mean and sd, and
the figures on all held-out recordings pooled) and ``<paths.reports>/loco/confusion.csv``; see
:func:`emoaugnet.loco.run_summary`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from emoaugnet import cv_summary, loco
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        with project_lock():
            s = loco.run_summary(p, Path(p.paths.reports) / "loco")
    except (ParamsError, cv_summary.CVError, LockError, WriteError) as exc:
        print(f"loco_summary: {exc}", file=sys.stderr)
        return 1
    print("loco_summary: " + "; ".join(f"{c} UA {r['unweighted_accuracy']:.4f}" for c, r in s["per_corpus"].items())
          + "; mean " + ", ".join(f"{k} {s['mean'][k]:.4f}" for k in cv_summary.HEADLINE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
