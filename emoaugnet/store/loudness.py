"""Loudness normalisation of a clip before features (``features.loudness_db``; ``null`` = off, the default).

Each clip is scaled so that its RMS over its *voiced* frames (frames within :data:`VOICED_TOP_DB` dB of its
loudest) is the target in dBFS. Counting voiced frames only keeps a clip with long pauses from being
boosted more than the same speech said without them. numpy only: :func:`emoaugnet.store.features.extract` and
its numpy twin (the ONNX runtime) both call :func:`loudness`, so training, evaluation and predict scale
every clip alike.
"""

from __future__ import annotations

import numpy as np

#: Frames within this many dB of a clip's loudest frame count as voiced for the loudness measure.
VOICED_TOP_DB = 40.0


def voiced_rms(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS over the voiced frames of each clip of ``(..., samples)``; 0 for an all-zero clip."""
    y = np.asarray(y, np.float64)
    if y.shape[-1] < frame_length:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, frame_length - y.shape[-1])])
    frames = np.lib.stride_tricks.sliding_window_view(y, frame_length, axis=-1)[..., ::hop_length, :]
    energy = np.mean(np.square(frames), axis=-1)                       # (..., T)
    loudest = energy.max(axis=-1, keepdims=True)
    voiced = energy >= loudest * 10.0 ** (-VOICED_TOP_DB / 10.0)
    mean = np.sum(energy * voiced, axis=-1) / np.maximum(np.sum(voiced, axis=-1), 1)
    return np.sqrt(mean)


def loudness(y: np.ndarray, target_db: float | None, frame_length: int, hop_length: int) -> np.ndarray:
    """``y`` (``(samples,)`` or ``(n, samples)``) with each clip's voiced RMS set to ``target_db`` dBFS;
    ``y`` itself when ``target_db`` is None; an all-zero clip stays zero."""
    y = np.asarray(y, np.float32)
    if target_db is None:
        return y
    level = voiced_rms(y, frame_length, hop_length)
    gain = np.where(level > 0, 10.0 ** (target_db / 20.0) / np.maximum(level, 1e-12), 1.0)
    return (y * gain[..., None]).astype(np.float32)
