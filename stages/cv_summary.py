"""Stage ``cv_summary``: ``python -m stages.cv_summary`` summarises the folds ``cv.folds`` lists.

Writes ``<paths.reports>/cv/metrics.json`` (per-fold WA / UA / macro F1, mean, sd, pooled) and
``<paths.reports>/cv/confusion.csv`` (all folds' test recordings); see :mod:`emoaugnet.evaluation.cv_summary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.evaluation import cv_summary
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None) -> int:
    def body(p: Params) -> str:
        s = cv_summary.run_summary(p, Path(p.paths.reports) / "cv")
        return (f"cv_summary: {s['folds_run']} of {s['folds_total']} folds, {s['test_recordings']} test "
                "recordings; " + cv_summary.describe(s))

    return run_stage("cv_summary", body)


if __name__ == "__main__":
    raise SystemExit(main())
