"""The classic baseline beside the network: eGeMAPS functionals (:mod:`emoaugnet.store.egemaps`) and an RBF SVM.

The functionals of each split's training speakers are standardised (scikit-learn's ``StandardScaler``, fit
on the training part only) and an RBF ``SVC`` is fit on them. ``baseline.C`` x ``baseline.gamma``: a single
pair is used as is; several are each fit on the training part and the pair with the best unweighted
accuracy on the validation part (validation speakers only, never the test speakers) is kept. With
``baseline.speaker_norm`` every speaker's functionals are first standardised by that speaker's own
recordings (:mod:`emoaugnet.model.speaker_norm`, as the network's ``model.speaker_norm``: the test speakers'
statistics come from their unlabelled recordings).

The splits are the network's: :func:`emoaugnet.training.splits.make` on the eGeMAPS store (folds of ``cv.folds`` via
:func:`emoaugnet.training.folds.fold_params`, leave-one-corpus-out via :func:`emoaugnet.evaluation.loco.split`), originals only.
Each run's reports (``metrics.json``, ``per_class.csv``, ``confusion.csv``, ``predictions.csv``) have the
format of :func:`emoaugnet.evaluation.scoring.write_reports`; an SVM gives no probabilities, so a prediction's row
holds 1 for the predicted class and 0 elsewhere. The summaries are those of the network
(:func:`emoaugnet.evaluation.cv_summary.summarise`, :func:`emoaugnet.evaluation.loco.run_summary`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emoaugnet.evaluation import cv_summary, scoring as evaluation, loco
from emoaugnet.training import folds, splits
from emoaugnet.errors import EmoAugNetError
from emoaugnet.params import BaselineParams, Params


class BaselineError(EmoAugNetError, ValueError):
    """The baseline cannot be trained on this split."""


def _x(samples) -> np.ndarray:
    return samples.features.reshape(len(samples), -1).astype(np.float64)


def fit(split: splits.Split, bp: BaselineParams) -> tuple[Any, dict[str, Any]]:
    """The SVM pipeline fit on ``split.train`` with C / gamma chosen on ``split.val``; what was chosen."""
    grid = list(itertools.product(bp.C, bp.gamma))
    train, val = split.train, split.val
    if len(np.unique(train.label)) < 2:
        raise BaselineError(f"the training part holds {len(np.unique(train.label))} class; an SVM needs two")
    leak = set(splits.speaker_keys(train)) & set(splits.speaker_keys(split.test)) if split.test is not None else set()
    if leak:
        raise BaselineError(f"test speakers {sorted(map(str, leak))} are in the training part")
    chosen, val_ua, best = grid[0], None, None
    for C, gamma in grid:
        model = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=C, gamma=gamma)).fit(_x(train), train.label)
        if len(grid) == 1 or val is None or len(val) == 0:
            best = model
            break
        ua = evaluation.scores(val.label, model.predict(_x(val)), train.classes)["unweighted_accuracy"]
        if val_ua is None or ua > val_ua:
            chosen, val_ua, best = (C, gamma), ua, model
    return best, {"C": chosen[0], "gamma": chosen[1], "val_unweighted_accuracy": val_ua,
                  "grid": len(grid), "train": len(train), "val": 0 if val is None else len(val)}


def fit_calibrated(split: splits.Split, bp: BaselineParams) -> Any:
    """The SVM of :func:`fit` (C, gamma chosen as there) refit on ``split.train`` with Platt scaling for
    class probabilities: scikit-learn's ``CalibratedClassifierCV`` (``method="sigmoid"``, ``ensemble=False``),
    the sigmoid fit on out-of-fold decision values with the folds grouped by speaker (5, or as many as the
    training speakers; by recording where there is one), so it learns how sure the SVM is of speakers it
    has not heard. (``SVC(probability=True)``'s folds, deprecated in scikit-learn 1.9, mixed each speaker's
    recordings.) What late fusion (tools/fusion_cv.py) and the released part
    (:mod:`emoaugnet.evaluation.baseline_export`) average with the network."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import GroupKFold
    _, chosen = fit(split, bp)
    x, labels = _x(split.train), split.train.label
    speakers = splits.speaker_keys(split.train)
    if len(set(speakers)) >= 2:
        cv: Any = list(GroupKFold(min(5, len(set(speakers)))).split(x, labels, groups=speakers))
    else:       # one training speaker (a fixture's fold): its recordings, stratified
        cv = min(5, int(np.bincount(labels)[np.unique(labels)].min()))
    svm = SVC(kernel="rbf", C=chosen["C"], gamma=chosen["gamma"])
    model = CalibratedClassifierCV(make_pipeline(StandardScaler(), svm), method="sigmoid", ensemble=False, cv=cv)
    return model.fit(x, labels), chosen


