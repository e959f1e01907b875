"""One utterance's original and augmented variants, drawn from an augment shard (what the model trains on).

:func:`read_variants` reads every variant of one utterance from ``<paths.augmented>/<corpus>/speaker_<id>.h5``
(the int16 waveforms, each variant's chain and what its transforms drew, ``transform_params``);
:func:`variants_figure` draws one panel per variant, its waveform above its log-mel spectrogram, titled
by the chain and the drawn parameters (:func:`describe`). ``emoaugnet show-augment`` (:mod:`emoaugnet.cli`)
writes that figure as a PNG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from matplotlib.figure import Figure

from emoaugnet.store import shards

N_MELS = 64
HOP = 256


@dataclass
class Variants:
    """Every variant of one utterance, in variant order (0 = the original)."""
    utterance: str
    speaker: str
    label: str
    sample_rate: int
    waveforms: np.ndarray            # float32 (variants, samples) in [-1, 1)
    chains: list[str]                # "original", "pitch+noise", ...
    drawn: list[list[dict]]          # per variant: what each transform drew


def read_variants(shard: str | Path, utterance: str | None = None) -> Variants:
    """The variants of ``utterance`` (default: the shard's first) from an augment shard."""
    attrs = shards.read_attrs(shard)            # a clear error when the shard is missing or unreadable
    try:
        with h5py.File(shard, "r") as f:
            names = f["utterance"].asstr()[:]
            if utterance is None:
                utterance = str(names[0])
            rows = np.flatnonzero(names == utterance)
            if not len(rows):
                known = ", ".join(sorted(set(map(str, names)))[:5])
                raise shards.StoreError(f"{shard}: no utterance {utterance!r} (it holds e.g. {known})")
            rows = rows[np.argsort(f["variant"][:][rows], kind="stable")]
            lo, hi = int(rows.min()), int(rows.max()) + 1          # one utterance's rows are contiguous
            waveforms = f["waveform"][lo:hi][rows - lo].astype(np.float32) / 32768.0
            chains = [str(c) for c in f["chain"].asstr()[:][rows]]
            drawn = [json.loads(t) for t in f["transform_params"].asstr()[:][rows]]
            label = int(f["label"][rows[0]])
            speaker = str(f["speaker"].asstr()[rows[0]])
    except shards.StoreError:
        raise
    except (KeyError, OSError, ValueError) as exc:
        raise shards.StoreError(f"{shard}: not a readable augment shard ({type(exc).__name__}: {exc})") from None
    classes = attrs.get("classes") or []
    return Variants(utterance, speaker, classes[label] if label < len(classes) else str(label),
                    int(attrs["sample_rate"]), waveforms, chains, drawn)


def describe(drawn: Sequence[dict], sample_rate: int) -> str:
    """What a chain drew, in words: ``pitch +0.85 st, noise u=0.40``."""
    parts = []
    for step in drawn:
        kind = step.get("transform")
        if kind == "FastPitchShift":
            parts.append(f"pitch {step['num_semitones']:+.2f} st")
        elif kind == "FastTimeStretch":
            parts.append(f"rate x{step['rate']:.3f}")
        elif kind == "Shift":
            n = int(step["shift_amount"])
            parts.append(f"shift {n:+d} ({1000 * n / sample_rate:+.0f} ms)")
        elif kind == "PeakGaussianNoise":
            parts.append(f"noise u={step['u']:.2f} (sd {step['noise_amp']:.1e})")
        else:
            parts.append(str(kind))
    return ", ".join(parts)


def log_mel(waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-mel power (dB, relative to the loudest value of all waveforms): (variants, N_MELS, frames)."""
    import librosa
    power = librosa.feature.melspectrogram(y=np.asarray(waveforms, np.float32), sr=sample_rate, n_fft=1024,
                                           hop_length=HOP, n_mels=N_MELS)
    return librosa.power_to_db(power, ref=float(power.max()) or 1.0, top_db=80.0)


def variants_figure(waveforms: np.ndarray, sample_rate: int, titles: Sequence[str], title: str = "",
                    columns: int = 3) -> Figure:
    """One panel per waveform: the waveform above its log-mel spectrogram, titled ``titles[i]``."""
    waveforms = np.atleast_2d(np.asarray(waveforms, np.float32))
    k = len(waveforms)
    if len(titles) != k:
        raise ValueError(f"{k} waveforms but {len(titles)} titles")
    mel = log_mel(waveforms, sample_rate)
    columns = min(columns, k)
    rows = -(-k // columns)
    fig = Figure(figsize=(4.2 * columns, 2.6 * rows + 0.4), dpi=72, layout="constrained")
    panels = fig.add_gridspec(rows, columns)
    seconds = waveforms.shape[1] / sample_rate
    peak = float(np.max(np.abs(waveforms))) or 1.0
    for i in range(k):
        inner = panels[i // columns, i % columns].subgridspec(2, 1, height_ratios=(1, 2), hspace=0.0)
        wave = fig.add_subplot(inner[0])
        spec = fig.add_subplot(inner[1], sharex=wave)
        wave.plot(np.arange(waveforms.shape[1]) / sample_rate, waveforms[i], linewidth=0.4, color="tab:blue")
        wave.set_ylim(-peak, peak)
        wave.set_yticks([])
        wave.tick_params(labelbottom=False)
        wave.set_title(titles[i], fontsize=8, loc="left")
        spec.imshow(mel[i], origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0,
                    extent=(0, seconds, 0, N_MELS), interpolation="nearest")
        spec.set_yticks([0, N_MELS // 2, N_MELS], ["0", str(N_MELS // 2), str(N_MELS)], fontsize=6)
        spec.tick_params(axis="x", labelsize=6)
        if i % columns == 0:
            spec.set_ylabel("mel band", fontsize=7)
        if i // columns == rows - 1 or i + columns >= k:
            spec.set_xlabel("s", fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def utterance_figure(shard: str | Path, utterance: str | None = None) -> Figure:
    """:func:`variants_figure` of one utterance of an augment shard, panels titled by chain and parameters."""
    v = read_variants(shard, utterance)
    titles = [f"{i} {chain}" + (f": {describe(d, v.sample_rate)}" if d else " (the recording)")
              for i, (chain, d) in enumerate(zip(v.chains, v.drawn))]
    return variants_figure(v.waveforms, v.sample_rate, titles,
                           f"{v.utterance} (speaker {v.speaker}, {v.label}): the original and its "
                           f"{len(v.chains) - 1} augmented variants, as stored in {Path(shard).name}")
