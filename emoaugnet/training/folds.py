"""Speaker k-fold cross-validation folds: which speakers each fold tests and validates on; its params
and folders.

:func:`speaker_folds` sorts the speakers (numeric ids by value) and deals them into ``split.folds``
consecutive blocks (RAVDESS actors 01-20 in 5 folds: 01-04, 05-08, ..., 17-20); :func:`fold_roles` gives
fold K's test speakers (block K) and validation speakers (the ``split.val_per_fold`` speakers just before
the block, wrapping around). So the folds' test sets are disjoint and cover every speaker, and no fold
trains on its test or validation speakers; fold 4 of RAVDESS is the default single split (test 17-20,
validation 15-16).

Fold ``K`` is the speaker protocol with ``split.fold: K`` (:func:`emoaugnet.training.folds.fold_roles` picks its
test and validation speakers); its stages (``train_fold@K``, ``evaluate_fold@K``) write to
``<paths.cv>/{models,live,reports}/fold_K``. :mod:`emoaugnet.evaluation.cv_summary` summarises the folds.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np

from emoaugnet.data.manifest import speaker_order
from emoaugnet.params import Params, ParamsError
from emoaugnet.errors import EmoAugNetError


class FoldError(EmoAugNetError, ValueError):
    """The speakers cannot be dealt into the folds asked for."""


def speaker_folds(speakers: Iterable[str], k: int) -> list[list[str]]:
    """The speakers, sorted, dealt into ``k`` consecutive blocks whose sizes differ by at most one."""
    ordered = sorted({str(s) for s in speakers}, key=speaker_order)
    if not 2 <= k <= len(ordered):
        raise FoldError(f"split.folds is {k}; it needs 2 to {len(ordered)} folds for {len(ordered)} speakers")
    size, extra = divmod(len(ordered), k)
    bounds = np.cumsum([0] + [size + (i < extra) for i in range(k)])
    return [ordered[bounds[i]:bounds[i + 1]] for i in range(k)]


def fold_roles(speakers: Iterable[str], k: int, fold: int, val_per_fold: int) -> tuple[list[str], list[str]]:
    """Test and validation speakers of ``fold``: its block, and the ``val_per_fold`` speakers just before
    the block in sorted order (wrapping around), sorted."""
    blocks = speaker_folds(speakers, k)
    if not 0 <= fold < k:
        raise FoldError(f"split.fold is {fold}; with split.folds {k} it must be 0..{k - 1}")
    test = blocks[fold]
    ordered = [s for block in blocks for s in block]
    start = ordered.index(test[0])
    before = [ordered[(start - i) % len(ordered)] for i in range(1, len(ordered) - len(test) + 1)]
    if val_per_fold >= len(before):
        raise FoldError(f"split.val_per_fold is {val_per_fold}; fold {fold} tests on {len(test)} of "
                         f"{len(ordered)} speakers, which leaves no speaker to train on")
    val = sorted(before[:val_per_fold], key=speaker_order)
    return test, val


def parse_fold(args: list[str], stage: str) -> int:
    """The fold number a fold stage is run with (``python -m stages.<stage> K``)."""
    if len(args) != 1 or not args[0].isdigit():
        raise ParamsError(f"usage: python -m stages.{stage} FOLD (a fold number), got {args}")
    return int(args[0])


def fold_params(p: Params, fold: int) -> Params:
    """``p`` with ``split.fold`` set to ``fold`` (speaker protocol): what the fold's stages run with."""
    if not 0 <= fold < p.split.folds:
        raise ParamsError(f"fold {fold}: `split.folds` is {p.split.folds}, so folds are 0..{p.split.folds - 1}")
    return replace(p, split=replace(p.split, protocol="speaker", fold=fold))


class StageSetup(NamedTuple):
    """What one train or evaluate stage (stages/train.py, stages/evaluate.py) runs with."""
    params: Params
    dirs: dict[str, Path]               # output folders: models, live, reports
    label: str = ""                     # the fold or held-out corpus, for the stage's line
    split: Callable | None = None       # split(features_dir): the training split; None: the params' split
    held_out: str | None = None         # leave-one-corpus-out: the corpus scored whole (emoaugnet.evaluation.loco)


def stage_setup(p: Params, args: list[str] | None, stage: str) -> StageSetup:
    """The setup of a train or evaluate stage: the plain stage's (``args`` None: ``paths.*``) or, for
    ``<stage> K`` (``args`` ``[K]``), fold K's params and folders."""
    if args is None:
        return StageSetup(p, {"models": Path(p.paths.models), "live": Path(p.paths.live),
                              "reports": Path(p.paths.reports)})
    fold = parse_fold(args, stage)
    p = fold_params(p, fold)
    return StageSetup(p, fold_dirs(p, fold), str(fold))


def fold_dirs(p: Params, fold: int) -> dict[str, Path]:
    """Where fold ``fold`` keeps its model bundle, DVCLive curves and evaluation reports."""
    root = Path(p.paths.cv)
    return {part: root / part / f"fold_{fold}" for part in ("models", "live", "reports")}
