"""Build a small real feature store from the RAVDESS fixtures (4 actors x 16 files) for tests.

Shards have the features stage's format: datasets ``features`` (float32 n x frames x channels),
``label`` (index into params classes), ``utterance``, ``speaker``, ``variant`` (0 = original) and
attributes ``classes`` and ``corpus``. Variants 1.. are cheap stand-ins for augmentation: the clip at
a lower gain plus a little seeded noise, then the real feature extraction.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from emoaugnet.data import audio
from emoaugnet.store import features
from emoaugnet.store import shards as store
from emoaugnet.data.corpora import ravdess
from emoaugnet.data.corpora.ravdess import parse_name
from emoaugnet.data.manifest import Utterance
from emoaugnet.params import Params, from_dict, override

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ravdess"


def params_tree(**overrides: Any) -> dict[str, Any]:
    """params.yaml as a dict with dotted-key overrides, e.g. ``params_tree(**{"split.protocol": "paper"})``."""
    tree = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in overrides.items():
        override(tree, dotted, value)
    return tree


def params(**overrides: Any) -> Params:
    """The validated :class:`Params` of :func:`params_tree`."""
    return from_dict(params_tree(**overrides))


def write_params(path: str | Path, **overrides: Any) -> Path:
    """Write :func:`params_tree` to ``path`` (a params.yaml file); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params_tree(**overrides), sort_keys=False))
    return path


def fixture_rows(folder: Path = FIXTURE, actors: Sequence[int] = (1, 2), per_actor: int = 2) -> list[Utterance]:
    """Kept manifest rows for the fixture files, the first ``per_actor`` of each of ``actors``."""
    p = params()
    wanted = {str(a) for a in actors}
    rows: list[Utterance] = []
    for f in ravdess.scan(folder).files:
        label = p.corpus("ravdess").label_map[f.emotion]
        if f.speaker in wanted and label and sum(r.speaker == f.speaker for r in rows) < per_actor:
            rows.append(Utterance(f.utterance, str(f.source), "ravdess", f.speaker, f.gender, f.emotion,
                                  label, 3.0, p.audio.sample_rate, 1))
    return rows


@functools.lru_cache(maxsize=4)
def _extracted(num_variants: int) -> dict[str, np.ndarray]:
    p = params()
    rows = []
    for path in sorted(FIXTURE.glob("Actor_*/*.flac")):
        actor, emotion = parse_name(path.stem)
        target = p.corpus("ravdess").label_map[emotion]
        if target is not None:
            rows.append((path, path.stem, str(actor), p.classes.index(target)))
    clips = np.stack([audio.load_clip(path, p.audio) for path, *_ in rows])
    rng = np.random.default_rng(0)
    parts = []
    for variant in range(num_variants):
        y = clips if variant == 0 else \
            (clips * (1 - 0.2 * variant) + 0.002 * rng.standard_normal(clips.shape)).astype(np.float32)
        parts.append(features.extract(y, p.audio.sample_rate, p.features))
    n = len(rows)
    return {
        "features": np.concatenate(parts),
        "label": np.tile(np.array([r[3] for r in rows], np.int64), num_variants),
        "utterance": np.tile(np.array([r[1] for r in rows]), num_variants),
        "speaker": np.tile(np.array([r[2] for r in rows]), num_variants),
        "variant": np.repeat(np.arange(num_variants, dtype=np.int64), n),
    }


def build(root: str | Path, num_variants: int = 3, corpus: str = "ravdess") -> Path:
    """Write ``<root>/<corpus>/speaker_<id>.h5`` for the fixture actors; returns ``root``."""
    p = params()
    data = _extracted(num_variants)
    for speaker in sorted(set(data["speaker"]), key=int):
        rows = np.flatnonzero(data["speaker"] == speaker)
        store.write_shard(Path(root) / corpus / store.shard_name(speaker),
                          {name: array[rows] for name, array in data.items()},
                          {"classes": list(p.classes), "corpus": corpus})
    return Path(root)


def functionals_store(src: Path, root: Path, corpus: str = "ravdess") -> Path:
    """A store shaped like the eGeMAPS one (one vector per original recording, ``(n, 1, channels)``) made
    from the feature store ``src``: each original clip's frames averaged."""
    for speaker in store.speakers(src, corpus):
        s = store.load_features(src, [corpus], [speaker])
        s = s.subset(np.flatnonzero(s.variant == 0))
        store.write_shard(root / corpus / store.shard_name(speaker), {
            "features": s.features.mean(axis=1, keepdims=True), "label": s.label, "utterance": s.utterance,
            "speaker": s.speaker, "variant": s.variant}, {"classes": list(s.classes), "corpus": corpus})
    return root


def untrained_bundle(folder: str | Path, fitted_scaler: bool = False, logit_scale: float = 1.0,
                     **overrides: Any) -> Path:
    """A model bundle of params.yaml's network (with ``overrides``, e.g. ``**{"model.input_layout": "frames"}``)
    and its initial, seeded weights: enough to load and predict with, for tests of loading and of bad input,
    not of accuracy. The scaler is zero mean, unit scale, or with ``fitted_scaler`` fitted on the fixtures'
    real features (so the network sees inputs of training's range). ``logit_scale`` multiplies the last
    layer's weights: initial weights give near-uniform probabilities (0.13-0.15), hiding small errors of
    the inputs; x200 spreads them over 0-1 as a trained model's are."""
    import keras

    from emoaugnet.model import bundle, scaler
    from emoaugnet.model import network as model_mod
    p = params(**overrides)
    keras.utils.set_random_seed(0)
    net = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels, "float32")
    last = net.layers[-1]
    last.set_weights([w * logit_scale for w in last.get_weights()])
    size = p.num_frames * p.features.num_channels
    mean, scale = (scaler.fit_scaler(_extracted(1)["features"]) if fitted_scaler
                   else (np.zeros(size, np.float32), np.ones(size, np.float32)))
    bundle.save(folder, net, mean, scale, p.classes, p.model, p.features, p.audio, p.num_frames,
                p.features.num_channels, "float32")
    return Path(folder)
