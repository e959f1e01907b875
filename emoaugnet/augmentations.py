"""The augmentation transforms and their chains, built from ``augment`` in params.yaml (audiomentations).

| name  | transform                                        | parameters drawn per sample              |
|-------|--------------------------------------------------|------------------------------------------|
| noise | :class:`PeakGaussianNoise` (the paper's rule)     | ``u ~ U(0,1)``, amp = scale * u * peak   |
| pitch | pitch shift, tempo kept (signalsmith stretch)    | ``num_semitones ~ U(min, max)``          |
| slow  | time stretch, rate < 1 (longer output)           | ``rate ~ U(min_rate, max_rate)``         |
| fast  | time stretch, rate > 1 (shorter output)          | ``rate ~ U(min_rate, max_rate)``         |
| shift | ``np.roll`` by an integer number of samples      | ``shift_amount ~ U{-max, ..., max}``     |

Every transform is applied with probability 1; the stretches keep the length they produce (the augment
stage fits the result back to the analysis window). Pitch shift and time stretch run on the Signalsmith
Stretch library (audiomentations' ``signalsmith_stretch`` method, through python-stretch) with its
``cheaper`` preset: about 1.5-2x faster than the default preset and than librosa's phase vocoder, and
still a clean shift/stretch for 2.5 s speech clips (tests/test_augment.py checks f0 and duration).

All randomness comes from Python's ``random`` module, as audiomentations draws it (the noise transform
draws a seed for its Gaussian samples from ``random`` too), so seeding ``random`` right before a chain
(:func:`seed_for`) fixes the whole variant.
"""

from __future__ import annotations

import hashlib
import random
from typing import Mapping

import numpy as np
import python_stretch
from audiomentations import Compose, PitchShift, Shift, TimeStretch
from audiomentations.core.transforms_interface import BaseWaveformTransform
from numpy.typing import NDArray

from emoaugnet.params import AugmentParams

CHEAPER_PRESET = True


class PeakGaussianNoise(BaseWaveformTransform):
    """Add white Gaussian noise whose standard deviation is ``scale * u * peak``, ``u ~ U(0, 1)``.

    The paper's rule (``noise_amp = 0.035 * np.random.uniform() * np.amax(y)``; ``y + noise_amp *
    N(0, 1)``) with the peak taken as ``max |y|`` of the transform's input, so the noise level follows
    the clip's own loudness. None of audiomentations' noise transforms scales by the peak.
    """

    supports_multichannel = True

    def __init__(self, scale: float = 0.035, p: float = 0.5):
        super().__init__(p)
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = scale

    def randomize_parameters(self, samples: NDArray[np.float32], sample_rate: int):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["u"] = random.uniform(0.0, 1.0)
            self.parameters["noise_seed"] = random.getrandbits(64)
            peak = float(np.max(np.abs(samples))) if samples.size else 0.0
            self.parameters["noise_amp"] = self.scale * self.parameters["u"] * peak

    def apply(self, samples: NDArray[np.float32], sample_rate: int) -> NDArray[np.float32]:
        rng = np.random.default_rng(self.parameters["noise_seed"])
        noise = rng.standard_normal(samples.shape, dtype=np.float32)
        return (samples + np.float32(self.parameters["noise_amp"]) * noise).astype(np.float32)


def _signalsmith(samples: NDArray[np.float32], sample_rate: int, *, semitones: float | None = None,
                 rate: float | None = None) -> NDArray[np.float32]:
    """One pass of Signalsmith Stretch (mono or channels-first), preset per :data:`CHEAPER_PRESET`."""
    mono = samples.ndim == 1
    block = np.ascontiguousarray(samples[np.newaxis, :] if mono else samples, dtype=np.float32)
    stretch = python_stretch.Signalsmith.Stretch()
    stretch.preset(block.shape[0], sample_rate, CHEAPER_PRESET)
    if semitones is not None:
        stretch.setTransposeSemitones(semitones)
    if rate is not None:
        stretch.setTimeFactor(rate)
    out = stretch.process(block)
    return out[0] if mono else out


class FastPitchShift(PitchShift):
    """audiomentations' PitchShift (signalsmith_stretch method) on Signalsmith's cheaper preset."""

    def apply(self, samples: NDArray[np.float32], sample_rate: int) -> NDArray[np.float32]:
        return _signalsmith(samples, sample_rate, semitones=self.parameters["num_semitones"])


class FastTimeStretch(TimeStretch):
    """audiomentations' TimeStretch (signalsmith_stretch method, length not kept) on the cheaper preset."""

    def __init__(self, min_rate: float, max_rate: float, p: float = 0.5):
        super().__init__(min_rate=min_rate, max_rate=max_rate, leave_length_unchanged=False,
                         method="signalsmith_stretch", p=p)

    def apply(self, samples: NDArray[np.float32], sample_rate: int) -> NDArray[np.float32]:
        return _signalsmith(samples, sample_rate, rate=self.parameters["rate"])


def make_transform(name: str, settings: Mapping[str, Mapping[str, float]]) -> BaseWaveformTransform:
    """The transform called ``name`` with its settings from ``augment.transforms``, applied always."""
    s = settings[name]
    if name == "noise":
        return PeakGaussianNoise(scale=float(s["scale"]), p=1.0)
    if name == "pitch":
        return FastPitchShift(min_semitones=float(s["min_semitones"]), max_semitones=float(s["max_semitones"]),
                              method="signalsmith_stretch", p=1.0)
    if name in ("slow", "fast"):
        return FastTimeStretch(min_rate=float(s["min_rate"]), max_rate=float(s["max_rate"]), p=1.0)
    if name == "shift":
        n = int(s["max_samples"])
        return Shift(min_shift=-n, max_shift=n, shift_unit="samples", rollover=True, fade_duration=0.0, p=1.0)
    raise ValueError(f"unknown transform {name!r}")


def make_chains(augment: AugmentParams) -> list[Compose | None]:
    """One chain per variant index: ``None`` for variant 0 (the original), then ``augment.variants``."""
    return [None] + [Compose([make_transform(step, augment.transforms) for step in chain], p=1.0)
                     for chain in augment.variants]


def drawn_parameters(chain: Compose | None) -> list[dict]:
    """What each transform of a chain drew on its last call (JSON-ready), e.g. for the shard."""
    if chain is None:
        return []
    return [{"transform": type(t).__name__,
             **{k: (v.item() if isinstance(v, np.generic) else v) for k, v in t.parameters.items()}}
            for t in chain.transforms]


def seed_for(seed: int, utterance: str, variant: int) -> int:
    """A 64-bit seed from (global seed, utterance id, variant index), the same on every machine."""
    digest = hashlib.sha256(utterance.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    state = np.random.SeedSequence([seed, *words, variant]).generate_state(2, dtype=np.uint32)
    return int(state[0]) | (int(state[1]) << 32)


def apply_chain(chain: Compose | None, y: NDArray[np.float32], sample_rate: int,
                seed: int) -> NDArray[np.float32]:
    """Run ``chain`` on ``y`` with both global RNGs (``random``, numpy's legacy one) seeded by ``seed``."""
    if chain is None:
        return y
    random.seed(seed)
    np.random.seed(seed % 2**32)
    return np.asarray(chain(samples=np.asarray(y, dtype=np.float32), sample_rate=sample_rate), dtype=np.float32)
