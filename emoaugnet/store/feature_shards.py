"""Feature shards: the frame-level features of every waveform of an augmented shard.

:func:`run` reads the augmented shards ``<in_dir>/speaker_<id>.h5`` and writes one feature shard per
speaker under the same name in ``<out_dir>`` (the features stage, :mod:`stages.features`, uses
``<paths.augmented>/<corpus>`` and ``<paths.features>/<corpus>``); see :func:`feature_speaker`.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from emoaugnet.store import features, shards
from emoaugnet.data.audio import from_int16
from emoaugnet.params import FeatureParams, recorded
from emoaugnet.store.pool import run_jobs

#: Clips per extract() call; fixed (not tied to the worker count) so every run computes the same bits.
BATCH = 16


def feature_attrs(source_attrs: dict, fp: FeatureParams, num_frames: int) -> dict:
    """Attributes of a feature shard: what it holds and every parameter that produced it."""
    keep = ("corpus", "speaker", "classes", "sample_rate", "num_samples", "audio", "seed", "augment")
    attrs = {k: source_attrs[k] for k in keep if k in source_attrs}
    attrs.update({"channel_names": features.channel_names(fp), "num_frames": num_frames,
                  "num_channels": fp.num_channels,
                  "features": recorded(fp, exclude=("workers",))})   # + loudness_db when on
    return attrs


def feature_speaker(source: str | Path, out_dir: str | Path, fp: FeatureParams) -> tuple[Path, int]:
    """Features of every waveform of one augmented shard, written to ``out_dir`` under the same name.

    Datasets: ``features`` (float32, samples x frames x channels, channels in ``channel_names``
    order), ``label``, ``utterance``, ``speaker``, ``variant``, ``chain``; waveforms are read and their
    features written :data:`BATCH` at a time, so memory holds one batch, not the shard (each batch is
    checked for NaN / inf before it is written: a bad one leaves no shard).
    """
    source = Path(source)
    attrs = shards.read_attrs(source)
    sr = int(attrs["sample_rate"])
    path = Path(out_dir) / source.name
    with h5py.File(source, "r") as f, shards.shard_writer(path) as out:
        waves = f["waveform"]
        n, num_samples = waves.shape
        frames = fp.num_frames(num_samples)
        feats = shards.create_dataset(out, "features", (n, frames, fp.num_channels), np.float32)
        for start in range(0, n, BATCH):
            batch = features.extract(from_int16(waves[start:start + BATCH]), sr, fp).astype(np.float32, copy=False)
            shards.check_finite(path, "features", batch)
            feats[start:start + BATCH] = batch
        shards.write_datasets(out, {"label": f["label"][:].astype(np.int16),
                                    "utterance": f["utterance"].asstr()[:].astype(object),
                                    "speaker": f["speaker"].asstr()[:].astype(object),
                                    "variant": f["variant"][:].astype(np.int16),
                                    "chain": f["chain"].asstr()[:].astype(object)})
        shards.write_attrs(out, feature_attrs(attrs, fp, frames))
    return path, n


class _FeatureJob:
    def __init__(self, out_dir: Path, fp: FeatureParams):
        self.out_dir, self.fp = out_dir, fp

    def __call__(self, source: Path) -> tuple[Path, int]:
        return feature_speaker(source, self.out_dir, self.fp)


def run(corpus: str, fp: FeatureParams, in_dir: str | Path, out_dir: str | Path,
        workers: int | None = None, progress: bool = True, scheduler: str = "local") -> dict:
    """Feature shards for every augmented shard in ``in_dir``; stale shards in ``out_dir`` are removed.
    ``scheduler``: ``store.scheduler`` (the local pool of ``workers`` processes, or a Dask cluster)."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    sources = sorted(in_dir.glob("speaker_*.h5"))
    if not sources:
        raise shards.StoreError(f"{in_dir}: no augmented shards (run `dvc repro augment@{corpus}` first)")
    sizes = []
    for source in sources:
        try:
            with h5py.File(source, "r") as f:
                sizes.append(len(f["waveform"]))
        except (OSError, KeyError) as exc:
            raise shards.StoreError(f"{source}: not an augmented shard ({exc})") from None
    shards.remove_leftovers(out_dir)
    results = list(run_jobs(_FeatureJob(out_dir, fp), sources, sizes, workers or fp.workers,
                            desc=f"features {corpus}", unit="clip", progress=progress, scheduler=scheduler))
    shards.remove_leftovers(out_dir)
    written = {path.name for path, _ in results}
    for stale in out_dir.glob("speaker_*.h5"):
        if stale.name not in written:
            stale.unlink()
    return {"corpus": corpus, "shards": len(results), "samples": sum(n for _, n in results)}
