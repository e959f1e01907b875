"""Stage ``baseline_loco``: ``python -m stages.baseline_loco`` is stage ``baseline_cv`` (stages/baseline_cv.py)
over every held-out corpus of ``loco.corpora``.

Reads the eGeMAPS store (``<paths.egemaps>``) and writes each run's reports under ``<paths.loco>/baseline/``
and the summary to ``<paths.reports>/loco/baseline/metrics.json`` (the network's format); see
:func:`emoaugnet.evaluation.baseline.run_loco`.
"""

from stages import baseline_cv

if __name__ == "__main__":
    raise SystemExit(baseline_cv.main(name="baseline_loco"))
