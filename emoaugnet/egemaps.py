"""eGeMAPS functionals (openSMILE, ``eGeMAPSv02``: 88 numbers per utterance) of every kept original recording
of a corpus, stored like the feature store so the same splits read them.

Each file of ``<paths.manifests>/<corpus>.csv`` that the label map keeps is read whole with the project's
audio reader (:func:`emoaugnet.audio.read`, mono at ``audio.sample_rate``: the rate the network's features
see) and described by openSMILE's eGeMAPS functionals (the ``opensmile`` package, which ships its own
binary). One shard per speaker, ``<paths.egemaps>/<corpus>/speaker_<id>.h5``, in the feature store's format
(:mod:`emoaugnet.shards`) with ``features`` of shape ``(n, 1, 88)`` (one "frame" per utterance) and
``variant`` 0, so :func:`emoaugnet.splits.make`, the folds and leave-one-corpus-out split them exactly as
they split the network's features. A file that cannot be read stops the stage with its name; shards are
written atomically and stale ones removed only after every new one is written.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emoaugnet import audio, manifest, shards

FEATURE_SET = "eGeMAPSv02"
NUM_FUNCTIONALS = 88


@functools.lru_cache(maxsize=1)
def _smile() -> Any:
    import opensmile     # imported here: only the baseline needs it
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def names() -> list[str]:
    """The 88 functionals' names, in openSMILE's order."""
    return list(_smile().feature_names)


def functionals(y: np.ndarray, sample_rate: int, source: str | Path = "<signal>") -> np.ndarray:
    """The 88 eGeMAPS functionals of mono signal ``y`` (float64); ``source`` names it in errors."""
    values = _smile().process_signal(np.asarray(y, np.float32), sample_rate).to_numpy(np.float64).reshape(-1)
    if values.shape != (NUM_FUNCTIONALS,) or not np.all(np.isfinite(values)):
        raise audio.AudioError(source, f"openSMILE gave {values.shape[0]} eGeMAPS values, "
                                       f"{int(np.sum(~np.isfinite(values)))} not finite")
    return values


def file_functionals(path: str | Path, sample_rate: int) -> np.ndarray:
    """The functionals of a whole file, read as the pipeline reads it (mono, ``sample_rate``)."""
    return functionals(audio.read(path, sample_rate), sample_rate, path)


def extract_corpus(corpus: str, manifest_path: str | Path, out_dir: str | Path, sample_rate: int,
                   classes: Sequence[str]) -> dict[str, Any]:
    """Write one shard per speaker of the corpus's kept recordings; returns counts."""
    rows = [r for r in manifest.read(manifest_path) if r.kept]
    if not rows:
        raise shards.StoreError(f"{manifest_path}: no kept recordings of corpus {corpus!r}")
    by_speaker: dict[str, list[manifest.Utterance]] = defaultdict(list)
    for r in rows:
        by_speaker[r.speaker].append(r)
    out_dir = Path(out_dir)
    written = set()
    for speaker, group in sorted(by_speaker.items()):
        feats = np.stack([file_functionals(r.path, sample_rate) for r in group]).astype(np.float32)[:, None, :]
        path = out_dir / shards.shard_name(speaker)
        shards.write_shard(path, {
            "features": feats,
            "label": np.array([classes.index(r.label) for r in group], np.int16),
            "utterance": np.array([r.utterance for r in group], object),
            "speaker": np.array([speaker] * len(group), object),
            "variant": np.zeros(len(group), np.int16),
            "chain": np.array(["original"] * len(group), object),
        }, {"corpus": corpus, "speaker": speaker, "classes": list(classes), "sample_rate": sample_rate,
            "feature_set": FEATURE_SET, "channel_names": names(), "num_frames": 1, "num_channels": NUM_FUNCTIONALS})
        written.add(path.name)
    for stale in out_dir.glob("speaker_*.h5"):
        if stale.name not in written:
            stale.unlink()
    return {"corpus": corpus, "recordings": len(rows), "speakers": len(by_speaker)}