def probabilities(model: Any, samples) -> np.ndarray:
    """``samples``' class probabilities from :func:`fit_calibrated`'s model, columns in class order (0 for a
    class the SVM never saw)."""
    probs = np.zeros((len(samples), len(samples.classes)))
    probs[:, model.classes_] = model.predict_proba(_x(samples))
    return probs


def describe(bp: BaselineParams) -> str:
    return f"egemaps-svm rbf {'speaker-norm' if bp.speaker_norm else 'global'}"


def score(split: splits.Split, bp: BaselineParams, out_dir: str | Path, **extra: Any) -> dict[str, Any]:
    """Fit on ``split``, score its test part and write the reports to ``out_dir``; the metrics."""
    model, chosen = fit(split, bp)
    test, classes = split.test, split.test.classes
    predicted = model.predict(_x(test))
    probs = np.eye(len(classes), dtype=np.float32)[predicted]
    overlap = splits.overlap(split)
    metrics = {"protocol": split.protocol, **evaluation.scores(test.label, predicted, classes),
               "samples": {**split.counts(), "speakers": len(set(test.speaker))},
               "leakage": {"note": split.leakage, "test_utterances_in_train": overlap["test_utterances_in_train"],
                           "test_speakers_in_train": overlap["test_speakers_in_train"]},
               "model": describe(bp), "chosen": chosen, **extra}
    evaluation.write_reports(out_dir, metrics, split, probs, classes)
    return metrics


def run_cv(p: Params, root: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Every fold of ``cv.folds`` on the eGeMAPS store ``root``; fold reports in ``<paths.cv>/baseline/fold_K``,
    the summary (as the network's) in ``out_dir``."""
    if not p.cv_folds:
        raise cv_summary.CVError("cv.folds is empty: no fold to run")
    dirs = {}
    for k in p.cv_folds:
        pk = folds.fold_params(p, k)
        split = splits.make(pk.split, p.seed, p.corpora_to_run, root, normalise_speakers=p.baseline.speaker_norm)
        dirs[k] = Path(p.paths.cv) / "baseline" / f"fold_{k}"
        score(split, p.baseline, dirs[k], fold=k)
    summary = cv_summary.summarise(dirs, p.classes, p.split.folds)
    cv_summary.write_summary(out_dir, summary, [dirs[k] for k in sorted(dirs)])
    return summary


def run_loco(p: Params, root: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Leave-one-corpus-out over ``loco.corpora`` on the eGeMAPS store ``root``; per corpus reports in
    ``<paths.loco>/baseline/<C>``, the summary (as the network's) in ``out_dir``."""
    if not p.loco_corpora:
        raise cv_summary.CVError("loco.corpora is empty: no corpus to hold out")
    dirs = {}
    for c in p.loco_corpora:
        split = loco.split(p, c, root, normalise_speakers=p.baseline.speaker_norm)
        dirs[c] = Path(p.paths.loco) / "baseline" / c
        score(split, p.baseline, dirs[c], corpus=c, trained_on=sorted(loco.training_corpora(p, c)))
    return loco.run_summary(p, out_dir, dirs)


def run_cross(p: Params, corpus: str, root: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Trained on ``run.corpora`` (validation: the last ``split.val_per_fold`` speakers of each), scored on
    all of ``corpus`` (one of ``baseline.cross_corpora``); reports in ``out_dir``."""
    split = loco.split(p, corpus, root, normalise_speakers=p.baseline.speaker_norm, train_on=p.corpora_to_run)
    return score(split, p.baseline, out_dir, corpus=corpus, trained_on=sorted(p.corpora_to_run))
