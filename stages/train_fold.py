"""Stage ``train_fold@K``: ``python -m stages.train_fold K`` is stage ``train`` (stages/train.py) with fold
K's params (``split.fold: K``): the bundle goes to ``<paths.cv>/models/fold_K``, the DVCLive curves to
``<paths.cv>/live/fold_K``.
"""

from emoaugnet.training import folds
from stages import train

if __name__ == "__main__":
    raise SystemExit(train.main(name="train_fold", setup=folds.stage_setup))
