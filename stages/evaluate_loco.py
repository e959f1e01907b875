"""Stage ``evaluate_loco@C``: ``python -m stages.evaluate_loco C`` is stage ``evaluate`` (stages/evaluate.py)
with held-out corpus C's setup (:func:`emoaugnet.evaluation.loco.stage_setup`): it scores C's model on all of C.

Every original recording of C is scored (:func:`emoaugnet.evaluation.cross_corpus.evaluate_corpus`: features normalised
as the model was trained, WA / UA / macro F1 over the classes C has); ``metrics.json``, ``per_class.csv``,
``confusion.csv`` and ``predictions.csv`` go to ``<paths.loco>/reports/C``.
"""

from emoaugnet.evaluation import loco
from stages import evaluate

if __name__ == "__main__":
    raise SystemExit(evaluate.main(name="evaluate_loco", setup=loco.stage_setup))
