"""The offline stores: HDF5 shards of augmented waveforms and of frame-level features.

One shard per speaker (``<paths.augmented>/<corpus>/speaker_<id>.h5`` for waveforms,
``<paths.features>/<corpus>/speaker_<id>.h5`` for features), so a speaker-independent split reads
only the speakers it needs. Shards are written to a temporary name and renamed when complete, with no
timestamps inside, so the same inputs give byte-identical files. Nothing here unpickles anything.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import h5py
import numpy as np

from emoaugnet.atomic import atomic_path
from emoaugnet.errors import EmoAugNetError

_STR = h5py.string_dtype("utf-8")


class StoreError(EmoAugNetError, ValueError):
    """A shard is missing, malformed or would hold invalid values."""


def shard_name(speaker: str) -> str:
    """File name of a speaker's shard (speaker ids are kept readable but made path-safe)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", speaker) or speaker.startswith("."):
        raise StoreError(f"speaker id {speaker!r} cannot name a shard file")
    return f"speaker_{speaker}.h5"


def write_shard(path: str | Path, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> None:
    """Write datasets and attributes to ``path`` atomically and deterministically.

    String arrays are stored as UTF-8; every floating array must be finite (checked here, so no NaN or
    inf ever reaches a shard). Attributes that are not plain scalars/strings are stored as JSON.
    """
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise StoreError(f"{path}: datasets have different lengths {lengths}")
    for name, array in arrays.items():
        check_finite(path, name, np.asarray(array))
    with shard_writer(path) as f:
        write_datasets(f, arrays)
        write_attrs(f, attrs)


def check_finite(path: str | Path, name: str, array: np.ndarray) -> None:
    """Refuse NaN or inf in a floating array bound for dataset ``name`` of shard ``path``."""
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array).reshape(len(array), -1).all(axis=1)))
        raise StoreError(f"{path}: dataset `{name}` has NaN or inf values in {bad} samples; shard not written")


@contextlib.contextmanager
def shard_writer(path: str | Path) -> Iterator[h5py.File]:
    """An HDF5 file open for writing under a temporary name, renamed to ``path`` when the block ends
    without error (see :func:`emoaugnet.atomic.atomic_path`). For shards written piece by piece: create
    a dataset with its final shape, fill it in slices, then :func:`write_datasets` and
    :func:`write_attrs`; done in :func:`write_shard`'s order, the file is byte-identical to its."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=False) as f:
            yield f


def remove_leftovers(out_dir: str | Path) -> None:
    """Remove the ``.tmp-speaker_*`` files a killed job left in ``out_dir`` (SIGKILL skips the cleanup of
    :func:`shard_writer`): before a stage's jobs start, and after they end (a job rerun elsewhere after its
    worker died leaves the dead attempt's file)."""
    for leftover in Path(out_dir).glob(".tmp-speaker_*"):
        leftover.unlink(missing_ok=True)


def create_dataset(f: h5py.File, name: str, shape: tuple[int, ...], dtype: Any) -> h5py.Dataset:
    """An empty dataset laid out as :func:`write_datasets` lays out one created from data."""
    return f.create_dataset(name, shape=shape, dtype=dtype, track_times=False)


