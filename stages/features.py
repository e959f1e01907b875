"""Frame-level features of a clip: ZCR, RMS energy and MFCC, as the paper computes them.

A clip of ``audio.num_samples`` gives ``frames x (2 + n_mfcc)`` values (108 x 22 at the defaults):
channel 0 is ZCR, channel 1 is RMS, channels 2.. are MFCC 0..n_mfcc-1. :func:`flatten` turns that into
the paper's 2,376-long input: all ZCR frames, all RMS frames, then MFCC frame by frame.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import h5py
import librosa
import numpy as np

from stages import store
from stages.audio import from_int16
from stages.params import FeatureParams, ParamsError, load
from stages.pool import run_jobs


def channel_names(fp: FeatureParams) -> list[str]:
    return ["zcr", "rms"] + [f"mfcc{i}" for i in range(fp.n_mfcc)]


def extract(y: np.ndarray, sample_rate: int, fp: FeatureParams) -> np.ndarray:
    """Features of one clip ``(samples,)`` or a batch ``(n, samples)``: ``(..., frames, channels)``.

    librosa computes each feature over the last axis, so a batch of clips costs one call per feature.
    """
    y = np.asarray(y, dtype=np.float32)
    zcr = zero_crossing_rate(y, fp.frame_length, fp.hop_length)
    rms = librosa.feature.rms(y=y, frame_length=fp.frame_length, hop_length=fp.hop_length)
    # librosa.feature.mfcc(y=...) clips the dB mel spectrogram at 80 dB below its maximum over the whole
    # array, which for a batch would be the loudest clip's; clip each clip at its own maximum instead,
    # so a clip's features never depend on the other clips in its batch.
    mel = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=fp.frame_length, hop_length=fp.hop_length)
    db = librosa.power_to_db(mel, top_db=None)
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80.0)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=fp.n_mfcc)
    # zcr, rms: (..., 1, frames); mfcc: (..., n_mfcc, frames) -> (..., frames, 2 + n_mfcc)
    stacked = np.concatenate([zcr, rms, mfcc], axis=-2)
    return np.ascontiguousarray(np.swapaxes(stacked, -1, -2), dtype=np.float32)


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


# --- Stage: ``python -m stages.features <corpus>`` -------------------------------------------------
# Reads the augmented shards data/augmented/<corpus>/speaker_<id>.h5 and writes one feature shard per
# speaker, data/features/<corpus>/speaker_<id>.h5 (see the docstring of :func:`feature_speaker`).

#: Clips per extract() call; fixed (not tied to the worker count) so every run computes the same bits.
BATCH = 16


def feature_attrs(source_attrs: dict, fp: FeatureParams, num_frames: int) -> dict:
    """Attributes of a feature shard: what it holds and every parameter that produced it."""
    keep = ("corpus", "speaker", "classes", "sample_rate", "num_samples", "audio", "seed", "augment")
    attrs = {k: source_attrs[k] for k in keep if k in source_attrs}
    attrs.update({"channel_names": channel_names(fp), "num_frames": num_frames,
                  "num_channels": fp.num_channels,
                  "features": {"frame_length": fp.frame_length, "hop_length": fp.hop_length,
                               "n_mfcc": fp.n_mfcc}})
    return attrs


def feature_speaker(source: str | Path, out_dir: str | Path, fp: FeatureParams) -> tuple[Path, int]:
    """Features of every waveform of one augmented shard, written to ``out_dir`` under the same name.

    Datasets: ``features`` (float32, samples x frames x channels, channels in ``channel_names``
    order), ``label``, ``utterance``, ``speaker``, ``variant``, ``chain``; waveforms are read
    :data:`BATCH` at a time, so memory holds one shard's features, not its waveforms.
    """
    source = Path(source)
    attrs = store.read_attrs(source)
    sr = int(attrs["sample_rate"])
    with h5py.File(source, "r") as f:
        waves = f["waveform"]
        n, num_samples = waves.shape
        frames = fp.num_frames(num_samples)
        out = np.empty((n, frames, fp.num_channels), np.float32)
        for start in range(0, n, BATCH):
            out[start:start + BATCH] = extract(from_int16(waves[start:start + BATCH]), sr, fp)
        arrays = {"features": out,
                  "label": f["label"][:].astype(np.int16),
                  "utterance": f["utterance"].asstr()[:].astype(object),
                  "speaker": f["speaker"].asstr()[:].astype(object),
                  "variant": f["variant"][:].astype(np.int16),
                  "chain": f["chain"].asstr()[:].astype(object)}
    path = Path(out_dir) / source.name
    store.write_shard(path, arrays, feature_attrs(attrs, fp, frames))
    return path, n


class _FeatureJob:
    def __init__(self, out_dir: Path, fp: FeatureParams):
        self.out_dir, self.fp = out_dir, fp

    def __call__(self, source: Path) -> tuple[Path, int]:
        return feature_speaker(source, self.out_dir, self.fp)


def run(corpus: str, fp: FeatureParams, in_dir: str | Path | None = None, out_dir: str | Path | None = None,
        workers: int | None = None, progress: bool = True) -> dict:
    """Feature shards for every augmented shard of ``corpus``; stale shards in ``out_dir`` are removed."""
    in_dir = Path(in_dir or store.AUGMENTED_DIR / corpus)
    out_dir = Path(out_dir or store.FEATURES_DIR / corpus)
    sources = sorted(in_dir.glob("speaker_*.h5"))
    if not sources:
        raise store.StoreError(f"{in_dir}: no augmented shards (run `dvc repro augment@{corpus}` first)")
    sizes = []
    for source in sources:
        try:
            with h5py.File(source, "r") as f:
                sizes.append(len(f["waveform"]))
        except (OSError, KeyError) as exc:
            raise store.StoreError(f"{source}: not an augmented shard ({exc})") from None
    for leftover in out_dir.glob(".tmp-speaker_*"):     # left by a killed run (SIGKILL skips cleanup)
        leftover.unlink()
    results = list(run_jobs(_FeatureJob(out_dir, fp), sources, sizes, workers or fp.workers,
                            desc=f"features {corpus}", unit="clip", progress=progress))
    written = {path.name for path, _ in results}
    for stale in out_dir.glob("speaker_*.h5"):
        if stale.name not in written:
            stale.unlink()
    return {"corpus": corpus, "shards": len(results), "samples": sum(n for _, n in results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.features",
                                     description="Frame-level features of every augmented sample.")
    parser.add_argument("corpus", help="corpus name from run.corpora, e.g. ravdess")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: features.workers)")
    args = parser.parse_args(argv)
    try:
        params = load()
        params.corpus(args.corpus)
        summary = run(args.corpus, params.features, workers=args.workers)
    except (ParamsError, store.StoreError) as exc:
        print(f"features: {exc}", file=sys.stderr)
        return 1
    print(f"features {args.corpus}: {summary['samples']} samples in {summary['shards']} shards")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
