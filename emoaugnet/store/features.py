"""Frame-level features of a clip: ZCR, RMS energy and MFCC, as the paper computes them.

A clip of ``audio.num_samples`` gives ``frames x (2 + n_mfcc)`` values (108 x 22 at the defaults):
channel 0 is ZCR, channel 1 is RMS, channels 2.. are MFCC 0..n_mfcc-1 (with ``features.spectrum:
logmel``, the ``n_mels`` log-mel energies in dB instead: the same computation without its last step, the
DCT), then, with ``features.deltas``, their first (and second) time derivatives (:func:`deltas`, librosa's ``feature.delta`` filter). :func:`flatten` turns that into
the paper's 2,376-long input: all ZCR frames, all RMS frames, then MFCC frame by frame.

:func:`extract` calls librosa (what training and evaluation use). :func:`extract_with` computes the same
values with numpy alone from the matrices librosa applies (:func:`constants`: window, mel filterbank,
DCT), which the ONNX export stores beside the model: importing librosa's feature code takes seconds,
and the exported model's runtime starts in well under one (tests/test_onnx.py checks both agree).
"""

from __future__ import annotations

import numpy as np

from emoaugnet.store.loudness import loudness
from emoaugnet.params import FeatureParams


def channel_names(fp: FeatureParams) -> list[str]:
    names = [f"{'mfcc' if fp.spectrum == 'mfcc' else 'mel'}{i}" for i in range(fp.num_bands)]
    return ["zcr", "rms"] + names + [f"d{order}_{name}" for order in range(1, fp.deltas + 1) for name in names]


def deltas(mfcc: np.ndarray, order: int, axis: int) -> list[np.ndarray]:
    """The first ``order`` time derivatives of ``mfcc`` along ``axis``: ``librosa.feature.delta`` (a
    Savitzky-Golay filter of width 9, ``interp`` edges) for each order, through scipy, which both the
    librosa path and the numpy-only path call, so they agree exactly."""
    import scipy.signal
    return [scipy.signal.savgol_filter(mfcc, window_length=9, polyorder=k, deriv=k, axis=axis, mode="interp")
            .astype(mfcc.dtype) for k in range(1, order + 1)]


def extract(y: np.ndarray, sample_rate: int, fp: FeatureParams) -> np.ndarray:
    """Features of one clip ``(samples,)`` or a batch ``(n, samples)``: ``(..., frames, channels)``.

    librosa computes each feature over the last axis, so a batch of clips costs one call per feature.
    """
    y = loudness(y, fp.loudness_db, fp.frame_length, fp.hop_length)   # features.loudness_db; off: y as is
    zcr = zero_crossing_rate(y, fp.frame_length, fp.hop_length)
    import librosa      # here, not at the top: scaler / training use flatten alone (no librosa needed)
    rms = librosa.feature.rms(y=y, frame_length=fp.frame_length, hop_length=fp.hop_length)
    # librosa.feature.mfcc(y=...) clips the dB mel spectrogram at 80 dB below its maximum over the whole
    # array, which for a batch would be the loudest clip's; clip each clip at its own maximum instead,
    # so a clip's features never depend on the other clips in its batch.
    mel = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=fp.frame_length, hop_length=fp.hop_length,
                                         n_mels=fp.n_mels)
    db = librosa.power_to_db(mel, top_db=None)
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80.0)
    # features.spectrum: logmel keeps the dB mel bands themselves ("mfcc" below names either)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=fp.n_mfcc) if fp.spectrum == "mfcc" else db.astype(np.float32)
    # zcr, rms: (..., 1, frames); mfcc and each delta: (..., n_mfcc, frames) -> (..., frames, channels)
    stacked = np.concatenate([zcr, rms, mfcc, *deltas(mfcc, fp.deltas, axis=-1)], axis=-2)
    return np.ascontiguousarray(np.swapaxes(stacked, -1, -2), dtype=np.float32)


def constants(sample_rate: int, fp: FeatureParams, num_frames: int | None = None) -> dict[str, np.ndarray]:
    """The fixed arrays inside librosa's MFCC for these params: the STFT ``window`` (float64, as librosa
    applies it), the ``mel`` filterbank (float32, n_mels x bins) and the orthonormal type-II ``dct``
    matrix (float64, n_mfcc x n_mels; with ``spectrum: logmel`` the identity, n_mels x n_mels: a product
    by it leaves each band's float32 value exact), made by librosa and scipy themselves; with ``features.deltas`` and
    ``num_frames``, each derivative's filter as a ``delta<k>`` matrix over a window's frames."""
    import scipy.fft
    import librosa
    window = np.asarray(librosa.filters.get_window("hann", fp.frame_length, fftbins=True), np.float64)
    mel = librosa.filters.mel(sr=sample_rate, n_fft=fp.frame_length, n_mels=fp.n_mels)
    dct = (scipy.fft.dct(np.eye(mel.shape[0]), type=2, norm="ortho", axis=0)[:fp.n_mfcc] if fp.spectrum == "mfcc"
           else np.eye(mel.shape[0]))
    const = {"window": window, "mel": np.asarray(mel, np.float32), "dct": dct}
    if num_frames is not None:
        # the filter is linear: applied to the identity it gives the (frames x frames) matrix it multiplies by
        identity = np.eye(num_frames)
        const.update({f"delta{k}": d for k, d in enumerate(deltas(identity, fp.deltas, axis=0), start=1)})
    return const


