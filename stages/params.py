"""Load and validate ``params.yaml``: one typed, read-only view of every knob.

Every stage calls :func:`load` first, so a wrong value stops the pipeline before any work starts,
with one message naming the key and the values it accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

PARAMS_FILE = Path("params.yaml")

KNOWN_CORPORA = ("ravdess", "iemocap")
PROTOCOLS = ("speaker", "utterance", "paper")
ACTIVATIONS = ("relu", "elu")
LAYOUTS = ("flat", "frames")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
TRANSFORMS = ("noise", "pitch", "slow", "fast", "shift")


class ParamsError(ValueError):
    """A value in params.yaml is missing or not allowed."""


def _get(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ParamsError(f"params: missing key `{dotted}`")
        node = node[part]
    return node


def _choice(tree: Mapping[str, Any], dotted: str, allowed: tuple[str, ...]) -> str:
    value = _get(tree, dotted)
    if value not in allowed:
        raise ParamsError(f"params: `{dotted}` is {value!r}; allowed values: {', '.join(allowed)}")
    return value


def _number(tree: Mapping[str, Any], dotted: str, *, low: float | None = None,
            high: float | None = None, integer: bool = False, low_open: bool = False) -> Any:
    value = _get(tree, dotted)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        raise ParamsError(f"params: `{dotted}` is {value!r}; expected {'an integer' if integer else 'a number'}")
    if low is not None and (value <= low if low_open else value < low):
        raise ParamsError(f"params: `{dotted}` is {value!r}; must be {'>' if low_open else '>='} {low}")
    if high is not None and value > high:
        raise ParamsError(f"params: `{dotted}` is {value!r}; must be <= {high}")
    return value


@dataclass(frozen=True)
class CorpusParams:
    name: str
    source: str | None
    md5: str | None
    label_map: dict[str, str | None]


@dataclass(frozen=True)
class AudioParams:
    sample_rate: int
    offset: float
    duration: float

    @property
    def num_samples(self) -> int:
        return int(round(self.duration * self.sample_rate))


@dataclass(frozen=True)
class AugmentParams:
    workers: int
    transforms: dict[str, dict[str, float]]
    variants: tuple[tuple[str, ...], ...]

    def chain_name(self, variant: int) -> str:
        """``original`` for variant 0, else the chain's transforms joined by ``+``."""
        return "original" if variant == 0 else "+".join(self.variants[variant - 1])


@dataclass(frozen=True)
class FeatureParams:
    workers: int
    frame_length: int
    hop_length: int
    n_mfcc: int

    @property
    def num_channels(self) -> int:
        return 2 + self.n_mfcc

    def num_frames(self, num_samples: int) -> int:
        """Frames librosa gives a clip of ``num_samples`` with centred framing."""
        return 1 + num_samples // self.hop_length


@dataclass(frozen=True)
class SplitParams:
    protocol: str
    test_speakers: tuple[str, ...]
    val_speakers: tuple[str, ...]
    test_fraction: float
    val_fraction: float


@dataclass(frozen=True)
class ModelParams:
    input_layout: str
    conv_activation: str
    dense_activation: str
    conv_dropout: float
    lstm_dropout: float
    dense_dropout: float


@dataclass(frozen=True)
class TrainParams:
    batch_size: int
    epochs: int
    learning_rate: float
    precision: str
    reduce_lr_factor: float
    reduce_lr_patience: int
    min_lr: float
    early_stopping_patience: int


@dataclass(frozen=True)
class PredictParams:
    window: float
    hop: float
    silence_rms: float


@dataclass(frozen=True)
class Params:
    seed: int
    corpora_to_run: tuple[str, ...]
    classes: tuple[str, ...]
    corpora: dict[str, CorpusParams]
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    predict: PredictParams
    max_bad_fraction: float
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.features.num_frames(self.audio.num_samples)

    @property
    def num_variants(self) -> int:
        """Samples per utterance: the original plus each augmented chain."""
        return 1 + len(self.augment.variants)

    def corpus(self, name: str) -> CorpusParams:
        if name not in self.corpora:
            raise ParamsError(f"params: unknown corpus {name!r}; allowed values: {', '.join(self.corpora)}")
        return self.corpora[name]


def _corpus(tree: Mapping[str, Any], name: str, classes: tuple[str, ...]) -> CorpusParams:
    key = f"corpora.{name}"
    label_map = _get(tree, f"{key}.label_map")
    if not isinstance(label_map, Mapping) or not label_map:
        raise ParamsError(f"params: `{key}.label_map` must map corpus labels to classes")
    for label, target in label_map.items():
        if target is not None and target not in classes:
            raise ParamsError(
                f"params: `{key}.label_map.{label}` is {target!r}; allowed values: "
                f"{', '.join(classes)}, or null to drop")
    source = _get(tree, f"{key}.source")
    md5 = tree["corpora"][name].get("md5")
    return CorpusParams(name=name, source=None if source is None else str(source),
                        md5=None if md5 is None else str(md5).lower(),
                        label_map={str(k): v for k, v in label_map.items()})


