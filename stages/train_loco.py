"""Stage ``train_loco@C``: ``python -m stages.train_loco C`` is stage ``train`` (stages/train.py) with held-out
corpus C's setup (:func:`emoaugnet.evaluation.loco.stage_setup`; C is one of ``loco.corpora``).

The model trains on the other corpora of the list, validating on speakers of those corpora
(:func:`emoaugnet.evaluation.loco.split`, normalised as ``model.feature_norm`` says); the bundle goes to
``<paths.loco>/models/C`` and the DVCLive curves to ``<paths.loco>/live/C``.
"""

from emoaugnet.evaluation import loco
from stages import train

if __name__ == "__main__":
    raise SystemExit(train.main(name="train_loco", setup=loco.stage_setup))
