"""The feature scaler: per-position standardisation of the flat (paper-order) feature vector.

Fitted on the training samples only (:func:`fit_scaler`); :func:`to_inputs` applies it and shapes the
result for the model's input layout (``flat``: ``(n, frames*channels, 1)``; ``frames``: ``(n, frames,
channels)``), as :func:`standardise` then :func:`layout_inputs`. Evaluation, inference and training go
through these two (on-the-fly regularisation, :mod:`emoaugnet.training.batches`, masks and mixes in between).
"""

from __future__ import annotations

import numpy as np

from emoaugnet.store import features as feats
from emoaugnet.params import LAYOUTS, ParamsError


def fit_scaler(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of every position of the flat (paper-order) vector, from ``(n, frames, channels)``.

    Computed in float64; a constant position gets scale 1 so it maps to 0 rather than to inf.
    """
    if len(frames) == 0:
        raise ValueError("cannot fit the feature scaler on an empty training set")
    flat = feats.flatten(np.asarray(frames, np.float64))
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    scale = np.where(std > 1e-8, std, 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)


def standardise(frames: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(n, frames, channels)`` features standardised position by position, same shape, float32."""
    frames = np.asarray(frames, np.float32)
    if frames.ndim != 3:
        raise ValueError(f"expected features of shape (n, frames, channels), got {frames.shape}")
    num_frames, num_channels = frames.shape[1:]
    flat = (feats.flatten(frames) - mean) / scale
    if flat.shape[-1] != len(mean):
        raise ValueError(f"features have {flat.shape[-1]} values per sample; the scaler expects {len(mean)}")
    return feats.unflatten(flat, num_frames, num_channels).astype(np.float32, copy=False)


def layout_inputs(z: np.ndarray, layout: str) -> np.ndarray:
    """Standardised ``(n, frames, channels)`` features shaped for the model: ``flat`` is the paper's
    ``(frames*channels, 1)`` vector, ``frames`` the sequence itself."""
    if layout == "flat":
        return np.ascontiguousarray(feats.flatten(z)[..., None], dtype=np.float32)
    if layout not in LAYOUTS:
        raise ParamsError(f"params: `model.input_layout` is {layout!r}; allowed values: {', '.join(LAYOUTS)}")
    return np.ascontiguousarray(z, dtype=np.float32)


def to_inputs(frames: np.ndarray, mean: np.ndarray, scale: np.ndarray, layout: str) -> np.ndarray:
    """Standardise ``(n, frames, channels)`` features and shape them for the model's layout."""
    return layout_inputs(standardise(frames, mean, scale), layout)
