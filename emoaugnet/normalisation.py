"""Normalisation that removes what differs between recordings and corpora (issue 23), all off by default.

* **Loudness** (``features.loudness_db``) is applied to the waveform before features:
  :mod:`emoaugnet.loudness`.
* **Feature normalisation** (``model.feature_norm``; ``model.speaker_norm: true`` still means
  ``speaker``): each clip's ``frames x channels`` features standardised per channel by the mean and
  standard deviation of

  - ``utterance``: its own frames (cepstral mean and variance normalisation, CMVN). It needs no other
    recording, so a model trained with it classifies one file of an unknown speaker as it was trained;
  - ``corpus``: the original recordings of its corpus (at predict time: all the files given, as
    ``--speaker-norm`` gathers them);
  - ``speaker``: the original recordings of its speaker (:mod:`emoaugnet.speaker_norm`).

  :func:`normalise` applies it to stored samples (train, evaluate, cross-corpus scoring);
  :func:`for_predict` to the features of windows being classified. Both run before the global scaler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emoaugnet import speaker_norm

if TYPE_CHECKING:       # shards imports h5py, which predict through the ONNX runtime does without
    from emoaugnet.shards import Samples

#: Methods that need the statistics of a group of recordings (at predict time: ``--speaker-norm``).
GROUP_METHODS = ("corpus", "speaker")


def utterance(frames: np.ndarray) -> np.ndarray:
    """``(n, frames, channels)`` features, each clip standardised per channel by its own frames (CMVN)."""
    frames = np.asarray(frames, np.float64)
    if frames.ndim != 3:
        raise ValueError(f"expected features of shape (n, frames, channels), got {frames.shape}")
    mean = frames.mean(axis=1, keepdims=True)
    std = np.maximum(frames.std(axis=1, keepdims=True), speaker_norm.EPS)
    return ((frames - mean) / std).astype(np.float32)


def _by_group(samples: Samples, groups: np.ndarray) -> Samples:
    from emoaugnet.shards import Samples
    out = samples.features.astype(np.float32, copy=True)
    for group in np.unique(groups):
        rows = groups == group
        originals = rows & (samples.variant == 0)
        mean, std = speaker_norm.statistics(samples.features[originals if originals.any() else rows])
        out[rows] = speaker_norm.apply(samples.features[rows], mean, std)
    return Samples(out, samples.label, samples.utterance, samples.speaker, samples.variant, samples.corpus,
                   samples.classes, samples.attrs)


def normalise(samples: Samples, method: str) -> Samples:
    """``samples`` normalised as ``method`` (``model.feature_norm``, see the module doc) says."""
    if method == "none" or len(samples) == 0:
        return samples
    if method == "utterance":
        from emoaugnet.shards import Samples
        return Samples(utterance(samples.features), samples.label, samples.utterance, samples.speaker,
                       samples.variant, samples.corpus, samples.classes, samples.attrs)
    if method == "corpus":
        return _by_group(samples, samples.corpus.astype(str))
    if method == "speaker":
        return speaker_norm.normalise(samples)
    raise ValueError(f"unknown feature normalisation {method!r}; allowed: none, utterance, corpus, speaker")


def for_predict(frames: np.ndarray, method: str,
                group_stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Features of windows to classify, normalised as the model was trained: ``utterance`` per window;
    ``corpus`` / ``speaker`` by ``group_stats`` (mean, std of the group's recordings); without them the
    features pass as they are (as before: the CLI refuses such a model without ``--speaker-norm``, and
    :mod:`emoaugnet.speaker_adaptation` gathers the statistics from the raw features this way)."""
    if method == "utterance":
        return utterance(frames)
    if method in GROUP_METHODS:
        return np.asarray(frames, np.float32) if group_stats is None else speaker_norm.apply(frames, *group_stats)
    if group_stats is not None:
        raise ValueError(f"group statistics given for a model trained with model.feature_norm: {method}")
    return np.asarray(frames, np.float32)
