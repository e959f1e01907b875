"""Per-sample loss weights for training on several corpora (``train.balance``) and classes (``train.class_weight``).

- ``balance: corpus``: every corpus of the training set gets the same total weight, shared equally by its
  samples (TESS YAF's 1,400 recordings weigh as much together as RAVDESS's);
- ``balance: corpus_class``: every corpus gets the same total weight, shared equally by the classes it has
  and, within a class, by its samples (EmoDB has no surprise: its share goes to its six classes);
- ``class_weight: balanced`` on top: each class present then gets the same total weight, computed on the
  already balanced weights (scikit-learn's "balanced" rule applied to weighted counts), so both hold as far
  as they can together.

The weights are scaled to mean 1 over the training set, so the loss keeps its scale. :func:`sample_weights`
gives ``None`` when neither is on: training is then exactly as without this module. Mixup mixes the weights
of a pair like their targets (:func:`emoaugnet.training.batches.mixup`).
"""

from __future__ import annotations

import numpy as np

from emoaugnet.params import TrainParams


def group_weights(groups: np.ndarray) -> np.ndarray:
    """``n / (groups * count(group))`` per sample: each group gets the same total weight, mean 1."""
    _, inverse, counts = np.unique(np.asarray(groups).astype(str), return_inverse=True, return_counts=True)
    return (len(groups) / (len(counts) * counts))[inverse]


def balance_weights(corpus: np.ndarray, labels: np.ndarray, mode: str) -> np.ndarray:
    """Weights giving each corpus (``corpus``), and each class within a corpus (``corpus_class``), an equal
    total weight; ``none``: all ones."""
    corpus, labels = np.asarray(corpus).astype(str), np.asarray(labels)
    if mode == "none":
        return np.ones(len(labels))
    w = group_weights(corpus)
    if mode == "corpus_class":
        for c in np.unique(corpus):
            rows = corpus == c
            w[rows] *= group_weights(labels[rows])     # share the corpus's total equally among its classes
    elif mode != "corpus":
        raise ValueError(f"train.balance {mode!r}; allowed values: none, corpus, corpus_class")
    return w / w.mean()


def class_balanced(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights`` times each class's "balanced" factor on weighted counts: every class present ends with
    the same total weight; mean 1."""
    labels = np.asarray(labels)
    classes, inverse = np.unique(labels, return_inverse=True)
    totals = np.bincount(inverse, weights=weights)
    w = weights * (weights.sum() / (len(classes) * totals))[inverse]
    return w / w.mean()


def sample_weights(corpus: np.ndarray, labels: np.ndarray, tp: TrainParams) -> np.ndarray | None:
    """The training samples' loss weights under ``train.balance`` and ``train.class_weight`` (float32), or
    None when both are off."""
    if tp.balance == "none" and tp.class_weight == "none":
        return None
    w = balance_weights(corpus, labels, tp.balance)
    if tp.class_weight == "balanced":
        w = class_balanced(labels, w)
    return w.astype(np.float32)
