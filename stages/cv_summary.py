"""Stage ``cv_summary``: ``python -m stages.cv_summary`` summarises the folds ``cv.folds`` lists.

Writes ``<paths.reports>/cv/metrics.json`` (per-fold WA / UA / macro F1, mean, sd, pooled) and
``<paths.reports>/cv/confusion.csv`` (all folds' test recordings); see :mod:`emoaugnet.cv_summary`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from emoaugnet import cv_summary
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        with project_lock():
            s = cv_summary.run_summary(p, Path(p.paths.reports) / "cv")
    except (ParamsError, cv_summary.CVError, LockError, WriteError) as exc:
        print(f"cv_summary: {exc}", file=sys.stderr)
        return 1
    print(f"cv_summary: {s['folds_run']} of {s['folds_total']} folds, {s['test_recordings']} test recordings; "
          + ", ".join(f"{k} {s['mean'][k]:.4f} +- {s['sd'][k]:.4f}" for k in cv_summary.HEADLINE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
