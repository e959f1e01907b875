"""Stage ``evaluate_fold@K``: ``python -m stages.evaluate_fold K`` is stage ``evaluate`` (stages/evaluate.py)
with fold K's params (``split.fold: K``): it scores fold K's model on its test speakers and writes the
four report files to ``<paths.cv>/reports/fold_K``.
"""

from emoaugnet.training import folds
from stages import evaluate

if __name__ == "__main__":
    raise SystemExit(evaluate.main(name="evaluate_fold", setup=folds.stage_setup))
