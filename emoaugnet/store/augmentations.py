"""The augmentation transforms and their chains, built from ``augment`` in params.yaml (audiomentations).

| name  | transform                                        | parameters drawn per sample              |
|-------|--------------------------------------------------|------------------------------------------|
| noise | :class:`PeakGaussianNoise` (the paper's rule)     | ``u ~ U(0,1)``, amp = scale * u * peak   |
| pitch | pitch shift, tempo kept (signalsmith stretch)    | ``num_semitones ~ U(min, max)``          |
| slow  | time stretch, rate < 1 (longer output)           | ``rate ~ U(min_rate, max_rate)``         |
| fast  | time stretch, rate > 1 (shorter output)          | ``rate ~ U(min_rate, max_rate)``         |
| shift | ``np.roll`` by an integer number of samples      | ``shift_amount ~ U{-max, ..., max}``     |

Channel chains (what differs between recording set-ups rather than between utterances; none is
in the default ``augment.variants``, docs/augmentation.md gives their ranges and sources):

| name      | transform                                                   | drawn per sample                         |
|-----------|-------------------------------------------------------------|------------------------------------------|
| reverb    | :class:`SyntheticReverb`: a synthetic room impulse response | ``rt60 ~ U(min, max)``, IR noise seed    |
| telephone | high-pass then low-pass Butterworth at ``low_hz``/``high_hz`` | nothing (fixed 300-3,400 Hz band)      |
| lowpass   | audiomentations LowPassFilter                               | ``cutoff_freq ~ U(min, max)`` (mel scale)|
| highpass  | audiomentations HighPassFilter                              | ``cutoff_freq ~ U(min, max)``            |
| eq        | audiomentations SevenBandParametricEQ                       | seven gains ``~ U(min_gain_db, max)``    |
| gain      | audiomentations Gain                                        | ``gain_db ~ U(min, max)``                |
| clip      | audiomentations ClippingDistortion                          | ``percentile ~ U{min, ..., max}``        |
| mp3       | audiomentations Mp3Compression (fast-mp3-augment, LAME)     | ``bitrate ~ U{min, ..., max}`` kbps      |
| colornoise| audiomentations AddColorNoise                               | ``snr_db``, ``f_decay`` (dB/octave)      |

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
from audiomentations import (AddColorNoise, ClippingDistortion, Compose, Gain, HighPassFilter, LowPassFilter,
                             Mp3Compression, PitchShift, SevenBandParametricEQ, Shift, TimeStretch)
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


class SyntheticReverb(BaseWaveformTransform):
    """Convolve with a synthetic room impulse response: a unit direct path, then an exponentially
    decaying Gaussian tail (Schroeder's statistical model of late reverberation) whose energy falls by
    60 dB in ``rt60`` seconds, starting ``predelay`` s after the direct sound, at ``wet`` times the
    direct path's energy over the whole tail. The output keeps the input's length and peak.

    No room simulator (pyroomacoustics, a compiled dependency) is needed: the tail's noise comes from a
    seed drawn from ``random``, so the response is as deterministic as every other draw here.
    """

    supports_multichannel = False

    def __init__(self, min_rt60: float = 0.2, max_rt60: float = 0.8, wet: float = 1.0,
                 predelay: float = 0.005, p: float = 0.5):
        super().__init__(p)
        if not 0 < min_rt60 <= max_rt60:
            raise ValueError("need 0 < min_rt60 <= max_rt60")
        self.min_rt60, self.max_rt60, self.wet, self.predelay = min_rt60, max_rt60, wet, predelay

    def randomize_parameters(self, samples: NDArray[np.float32], sample_rate: int):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["rt60"] = random.uniform(self.min_rt60, self.max_rt60)
            self.parameters["ir_seed"] = random.getrandbits(64)

    def impulse_response(self, sample_rate: int) -> NDArray[np.float64]:
        rt60 = self.parameters["rt60"]
        length = int(round(rt60 * sample_rate)) + 1
        t = np.arange(length) / sample_rate
        tail = np.random.default_rng(self.parameters["ir_seed"]).standard_normal(length)
        tail *= 10.0 ** (-3.0 * t / rt60)                 # amplitude -60 dB at t = rt60
        tail[: int(round(self.predelay * sample_rate)) + 1] = 0.0
        tail *= np.sqrt(self.wet / max(float(np.sum(tail ** 2)), 1e-12))
        tail[0] = 1.0
        return tail

    def apply(self, samples: NDArray[np.float32], sample_rate: int) -> NDArray[np.float32]:
        from scipy.signal import fftconvolve
        wet = fftconvolve(np.asarray(samples, np.float64), self.impulse_response(sample_rate))[: len(samples)]
        peak_in, peak_out = float(np.max(np.abs(samples))), float(np.max(np.abs(wet)))
        return (wet * (peak_in / peak_out if peak_out > 0 else 1.0)).astype(np.float32)


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
    if name == "reverb":
        return SyntheticReverb(min_rt60=float(s["min_rt60"]), max_rt60=float(s["max_rt60"]), wet=float(s["wet"]), p=1.0)
    if name == "telephone":
        rolloff = int(s["rolloff_db"])
        return Compose([HighPassFilter(min_cutoff_freq=float(s["low_hz"]), max_cutoff_freq=float(s["low_hz"]),
                                       min_rolloff=rolloff, max_rolloff=rolloff, zero_phase=True, p=1.0),
                        LowPassFilter(min_cutoff_freq=float(s["high_hz"]), max_cutoff_freq=float(s["high_hz"]),
                                      min_rolloff=rolloff, max_rolloff=rolloff, zero_phase=True, p=1.0)], p=1.0)
    if name in ("lowpass", "highpass"):
        cls = LowPassFilter if name == "lowpass" else HighPassFilter
        rolloff = int(s["rolloff_db"])
        return cls(min_cutoff_freq=float(s["min_hz"]), max_cutoff_freq=float(s["max_hz"]),
                   min_rolloff=rolloff, max_rolloff=rolloff, zero_phase=True, p=1.0)
    if name == "eq":
        return SevenBandParametricEQ(min_gain_db=float(s["min_gain_db"]), max_gain_db=float(s["max_gain_db"]), p=1.0)
    if name == "gain":
        return Gain(min_gain_db=float(s["min_gain_db"]), max_gain_db=float(s["max_gain_db"]), p=1.0)
    if name == "clip":
        return ClippingDistortion(min_percentile_threshold=int(s["min_percentile"]),
                                  max_percentile_threshold=int(s["max_percentile"]), p=1.0)
    if name == "mp3":
        return Mp3Compression(min_bitrate=int(s["min_kbps"]), max_bitrate=int(s["max_kbps"]),
                              backend="fast-mp3-augment", preserve_delay=False, p=1.0)
    if name == "colornoise":
        return AddColorNoise(min_snr_db=float(s["min_snr_db"]), max_snr_db=float(s["max_snr_db"]),
                             min_f_decay=float(s["min_f_decay"]), max_f_decay=float(s["max_f_decay"]), p=1.0)
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
             **{k: (v.item() if isinstance(v, np.generic) else v) for k, v in t.parameters.items()
                if _json_ready(v)}}
            for t in _leaves(chain.transforms)]


def _leaves(transforms) -> list[BaseWaveformTransform]:
    """The transforms of a chain, a nested Compose (``telephone``) and the EQ's seven filters (whose
    draws the EQ does not keep in its own parameters) opened into their own steps."""
    out = []
    for t in transforms:
        if isinstance(t, Compose):
            out += _leaves(t.transforms)
        elif isinstance(t, SevenBandParametricEQ):
            out += [t, t.low_shelf_filter, *t.peaking_filters, t.high_shelf_filter]
        else:
            out.append(t)
    return out


def _json_ready(value) -> bool:
    """Scalars and lists of scalars; the EQ's filter objects (its sub-filters' draws) are left out."""
    if isinstance(value, (list, tuple)):
        return all(_json_ready(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, np.generic))


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
