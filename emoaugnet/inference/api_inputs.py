"""What the Python API accepts, checked at its boundary: paths, sample arrays and rates.

Each check raises :class:`TypeError` (wrong kind of value) or :class:`ValueError` (right kind, wrong
value) with a message that says what to pass instead, before any numpy error can surface, and
:class:`emoaugnet.data.audio.AudioError` (a ValueError naming the array) for audio that cannot be classified
(empty, NaN or infinite samples).

Sample arrays: ``(samples,)`` mono, ``(samples, channels)``, or channels-first ``(channels, samples)``,
recognised when one axis has at most :data:`MAX_CHANNELS` entries and the other more (when both are that
small, the second axis is taken as channels). Sample types: float16/32/64 in [-1, 1] (up to
:data:`FLOAT_MAX_ABS`); int8, int16, int32 PCM, scaled by their range (int16: / 32768, as soundfile
reads a 16-bit file); uint8 PCM (offset 128, as in 8-bit WAV). int64 and the other unsigned types are
refused: numpy gives int64 to any list of Python ints, so such samples say nothing about their scale.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from emoaugnet.data import audio

#: The most channels an axis may hold to be taken as the channel axis (7.1 surround is 8).
MAX_CHANNELS = 8
#: Accepted sample rates (Hz): telephone audio to the highest studio rate.
MIN_RATE, MAX_RATE = 8000, 384000
#: Largest float sample magnitude accepted from an array: 12 dB over full scale. A file's float samples
#: may reach :data:`emoaugnet.data.audio.MAX_ABS` (corrupt data beyond); an array far over 1 is almost always
#: integer PCM values stored as floats, which would be classified as extremely loud audio.
FLOAT_MAX_ABS = 4.0
#: Integer PCM sample types and their full-scale value.
PCM_SCALE = {np.dtype(np.int8): 128.0, np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def paths(value: Any) -> list[str | Path]:
    """A list of paths from one path (str or os.PathLike) or an iterable of them."""
    if isinstance(value, (str, os.PathLike)):
        return [value]
    if isinstance(value, (bytes, bytearray)) or not hasattr(value, "__iter__"):
        raise TypeError(f"expected a path (str or pathlib.Path) or a list of paths; got {type(value).__name__}")
    out = list(value)
    for item in out:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"expected a list of paths (str or pathlib.Path); it holds a {type(item).__name__}: "
                            f"{item!r:.60}")
    return out


def rate(value: Any) -> int:
    """A sample rate in Hz: a whole number from :data:`MIN_RATE` to :data:`MAX_RATE`."""
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok_type:
        raise TypeError(f"rate must be a whole number of samples per second (e.g. 16000); got "
                        f"{type(value).__name__} {value!r:.60}")
    if not (np.isfinite(value) and float(value).is_integer() and MIN_RATE <= value <= MAX_RATE):
        raise ValueError(f"rate is {value!r}: pass the sample rate in Hz as a whole number from {MIN_RATE} to "
                         f"{MAX_RATE} (e.g. 16000 or 44100, not 16 or 44.1)")
    return int(value)


def samples(value: Any, name: str = "<array>") -> np.ndarray:
    """``value`` as float32 ``(samples,)`` or ``(samples, channels)`` audio in [-1, 1] (see the module doc)."""
    if isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name}: samples must be an array of audio samples; got {type(value).__name__}; for a file "
                        f"use predict_file(path)")
    if not isinstance(value, (np.ndarray, list, tuple)) and not hasattr(value, "__array__"):
        raise TypeError(f"{name}: samples must be a numpy array (or list) of audio samples; got "
                        f"{type(value).__name__}")
    try:
        data = np.asarray(value)
    except (ValueError, TypeError) as exc:       # ragged lists
        raise ValueError(f"{name}: samples are not a regular array ({exc}); pass a (samples,) or "
                         f"(samples, channels) array") from None
    kind = data.dtype.kind
    if kind == "c":
        raise TypeError(f"{name}: complex samples ({data.dtype}); audio is real: pass samples.real if the "
                        "imaginary part is zero")
    if kind not in "fiu":
        raise TypeError(f"{name}: samples of type {data.dtype}; pass float samples in [-1, 1] or int16/int32 PCM")
    if data.ndim not in (1, 2):
        raise ValueError(f"{name}: samples of shape {data.shape}; pass (samples,) or (samples, channels)")
    if data.ndim == 2 and data.shape[1] > MAX_CHANNELS:
        if data.shape[0] > MAX_CHANNELS:
            raise ValueError(f"{name}: samples of shape {data.shape}: neither axis is a channel axis (at most "
                             f"{MAX_CHANNELS}); pass (samples,) or (samples, channels)")
        data = data.T                              # channels-first, e.g. (2, N) from torchaudio
    if data.size == 0:
        raise audio.AudioError(name, f"no audio samples: got shape {data.shape}")
    if kind == "f":
        data = data.astype(np.float32, copy=False)
        finite = np.isfinite(data)
        if not finite.all():
            raise audio.AudioError(name, "contains NaN or infinite samples")
        peak = float(np.max(np.abs(data)))
        if peak > FLOAT_MAX_ABS:
            raise ValueError(f"{name}: float samples reach {peak:.4g}, far outside the [-1, 1] range of audio; "
                             "pass integer PCM as its int16/int32 array, or divide it by its full scale (32768 "
                             "for 16-bit) first")
        return data
    if data.dtype in PCM_SCALE:
        return (data.astype(np.float64) / PCM_SCALE[data.dtype]).astype(np.float32)
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    raise TypeError(f"{name}: samples of type {data.dtype} do not say their scale (numpy gives int64 to any list "
                    "of ints); pass float samples in [-1, 1], or int16 / int32 PCM")


def name(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"name must be a str (what results call the audio); got {type(value).__name__}")
    return value
