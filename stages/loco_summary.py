"""Stage ``loco_summary``: ``python -m stages.loco_summary`` summarises the held-out corpora of ``loco.corpora``.

Writes ``<paths.reports>/loco/metrics.json`` (per held-out corpus WA / UA / macro F1, their mean and sd, and
the figures on all held-out recordings pooled) and ``<paths.reports>/loco/confusion.csv``; see
:func:`emoaugnet.evaluation.loco.run_summary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from emoaugnet.evaluation import cv_summary, loco
from emoaugnet.params import Params
from emoaugnet.stage import run_stage


def main(argv: Sequence[str] | None = None) -> int:
    def body(p: Params) -> str:
        s = loco.run_summary(p, Path(p.paths.reports) / "loco")
        return ("loco_summary: " + "; ".join(f"{c} UA {r['unweighted_accuracy']:.4f}" for c, r in s["per_corpus"].items())
                + "; mean " + cv_summary.describe(s))

    return run_stage("loco_summary", body)


if __name__ == "__main__":
    raise SystemExit(main())
