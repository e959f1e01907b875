"""Per-speaker feature normalisation (speaker adaptation), applied before the global scaler.

Each speaker's features are standardised per feature channel (ZCR, RMS, each MFCC) by the mean and
standard deviation over all frames of that speaker's own original recordings. This removes much of what
differs between voices (level, timbre) before the model sees them. At test time the statistics come from
the test speaker's recordings without their labels, so a model trained with ``model.speaker_norm: true``
adapts to each new speaker from a handful of that speaker's unlabelled clips: it is speaker adaptation,
and `emoaugnet predict --speaker-norm` offers it for a folder of one speaker's files.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:      # shards imports h5py: not part of the core install that predicts with an export
    from emoaugnet.store.shards import Samples

EPS = 1e-6


def statistics(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per channel over every frame of ``(n, frames, channels)``."""
    frames = np.asarray(frames, np.float64)
    if frames.ndim != 3 or len(frames) == 0:
        raise ValueError(f"speaker statistics need features of shape (n>0, frames, channels), got {frames.shape}")
    flat = frames.reshape(-1, frames.shape[-1])
    return flat.mean(axis=0), np.maximum(flat.std(axis=0), EPS)


def apply(frames: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((np.asarray(frames, np.float64) - mean) / std).astype(np.float32)


def normalise(samples: "Samples") -> "Samples":
    """``samples`` with each (corpus, speaker)'s features standardised by the statistics of that speaker's
    originals (variant 0) among ``samples``, or of all their rows when none is an original."""
    return normalise_groups(samples, np.char.add(np.char.add(samples.corpus.astype(str), "/"),
                                                 samples.speaker.astype(str)))


def normalise_groups(samples: "Samples", groups: np.ndarray) -> "Samples":
    """``samples`` with each group's rows (``groups``: one key per row, e.g. the corpus) standardised by the
    statistics of the group's originals (variant 0), or of all its rows when none is an original."""
    out = samples.features.astype(np.float32, copy=True)
    for group in np.unique(groups):
        rows = groups == group
        originals = rows & (samples.variant == 0)
        mean, std = statistics(samples.features[originals if originals.any() else rows])
        out[rows] = apply(samples.features[rows], mean, std)
    return replace(samples, features=out)
