"""Stage ``baseline_cv``: ``python -m stages.baseline_cv`` scores the eGeMAPS + SVM baseline on every fold of ``cv.folds``.

Reads the eGeMAPS store (``<paths.egemaps>``) and writes each run's reports under ``<paths.cv>/baseline/``
and the summary to ``<paths.reports>/cv/baseline/metrics.json`` (the network's format); see
:func:`emoaugnet.evaluation.baseline.run_cv`. ``baseline_loco`` (stages/baseline_loco.py) is this stage over the
held-out corpora of ``loco.corpora`` (:func:`emoaugnet.evaluation.baseline.run_loco`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.evaluation import baseline, cv_summary
from emoaugnet.params import Params
from emoaugnet.stage import run_stage

RUNS = {"cv": baseline.run_cv, "loco": baseline.run_loco}     # the protocol a stage's name ends with


def main(argv: Sequence[str] | None = None, name: str = "baseline_cv") -> int:
    """Stage ``baseline_cv``, or ``baseline_loco``: the baseline's runs and their summary."""
    protocol = name.removeprefix("baseline_")

    def body(p: Params) -> str:
        s = RUNS[protocol](p, p.paths.egemaps, Path(p.paths.reports) / protocol / "baseline")
        return (f"{name} ({baseline.describe(p.baseline)}): {s['test_recordings']} test recordings; "
                + cv_summary.describe(s))

    return run_stage(name, body)


if __name__ == "__main__":
    raise SystemExit(main())