def mel_segments(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filterbank as ``(bins, weights, starts)``: each filter's span from its first to its last
    non-zero bin, concatenated (2,018 weights instead of 131,200 at the defaults)."""
    nonzero = mel != 0
    first = nonzero.argmax(axis=1)
    stop = mel.shape[1] - nonzero[:, ::-1].argmax(axis=1)   # an all-zero filter keeps its whole (zero) row
    bins = np.concatenate([np.arange(a, b) for a, b in zip(first, stop)])
    weights = np.concatenate([mel[m, a:b] for m, (a, b) in enumerate(zip(first, stop))]).astype(np.float32)
    return bins, weights, np.concatenate([[0], np.cumsum(stop - first)[:-1]])


def extract_with(y: np.ndarray, const: dict[str, np.ndarray], fp: FeatureParams,
                 segments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """:func:`extract` with numpy only, given :func:`constants` (and their :func:`mel_segments`, computed
    when not given): centred zero-padded frames, the FFT in float64 cast to complex64 (as
    ``librosa.stft``), power, mel, dB clipped 80 dB under each clip's maximum, DCT; RMS over the same
    frames. Equal to :func:`extract` within float32 rounding. The mel and DCT steps are sums over the
    filters' spans rather than BLAS matrix products: same values, and no BLAS threads, which on a busy
    machine made one clip 5x slower."""
    y = loudness(y, fp.loudness_db, fp.frame_length, fp.hop_length)
    n_fft, hop = fp.frame_length, fp.hop_length
    bins, weights, starts = mel_segments(const["mel"]) if segments is None else segments
    padded = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]  # (..., T, n_fft)
    rms = np.sqrt(np.mean(np.square(frames), axis=-1))
    spectrum = np.fft.rfft(frames * const["window"], axis=-1).astype(np.complex64)
    mel = np.add.reduceat((np.abs(spectrum) ** 2)[..., bins] * weights, starts, axis=-1)   # (..., T, n_mels)
    db = 10.0 * np.log10(np.maximum(mel, np.float32(1e-10)))
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80.0)
    mfcc = np.einsum("...tm,km->...tk", db, const["dct"].astype(np.float32))
    zcr = np.swapaxes(zero_crossing_rate(y, n_fft, hop), -1, -2)            # (..., T, 1)
    operators = [const.get(f"delta{k}") for k in range(1, fp.deltas + 1)]
    if all(d is not None and d.shape == (mfcc.shape[-2],) * 2 for d in operators):     # no SciPy import
        derived = [np.einsum("st,...tk->...sk", d.astype(np.float32), mfcc) for d in operators]
    else:
        derived = deltas(mfcc, fp.deltas, axis=-2)
    stacked = [zcr, rms[..., None], mfcc, *derived]
    return np.ascontiguousarray(np.concatenate(stacked, axis=-1), dtype=np.float32)


def zero_crossing_rate(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """``librosa.feature.zero_crossing_rate(y, frame_length=, hop_length=)``, the same values, faster.

    librosa (centred frames, edge padding, |x| <= 1e-10 counts as +0) tests every sample pair once per
    frame that holds it; here each pair is tested once and counted per frame with a cumulative sum.
    """
    half = frame_length // 2
    padded = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(half, half)], mode="edge")
    negative = np.signbit(np.where(np.abs(padded) <= padded.dtype.type(1e-10), 0, padded))
    crossings = negative[..., 1:] != negative[..., :-1]          # between samples j-1 and j, j >= 1
    counts = np.zeros(padded.shape, np.int64)
    np.cumsum(crossings, axis=-1, out=counts[..., 1:])
    starts = np.arange(1 + (padded.shape[-1] - frame_length) // hop_length) * hop_length
    # librosa ignores the pair before a frame's first sample: count pairs start+1 .. start+frame_length-1
    per_frame = counts[..., starts + frame_length - 1] - counts[..., starts]
    return (per_frame / frame_length)[..., None, :]


def flatten(frames: np.ndarray) -> np.ndarray:
    """``(..., frames, channels)`` -> ``(..., frames * channels)`` in the paper's order."""
    zcr = frames[..., 0]
    rms = frames[..., 1]
    mfcc = frames[..., 2:].reshape(*frames.shape[:-2], -1)  # frame by frame
    return np.concatenate([zcr, rms, mfcc], axis=-1)


def unflatten(flat: np.ndarray, num_frames: int, num_channels: int) -> np.ndarray:
    """Inverse of :func:`flatten`."""
    lead = flat.shape[:-1]
    zcr = flat[..., :num_frames]
    rms = flat[..., num_frames:2 * num_frames]
    mfcc = flat[..., 2 * num_frames:].reshape(*lead, num_frames, num_channels - 2)
    return np.concatenate([zcr[..., None], rms[..., None], mfcc], axis=-1)