def from_dict(tree: Mapping[str, Any]) -> Params:
    """Validate a parsed params tree and return its typed view."""
    classes = tuple(_get(tree, "classes"))
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ParamsError("params: `classes` must list at least two distinct class names")

    corpora_to_run = tuple(_get(tree, "run.corpora"))
    if not corpora_to_run:
        raise ParamsError(f"params: `run.corpora` is empty; allowed values: {', '.join(KNOWN_CORPORA)}")
    for name in corpora_to_run:
        if name not in KNOWN_CORPORA:
            raise ParamsError(f"params: `run.corpora` names {name!r}; allowed values: {', '.join(KNOWN_CORPORA)}")
    corpora = {name: _corpus(tree, name, classes) for name in _get(tree, "corpora")
               if name in KNOWN_CORPORA}
    for name in corpora_to_run:
        if name not in corpora:
            raise ParamsError(f"params: `run.corpora` names {name!r} but `corpora.{name}` is missing")

    audio = AudioParams(
        sample_rate=_number(tree, "audio.sample_rate", low=8000, integer=True),
        offset=float(_number(tree, "audio.offset", low=0)),
        duration=float(_number(tree, "audio.duration", low=0, low_open=True)),
    )

    transforms = _get(tree, "augment.transforms")
    for name in TRANSFORMS:
        if name not in transforms:
            raise ParamsError(f"params: missing key `augment.transforms.{name}`")
    variants = []
    for i, chain in enumerate(_get(tree, "augment.variants"), start=1):
        if isinstance(chain, str):
            chain = [chain]
        for step in chain:
            if step not in TRANSFORMS:
                raise ParamsError(f"params: `augment.variants[{i - 1}]` names {step!r}; "
                                  f"allowed values: {', '.join(TRANSFORMS)}")
        variants.append(tuple(chain))
    for bound in ("min", "max"):
        _number(tree, f"augment.transforms.slow.{bound}_rate", low=0, high=1, low_open=True)
        _number(tree, f"augment.transforms.fast.{bound}_rate", low=1)
        _number(tree, f"augment.transforms.pitch.{bound}_semitones", low=-12, high=12)
    _number(tree, "augment.transforms.noise.scale", low=0)
    _number(tree, "augment.transforms.shift.max_samples", low=0, integer=True)
    augment = AugmentParams(
        workers=_number(tree, "augment.workers", low=1, integer=True),
        transforms={k: dict(v) for k, v in transforms.items()},
        variants=tuple(variants),
    )

    features = FeatureParams(
        workers=_number(tree, "features.workers", low=1, integer=True),
        frame_length=_number(tree, "features.frame_length", low=16, integer=True),
        hop_length=_number(tree, "features.hop_length", low=1, integer=True),
        n_mfcc=_number(tree, "features.n_mfcc", low=1, integer=True),
    )
    if features.frame_length > audio.num_samples:
        raise ParamsError(
            f"params: `features.frame_length` ({features.frame_length} samples) is longer than the "
            f"analysis window `audio.duration` ({audio.duration} s = {audio.num_samples} samples)")

    split = SplitParams(
        protocol=_choice(tree, "split.protocol", PROTOCOLS),
        test_speakers=tuple(str(s) for s in _get(tree, "split.test_speakers") or ()),
        val_speakers=tuple(str(s) for s in _get(tree, "split.val_speakers") or ()),
        test_fraction=float(_number(tree, "split.test_fraction", low=0, high=1, low_open=True)),
        val_fraction=float(_number(tree, "split.val_fraction", low=0, high=1)),
    )
    if split.protocol == "speaker":
        if not split.test_speakers:
            raise ParamsError("params: `split.test_speakers` is empty; the speaker protocol needs at least one")
        overlap = set(split.test_speakers) & set(split.val_speakers)
        if overlap:
            raise ParamsError(f"params: speakers {sorted(overlap)} are in both `split.test_speakers` "
                              "and `split.val_speakers`")

    model = ModelParams(
        input_layout=_choice(tree, "model.input_layout", LAYOUTS),
        conv_activation=_choice(tree, "model.conv_activation", ACTIVATIONS),
        dense_activation=_choice(tree, "model.dense_activation", ACTIVATIONS),
        conv_dropout=float(_number(tree, "model.conv_dropout", low=0, high=0.95)),
        lstm_dropout=float(_number(tree, "model.lstm_dropout", low=0, high=0.95)),
        dense_dropout=float(_number(tree, "model.dense_dropout", low=0, high=0.95)),
    )
    train = TrainParams(
        batch_size=_number(tree, "train.batch_size", low=1, integer=True),
        epochs=_number(tree, "train.epochs", low=1, integer=True),
        learning_rate=float(_number(tree, "train.learning_rate", low=0, low_open=True)),
        precision=_choice(tree, "train.precision", PRECISIONS),
        reduce_lr_factor=float(_number(tree, "train.reduce_lr.factor", low=0, high=1, low_open=True)),
        reduce_lr_patience=_number(tree, "train.reduce_lr.patience", low=0, integer=True),
        min_lr=float(_number(tree, "train.reduce_lr.min_lr", low=0)),
        early_stopping_patience=_number(tree, "train.early_stopping.patience", low=0, integer=True),
    )
    predict = PredictParams(
        window=float(_number(tree, "predict.window", low=0, low_open=True)),
        hop=float(_number(tree, "predict.hop", low=0, low_open=True)),
        silence_rms=float(_number(tree, "predict.silence_rms", low=0)),
    )
    if predict.window != audio.duration:
        raise ParamsError(f"params: `predict.window` ({predict.window} s) must equal `audio.duration` "
                          f"({audio.duration} s), the window the model was trained on")

    return Params(
        seed=_number(tree, "seed", low=0, integer=True),
        corpora_to_run=corpora_to_run,
        classes=classes,
        corpora=corpora,
        audio=audio,
        augment=augment,
        features=features,
        split=split,
        model=model,
        train=train,
        predict=predict,
        max_bad_fraction=float(_number(tree, "quality.max_bad_fraction", low=0, high=1)),
        raw=dict(tree),
    )


def load(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate a params file (``params.yaml`` in the working directory by default)."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"params: {path} not found (run from the project root)") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"params: {path} is not valid YAML: {exc}") from None
    if not isinstance(tree, Mapping):
        raise ParamsError(f"params: {path} must hold a mapping of keys")
    return from_dict(tree)
