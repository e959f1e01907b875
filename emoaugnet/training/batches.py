"""Training batches with on-the-fly regularisation: mixup, time / channel masking, label smoothing.

Three params change the training samples every epoch instead of once on disk, and a fourth the targets:

- ``train.mixup`` (alpha > 0): each sample is mixed with another of its batch, ``lam * a + (1 - lam) * b``
  for features and one-hot targets alike, ``lam ~ Beta(alpha, alpha)`` per sample (Zhang et al., 2018);
- ``train.time_mask`` / ``train.channel_mask`` (widths > 0): SpecAugment-style masks (Park et al., 2019)
  on the standardised ``(frames, channels)`` features: a band of up to that many consecutive frames, and
  of up to that many consecutive feature channels (ZCR, RMS, MFCC 0-19), set to 0, the training mean;
- ``train.label_smoothing`` (> 0): the cross-entropy's targets move that share towards uniform.

The masks apply before the layout is chosen, so ``flat`` and ``frames`` models see the same masked
values. Every batch's random draws come from ``(seed, epoch, batch)``, so a run is repeatable whatever
order Keras asks for batches in. With all four at 0, :func:`emoaugnet.training.fit.fit` feeds Keras the
arrays as before, with sparse labels, and trains bit for bit as without this module.
"""

from __future__ import annotations

import math

import numpy as np

from emoaugnet.model import backend, scaler  # noqa: F401  (backend first: it quiets TensorFlow's start-up log)
from emoaugnet.params import TrainParams

import keras  # noqa: E402


def active(tp: TrainParams) -> bool:
    """Whether the batches must be made on the fly (mixup or a mask is on)."""
    return tp.mixup > 0 or tp.time_mask > 0 or tp.channel_mask > 0


def one_hot_targets(tp: TrainParams) -> bool:
    """Whether training needs one-hot targets (mixup's soft labels, or label smoothing)."""
    return tp.mixup > 0 or tp.label_smoothing > 0


def mask(z: np.ndarray, time_width: int, channel_width: int, rng: np.random.Generator) -> np.ndarray:
    """``z`` (n, frames, channels) with, per sample, one band of ``0..time_width`` frames and one of
    ``0..channel_width`` channels set to 0 (widths and positions drawn from ``rng``)."""
    n, frames, channels = z.shape
    out = z
    for width, size, axis in ((time_width, frames, 1), (channel_width, channels, 2)):
        if width <= 0:
            continue
        w = rng.integers(0, min(width, size) + 1, n)
        start = rng.integers(0, size - w + 1)
        pos = np.arange(size)
        band = (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + w)[:, None])   # (n, size)
        out = np.where(band[:, :, None] if axis == 1 else band[:, None, :], np.float32(0), out)
    return out.astype(np.float32, copy=False)


def mixup(z: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator,
          weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each sample mixed with a random partner of the batch: ``lam ~ Beta(alpha, alpha)`` per sample, for
    the features, the one-hot targets and the per-sample loss weights (class weighting) alike."""
    lam = rng.beta(alpha, alpha, len(z)).astype(np.float32)
    partner = rng.permutation(len(z))
    mixed = lam[:, None, None] * z + (1 - lam[:, None, None]) * z[partner]
    targets = lam[:, None] * y + (1 - lam[:, None]) * y[partner]
    w = None if weights is None else (lam * weights + (1 - lam) * weights[partner]).astype(np.float32)
    return mixed.astype(np.float32), targets.astype(np.float32), w


class TrainingBatches(keras.utils.PyDataset):
    """Shuffled batches of standardised features with ``tp``'s mixup and masks drawn afresh every epoch.

    ``z``: (n, frames, channels) standardised features; ``targets``: one-hot (n, classes) or sparse (n,);
    ``weights``: per-sample loss weights (class weighting) or None.
    """

    def __init__(self, z: np.ndarray, targets: np.ndarray, weights: np.ndarray | None, tp: TrainParams,
                 layout: str, seed: int):
        super().__init__()
        if tp.mixup > 0 and targets.ndim != 2:
            raise ValueError("mixup needs one-hot targets")
        self.z, self.targets, self.weights = z, targets, weights
        self.tp, self.layout, self.seed = tp, layout, seed
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.z))

    def __len__(self) -> int:
        return math.ceil(len(self.z) / self.tp.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.tp.batch_size:(index + 1) * self.tp.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        z, y = self.z[rows], self.targets[rows]
        w = None if self.weights is None else self.weights[rows]
        z = mask(z, self.tp.time_mask, self.tp.channel_mask, rng)
        if self.tp.mixup > 0:
            z, y, w = mixup(z, y, self.tp.mixup, rng, w)
        x = scaler.layout_inputs(z, self.layout)
        return (x, y) if w is None else (x, y, w)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()
