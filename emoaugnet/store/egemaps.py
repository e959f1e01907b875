"""eGeMAPS functionals (openSMILE, ``eGeMAPSv02``: 88 numbers per utterance) of every kept original recording
of a corpus, stored like the feature store so the same splits read them.

Each file of ``<paths.manifests>/<corpus>.csv`` that the label map keeps is read whole with the project's
audio reader (:func:`emoaugnet.data.audio.read`, mono at ``audio.sample_rate``: the rate the network's features
see) and described by openSMILE's eGeMAPS functionals (the ``opensmile`` package, which ships its own
binary). One shard per speaker, ``<paths.egemaps>/<corpus>/speaker_<id>.h5``, in the feature store's format
(:mod:`emoaugnet.store.shards`) with ``features`` of shape ``(n, 1, 88)`` (one "frame" per utterance) and
``variant`` 0, so :func:`emoaugnet.training.splits.make`, the folds and leave-one-corpus-out split them exactly as
they split the network's features. A file that cannot be read stops the stage with its name; shards are
written atomically and stale ones removed only after every new one is written.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emoaugnet.data import audio, manifest

FEATURE_SET = "eGeMAPSv02"
NUM_FUNCTIONALS = 88


@functools.lru_cache(maxsize=1)
def _smile() -> Any:
    import opensmile     # imported here: only the baseline needs it
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def names() -> list[str]:
    """The 88 functionals' names, in openSMILE's order (read without running openSMILE's library)."""
    return list(_smile().feature_names)


#: One openSMILE run at a time in a process: the service classifies on several threads, and openSMILE's
#: shared Smile object makes no promise for concurrent calls.
_LOCK = threading.Lock()


def _functionals(y: np.ndarray, sample_rate: int, source: str) -> np.ndarray:
    import warnings
    with _LOCK, warnings.catch_warnings():      # openSMILE's own notices (a short segment) are not the caller's
        warnings.simplefilter("ignore", UserWarning)
        values = _smile().process_signal(np.asarray(y, np.float32), sample_rate).to_numpy(np.float64).reshape(-1)
    if values.shape != (NUM_FUNCTIONALS,) or not np.all(np.isfinite(values)):
        raise audio.AudioError(source, f"openSMILE gave {values.shape[0]} eGeMAPS values, "
                                       f"{int(np.sum(~np.isfinite(values)))} not finite")
    return values


def _worker(items: list[str | np.ndarray], sample_rate: int) -> list[np.ndarray | tuple[str, str]]:
    """In the openSMILE process: each item's functionals, or (file, reason) for one that failed."""
    out: list[np.ndarray | tuple[str, str]] = []
    for item in items:
        source = "<signal>" if isinstance(item, np.ndarray) else str(item)
        try:
            y = item if isinstance(item, np.ndarray) else audio.read(item, sample_rate)
            out.append(_functionals(y, sample_rate, source))
        except audio.AudioError as exc:
            out.append((exc.path, exc.reason))
    return out


def compute_each(items: Sequence[str | Path | np.ndarray], sample_rate: int) -> list[np.ndarray | tuple[str, str]]:
    """Each item's 88 eGeMAPS functionals (float64), or ``(file, reason)`` for one that cannot be read or
    described: files read whole as the pipeline reads them (mono, ``sample_rate``), or mono signals at
    ``sample_rate``. In a process that has loaded TensorFlow, openSMILE runs in a fresh process of its own
    (its native library corrupts that process's heap); elsewhere (``emoaugnet predict`` with an ONNX model),
    here."""
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    items = [i if isinstance(i, np.ndarray) else str(i) for i in items]
    if not items:
        return []
    if "tensorflow" not in sys.modules:
        return _worker(items, sample_rate)
    from concurrent.futures.process import BrokenProcessPool
    try:
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            return pool.submit(_worker, items, sample_rate).result()
    except BrokenProcessPool as exc:     # e.g. a script without `if __name__ == "__main__":` (spawn runs it again)
        return [("<signal>" if isinstance(i, np.ndarray) else i,
                 f"openSMILE's process stopped ({exc}); a script that starts it needs `if __name__ == "
                 f"\"__main__\":`") for i in items]


def compute(items: Sequence[str | Path | np.ndarray], sample_rate: int) -> np.ndarray:
    """The functionals of every item (:func:`compute_each`), one row each; the first file that cannot be
    read or described raises :class:`emoaugnet.data.audio.AudioError` naming it."""
    results = compute_each(items, sample_rate)
    if not results:
        return np.zeros((0, NUM_FUNCTIONALS))
    for r in results:
        if isinstance(r, tuple):
            raise audio.AudioError(*r)
    return np.stack(results)


def functionals(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """The 88 eGeMAPS functionals of mono signal ``y`` (see :func:`compute`)."""
    return compute([np.asarray(y, np.float32)], sample_rate)[0]


def file_functionals(path: str | Path, sample_rate: int) -> np.ndarray:
    """The functionals of a whole file (see :func:`compute`)."""
    return compute([path], sample_rate)[0]


def extract_corpus(corpus: str, manifest_path: str | Path, out_dir: str | Path, sample_rate: int,
                   classes: Sequence[str]) -> dict[str, Any]:
    """Write one shard per speaker of the corpus's kept recordings; returns counts."""
    from emoaugnet.store import shards     # h5py: the pipeline's; predict computes functionals without it
    if not Path(manifest_path).is_file():
        raise shards.StoreError(f"{manifest_path}: manifest not found (run `dvc repro download@{corpus}` first)")
    rows = [r for r in manifest.read(manifest_path) if r.kept]
    if not rows:
        raise shards.StoreError(f"{manifest_path}: no kept recordings of corpus {corpus!r}")
    values = compute([r.path for r in rows], sample_rate).astype(np.float32)   # one openSMILE process per corpus
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_speaker[r.speaker].append(i)
    out_dir = Path(out_dir)
    written = set()
    for speaker, index in sorted(by_speaker.items()):
        group = [rows[i] for i in index]
        path = out_dir / shards.shard_name(speaker)
        shards.write_shard(path, {
            "features": values[index][:, None, :],
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