def write_datasets(f: h5py.File, arrays: Mapping[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype.kind in "UO":
            f.create_dataset(name, data=array.astype(object), dtype=_STR, track_times=False)
        else:
            f.create_dataset(name, data=array, track_times=False)


def write_attrs(f: h5py.File, attrs: Mapping[str, Any]) -> None:
    for key, value in attrs.items():
        f.attrs[key] = value if isinstance(value, (str, int, float, np.integer, np.floating)) \
            else json.dumps(value, sort_keys=True)


def read_attrs(path: str | Path) -> dict[str, Any]:
    with _open(path) as f:
        return {k: _attr(v) for k, v in f.attrs.items()}


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value.item() if isinstance(value, np.generic) else value


def _open(path: str | Path) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: shard not found (run `dvc repro` or `dvc pull` first)")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(f"{path}: not a readable HDF5 shard ({exc})") from None


def shards(root: str | Path, corpora: Iterable[str]) -> list[Path]:
    """All shard files of the given corpora under ``root``, in a stable order."""
    found = []
    for corpus in corpora:
        folder = Path(root) / corpus
        paths = sorted(folder.glob("speaker_*.h5"))
        if not paths:
            raise StoreError(f"{folder}: no shards (run the features stage for corpus {corpus!r})")
        found += paths
    return found


def speakers(root: str | Path, corpus: str) -> list[str]:
    return [p.stem[len("speaker_"):] for p in shards(root, [corpus])]


@dataclass
class Samples:
    """Samples read from feature shards, row-aligned."""
    features: np.ndarray     # float32 (n, frames, channels)
    label: np.ndarray        # int64 index into classes
    utterance: np.ndarray    # str
    speaker: np.ndarray      # str
    variant: np.ndarray      # int64, 0 = original recording
    corpus: np.ndarray       # str
    classes: tuple[str, ...]
    attrs: dict[str, Any]

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, index: np.ndarray) -> "Samples":
        return Samples(self.features[index], self.label[index], self.utterance[index],
                       self.speaker[index], self.variant[index], self.corpus[index],
                       self.classes, self.attrs)


def concat(parts: list[Samples]) -> Samples:
    """One :class:`Samples` of several (e.g. one per corpus); their class lists must agree."""
    if not parts:
        raise StoreError("no samples to join")
    for other in parts[1:]:
        if other.classes != parts[0].classes:
            raise StoreError(f"corpus {other.corpus[:1]} has classes {other.classes}, others {parts[0].classes}")
    if len(parts) == 1:
        return parts[0]
    names = ("features", "label", "utterance", "speaker", "variant", "corpus")
    return Samples(**{n: np.concatenate([getattr(s, n) for s in parts]) for n in names},
                   classes=parts[0].classes, attrs=parts[0].attrs)


def load_features(root: str | Path, corpora: Iterable[str] = ("ravdess",),
                  speakers: Iterable[str] | None = None,
                  variants: Iterable[int] | None = None) -> Samples:
    """Read the samples of the chosen corpora, speakers and variants; other shards are not opened."""
    wanted_speakers = None if speakers is None else {str(s) for s in speakers}
    wanted_variants = None if variants is None else np.array(sorted(set(variants)))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("features", "label", "utterance", "speaker",
                                                         "variant", "corpus")}
    classes: tuple[str, ...] | None = None
    attrs: dict[str, Any] = {}
    for path in shards(root, list(corpora)):
        if wanted_speakers is not None and path.stem[len("speaker_"):] not in wanted_speakers:
            continue
        with _open(path) as f:
            try:
                shard_attrs = {k: _attr(v) for k, v in f.attrs.items()}
                shard_classes = shard_attrs["classes"]
                if not isinstance(shard_classes, list) or not all(isinstance(c, str) for c in shard_classes):
                    raise TypeError(f"attribute `classes` is {repr(shard_classes)[:60]}, not a list of names")
                shard_classes = tuple(shard_classes)
                if classes is None:
                    classes, attrs = shard_classes, shard_attrs
                elif shard_classes != classes:
                    raise StoreError(f"{path}: classes {shard_classes} differ from other shards' {classes}")
                variant = f["variant"][:]
                rows = np.ones(len(variant), bool) if wanted_variants is None else np.isin(variant, wanted_variants)
                index = np.flatnonzero(rows)
                parts["features"].append(f["features"][index] if len(index) else
                                         np.zeros((0, *f["features"].shape[1:]), np.float32))
                label = f["label"][:][index].astype(np.int64)
                if label.size and (label.min() < 0 or label.max() >= len(shard_classes)):
                    raise ValueError(f"labels {label.min()}..{label.max()} outside the {len(shard_classes)} classes")
                parts["label"].append(label)
                parts["utterance"].append(f["utterance"].asstr()[:][index].astype(str))
                parts["speaker"].append(f["speaker"].asstr()[:][index].astype(str))
                parts["variant"].append(variant[index].astype(np.int64))
                parts["corpus"].append(np.full(len(index), str(shard_attrs["corpus"]), dtype=object).astype(str))
            except (KeyError, TypeError, ValueError) as exc:   # a dataset/attribute missing or of the wrong type
                raise StoreError(f"{path}: not a valid feature shard ({type(exc).__name__}: {exc})") from None
    if classes is None:
        raise StoreError(f"{root}: no shard matches speakers {sorted(wanted_speakers or [])}")
    return Samples(**{k: np.concatenate(v) for k, v in parts.items()}, classes=classes, attrs=attrs)
