"""Normalisation that removes what differs between recordings and corpora.

* **Loudness** (``features.loudness_db``) is applied to the waveform before features:
  :mod:`emoaugnet.store.loudness`.
* **Feature normalisation** (``model.feature_norm``; ``model.speaker_norm: true`` still means
  ``speaker``): each clip's ``frames x channels`` features standardised per channel by the mean and
  standard deviation of

  - ``utterance``: its own frames (cepstral mean and variance normalisation, CMVN). It needs no other
    recording, so a model trained with it classifies one file of an unknown speaker as it was trained;
  - ``corpus``: the original recordings of its corpus (at predict time: all the files given, as
    ``--speaker-norm`` gathers them);
  - ``speaker``: the original recordings of its speaker (:mod:`emoaugnet.model.speaker_norm`).

  :func:`normalise` applies it to stored samples (train, evaluate, cross-corpus scoring);
  :func:`for_predict` to the features of windows being classified. Both run before the global scaler.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from emoaugnet.model import speaker_norm

if TYPE_CHECKING:       # shards imports h5py, which predict through the ONNX runtime does without
    from emoaugnet.store.shards import Samples

#: Methods that need the statistics of a group of recordings (at predict time: ``--speaker-norm``).
GROUP_METHODS = ("corpus", "speaker")
ALLOWED = "none, utterance, corpus, speaker"


class SpeakerNormError(ValueError):
    """A model normalised per speaker (or corpus) without that group's statistics, or statistics for a
    model that takes none."""


def method(model: Any) -> str:
    """The feature normalisation ``model`` (a bundle, an ONNX export or an ensemble: anything with
    ``model_params``) was trained with: ``model.feature_norm``, or ``speaker`` for ``model.speaker_norm``."""
    return model.model_params.normalisation


def needs_group_stats(model: Any) -> bool:
    """Whether ``model`` scores features standardised by a group's (speaker's or corpus's) statistics: the
    one place that rule is read, by the predictor, evaluation and cross-corpus scoring."""
    return method(model) in GROUP_METHODS


def check_group_stats(model: Any, given: bool) -> None:
    """Refuse a group-normalised model without its group's statistics, and statistics for any other."""
    if needs_group_stats(model) and not given:
        raise SpeakerNormError(
            f"this model was trained with model.feature_norm: {method(model)} and needs the statistics of one "
            f"{method(model)}'s recordings; pass them (Classifier.from_dir(..., speaker=FILES_OR_FOLDER); "
            "emoaugnet predict --speaker-norm with the recordings of one speaker)")
    if given and not needs_group_stats(model):
        raise SpeakerNormError(f"this model was trained with model.feature_norm: {method(model)}, which takes "
                               "no speaker statistics; leave out --speaker-norm (and the speaker= recordings)")


def for_model(model: Any, samples: Samples) -> Samples:
    """Stored ``samples`` as ``model`` must see them (evaluation, cross-corpus scoring)."""
    return normalise(samples, method(model))


def utterance(frames: np.ndarray) -> np.ndarray:
    """``(n, frames, channels)`` features, each clip standardised per channel by its own frames (CMVN)."""
    frames = np.asarray(frames, np.float64)
    if frames.ndim != 3:
        raise ValueError(f"expected features of shape (n, frames, channels), got {frames.shape}")
    mean = frames.mean(axis=1, keepdims=True)
    std = np.maximum(frames.std(axis=1, keepdims=True), speaker_norm.EPS)
    return ((frames - mean) / std).astype(np.float32)


def normalise(samples: Samples, method: str) -> Samples:
    """``samples`` normalised as ``method`` (``model.feature_norm``, see the module doc) says."""
    if method == "none" or len(samples) == 0:
        return samples
    if method == "utterance":
        return replace(samples, features=utterance(samples.features))
    if method == "corpus":
        return speaker_norm.normalise_groups(samples, samples.corpus.astype(str))
    if method == "speaker":
        return speaker_norm.normalise(samples)
    raise ValueError(f"unknown feature normalisation {method!r}; allowed: {ALLOWED}")


def for_predict(frames: np.ndarray, method: str,
                group_stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Features of windows to classify, normalised as the model was trained: ``utterance`` per window;
    ``corpus`` / ``speaker`` by ``group_stats`` (mean, std of the group's recordings, which
    :mod:`emoaugnet.inference.speaker_adaptation` takes from the raw features)."""
    if (method in GROUP_METHODS) != (group_stats is not None):
        raise SpeakerNormError(f"model.feature_norm: {method} " + ("needs" if group_stats is None else "takes no")
                               + " group statistics")
    if method == "utterance":
        return utterance(frames)
    if method in GROUP_METHODS:
        return speaker_norm.apply(frames, *group_stats)
    return np.asarray(frames, np.float32)
