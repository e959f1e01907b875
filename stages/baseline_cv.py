"""Stage ``baseline_cv``: ``python -m stages.baseline_cv`` scores the eGeMAPS + SVM baseline on every fold of ``cv.folds``.

Reads the eGeMAPS store (``<paths.egemaps>``) and writes each run's reports under ``<paths.cv>/baseline/``
and the summary to ``<paths.reports>/cv/baseline/metrics.json`` (the network's format); see
:func:`emoaugnet.baseline.run_cv`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from emoaugnet import baseline, cv_summary, shards, splits
from emoaugnet.atomic import WriteError
from emoaugnet.lock import LockError, project_lock
from emoaugnet.params import ParamsError, load


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        with project_lock():
            s = baseline.run_cv(p, p.paths.egemaps, Path(p.paths.reports) / "cv" / "baseline")
    except (ParamsError, splits.SplitError, shards.StoreError, baseline.BaselineError, cv_summary.CVError,
            LockError, WriteError) as exc:
        print(f"baseline_cv: {exc}", file=sys.stderr)
        return 1
    print(f"baseline_cv ({baseline.describe(p.baseline)}): {s['test_recordings']} test recordings; "
          + ", ".join(f"{k} {s['mean'][k]:.4f} +- {s['sd'][k]:.4f}" for k in cv_summary.HEADLINE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
