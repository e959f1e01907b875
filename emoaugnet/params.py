"""Load and validate ``params.yaml``: one typed, read-only view of every knob.

Each key is declared once, as a dataclass field whose metadata (:func:`emoaugnet.knobs.knob`) carries
its bounds or allowed values; :func:`emoaugnet.knobs.load_section` walks the fields generically, so a
wrong value stops the pipeline before any work starts with one message naming the key and the values it
accepts. The module is long because it declares every section of params.yaml in one place, the typed
twin of the single source of truth; the generic checking lives in :mod:`emoaugnet.knobs`. Checks that involve
several keys (label maps against ``classes``, the frame against the window, held-out speakers, folds)
follow in :func:`from_dict`, after a key that none of the sections declares (a typo such as
``train.epoch``) has been refused, naming the nearest known key. Params validation stays hand-written
(small, tested, and it names keys and allowed values as a schema library's generic messages do not).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import yaml

from emoaugnet.knobs import ParamsError, check_keys, declared_keys, get, knob, load_section, number

PARAMS_FILE = Path("params.yaml")

PROTOCOLS = ("speaker", "utterance", "paper")
ACTIVATIONS = ("relu", "elu")
LAYOUTS = ("flat", "frames")
NETWORKS = ("table1", "pooling")    # emoaugnet/model/network.py, emoaugnet/model/pooling.py
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
CLASS_WEIGHTS = ("none", "balanced")
BALANCES = ("none", "corpus", "corpus_class")
TRANSFORMS = ("noise", "pitch", "slow", "fast", "shift",
              # channel chains, none of them in the default variants
              "reverb", "telephone", "lowpass", "highpass", "eq", "gain", "clip", "mp3", "colornoise")
WINDOWS = ("fixed", "voiced")           # audio.window: where the analysis window sits (emoaugnet/data/audio.py)
PADS = ("zeros", "reflect", "tile")     # audio.pad: how a clip shorter than the window is filled
FEATURE_NORMS = ("none", "utterance", "corpus", "speaker")   # model.feature_norm (emoaugnet/model/normalisation.py)
SPECTRA = ("mfcc", "logmel")            # features.spectrum: the channels after ZCR and RMS (emoaugnet/store/features.py)

#: New keys whose default is "off": records (shard attributes, model.json) list them only when switched
#: on, so turning none of them on leaves every output byte-identical to one made before they existed.
OFF_VALUES = {"window": "fixed", "pad": "zeros", "top_db": 40.0, "loudness_db": None, "feature_norm": "none",
              "deltas": 0, "network": "table1", "spectrum": "mfcc", "n_mels": 128}


def recorded(section: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A params section as outputs record it: every field but ``exclude`` and the :data:`OFF_VALUES` ones
    that are off (``top_db`` counts only with ``window: voiced``)."""
    from dataclasses import asdict
    out = {k: v for k, v in asdict(section).items() if k not in exclude}
    for key, off in OFF_VALUES.items():
        if key in out and (out[key] == off or key == "top_db" and out.get("window", "fixed") == "fixed"):
            del out[key]
    return out


# --- The sections ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusParams:
    source: str | None = knob()
    label_map: dict[str, str | None] = knob()
    md5: str | None = knob(default=None)


@dataclass(frozen=True)
class PathParams:
    """Where each stage's outputs live, relative to the project root; dvc.yaml reads the same keys."""
    downloads: str = knob()
    raw: str = knob()
    manifests: str = knob()
    augmented: str = knob()
    features: str = knob()
    stage_reports: str = knob()
    models: str = knob()
    export: str = knob()
    live: str = knob()
    reports: str = knob()
    egemaps: str = knob()
    cv: str = knob(default="cv")
    loco: str = knob(default="loco")
    classic: str = knob(default="classic")


@dataclass(frozen=True)
class AudioParams:
    sample_rate: int = knob(low=8000)
    offset: float = knob(low=0)
    duration: float = knob(low=0, low_open=True)
    window: str = knob(choices=WINDOWS, default="fixed")      # fixed: from `offset`; voiced: from the voice
    pad: str = knob(choices=PADS, default="zeros")
    top_db: float = knob(low=0, low_open=True, default=40.0)  # voiced: silence = this far under the peak

    @property
    def num_samples(self) -> int:
        return int(round(self.duration * self.sample_rate))


@dataclass(frozen=True)
class AugmentParams:
    workers: int = knob(low=1)
    transforms: dict[str, dict[str, float]] = knob()
    variants: tuple[tuple[str, ...], ...] = knob()   # each a chain of TRANSFORMS (checked in from_dict)

    def chain_name(self, variant: int) -> str:
        """``original`` for variant 0, else the chain's transforms joined by ``+``."""
        return "original" if variant == 0 else "+".join(self.variants[variant - 1])


@dataclass(frozen=True)
class FeatureParams:
    workers: int = knob(low=1)
    frame_length: int = knob(low=16)
    hop_length: int = knob(low=1)
    n_mfcc: int = knob(low=1)
    loudness_db: float | None = knob(high=0, default=None)   # None: off; else RMS (dBFS) of voiced frames
    deltas: int = knob(low=0, high=2, default=0)              # MFCC deltas appended: 0 none, 1 delta, 2 + delta-delta
    spectrum: str = knob(choices=SPECTRA, default="mfcc")     # mfcc: n_mfcc cepstra | logmel: n_mels bands (dB)
    n_mels: int = knob(low=1, default=128)                    # the mel filterbank's bands (librosa's default)

    @property
    def num_bands(self) -> int:
        """Spectral channels per frame before deltas: the MFCCs, or the log-mel bands themselves."""
        return self.n_mfcc if self.spectrum == "mfcc" else self.n_mels

    @property
    def num_channels(self) -> int:
        return 2 + self.num_bands * (1 + self.deltas)

    def differs_from(self, stored: Any) -> dict[str, Any] | None:
        """The params that decide a store's channels, when ``stored`` (a store's or model's ``features``
        record, off keys absent) was computed with others; ``None`` when they agree or nothing is recorded."""
        keys = ("frame_length", "hop_length", "n_mfcc", "spectrum", "n_mels")
        wanted = {k: getattr(self, k) for k in keys}
        if not isinstance(stored, dict):
            return None
        return None if {k: stored.get(k, OFF_VALUES.get(k)) for k in keys} == wanted else wanted

    def num_frames(self, num_samples: int) -> int:
        """Frames librosa gives a clip of ``num_samples`` with centred framing."""
        return 1 + num_samples // self.hop_length


@dataclass(frozen=True)
class SplitParams:
    protocol: str = knob(choices=PROTOCOLS)
    test_speakers: tuple[str, ...] = knob()
    val_speakers: tuple[str, ...] = knob()
    test_fraction: float = knob(low=0, high=1, low_open=True)
    val_fraction: float = knob(low=0, high=1)
    folds: int = knob(low=2, default=5)          # speaker k-fold cross-validation: emoaugnet/training/folds.py
    fold: int | None = knob(low=0, default=None)
    val_per_fold: int = knob(low=0, default=2)
    train_variants: tuple[int, ...] = knob(low=0, default=())


@dataclass(frozen=True)
class ModelParams:
    input_layout: str = knob(choices=LAYOUTS)
    conv_activation: str = knob(choices=ACTIVATIONS)
    dense_activation: str = knob(choices=ACTIVATIONS)
    conv_dropout: float = knob(low=0, high=0.95)
    lstm_dropout: float = knob(low=0, high=0.95)
    dense_dropout: float = knob(low=0, high=0.95)
    speaker_norm: bool = knob(default=False)      # speaker adaptation: emoaugnet/model/speaker_norm.py
    feature_norm: str = knob(choices=FEATURE_NORMS, default="none")   # emoaugnet/model/normalisation.py
    network: str = knob(choices=NETWORKS, default="table1")   # table1: the paper's Conv1D-LSTM | pooling

    @property
    def normalisation(self) -> str:
        """The feature normalisation in force: ``feature_norm``, or ``speaker`` for ``speaker_norm: true``."""
        return "speaker" if self.speaker_norm and self.feature_norm == "none" else self.feature_norm


@dataclass(frozen=True)
class TrainParams:
    batch_size: int = knob(low=1)
    epochs: int = knob(low=1)
    learning_rate: float = knob(low=0, low_open=True)
    precision: str = knob(choices=PRECISIONS)
    reduce_lr_factor: float = knob(key="reduce_lr.factor", low=0, high=1, low_open=True)
    reduce_lr_patience: int = knob(key="reduce_lr.patience", low=0)
    min_lr: float = knob(key="reduce_lr.min_lr", low=0)
    early_stopping_patience: int = knob(key="early_stopping.patience", low=0)
    class_weight: str = knob(choices=CLASS_WEIGHTS, default="none")
    weight_decay: float = knob(low=0, default=0.0)
    label_smoothing: float = knob(low=0, high=0.5, default=0.0)
    mixup: float = knob(low=0, default=0.0)
    time_mask: int = knob(low=0, default=0)
    channel_mask: int = knob(low=0, default=0)
    balance: str = knob(choices=BALANCES, default="none")    # multi-corpus sample weights: emoaugnet/training/balance.py


@dataclass(frozen=True)
class BaselineParams:
    """The classic baseline (emoaugnet/evaluation/baseline.py): eGeMAPS functionals and an RBF SVM."""
    C: tuple[float, ...] = knob(low=0, low_open=True)
    gamma: tuple[float, ...] = knob(low=0, low_open=True)
    speaker_norm: bool = knob()
    corpora: tuple[str, ...] = knob()           # functionals stored (egemaps@C); [] by default: opt-in
    cross_corpora: tuple[str, ...] = knob()     # scored by the SVM trained on run.corpora (baseline_cross@C)
    cv: tuple[str, ...] = knob(choices=("all",), default=())     # [all]: baseline_cv@all (read by dvc.yaml)
    loco: tuple[str, ...] = knob(choices=("all",), default=())   # [all]: baseline_loco@all (read by dvc.yaml)
    export: tuple[str, ...] = knob(choices=("all",), default=())  # [all]: baseline_export@all (read by dvc.yaml)
    fusion_weight: float = knob(low=0, high=1, default=0.5)     # the network's share of a fused answer


@dataclass(frozen=True)
class Params:
    seed: int = knob(low=0)
    corpora_to_run: tuple[str, ...] = knob(key="run.corpora")
    corpora_to_prepare: tuple[str, ...] = knob(key="data.corpora")
    cross_corpora: tuple[str, ...] = knob(key="evaluate.cross_corpora")
    classes: tuple[str, ...] = knob()
    paths: PathParams = knob()
    audio: AudioParams = knob()
    augment: AugmentParams = knob()
    features: FeatureParams = knob()
    split: SplitParams = knob()
    model: ModelParams = knob()
    train: TrainParams = knob()
    max_bad_fraction: float = knob(key="quality.max_bad_fraction", low=0, high=1)
    baseline: BaselineParams = knob()
    cv_folds: tuple[int, ...] = knob(key="cv.folds", low=0, default=())
    cv_summary: tuple[str, ...] = knob(key="cv.summary", choices=("all",), default=())   # read by dvc.yaml
    loco_corpora: tuple[str, ...] = knob(key="loco.corpora", default=())
    loco_summary: tuple[str, ...] = knob(key="loco.summary", choices=("all",), default=())   # read by dvc.yaml
    scheduler: str = knob(key="store.scheduler", default="local")     # scheduler_target() reads it
    corpora: dict[str, CorpusParams] = field(default_factory=dict)
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


SCHEDULERS = ("local (a process pool here: augment.workers / features.workers)",
              "local-cluster:N (a Dask LocalCluster of N worker processes here)",
              "a Dask scheduler's address (tcp://HOST:PORT)")


def scheduler_target(value: str) -> tuple[str, Any]:
    """Where ``store.scheduler`` runs the augment and features jobs: ``("local", None)``,
    ``("local-cluster", N)`` or ``("address", "tcp://HOST:PORT")`` (tcp, tls, ws, wss, inproc);
    :class:`ParamsError` naming the allowed forms otherwise."""
    text = str(value).strip()
    if text == "local":
        return "local", None
    head, _, count = text.partition(":")
    if head == "local-cluster" and count.isdigit() and int(count) >= 1:
        return "local-cluster", int(count)
    scheme, sep, rest = text.partition("://")
    if sep and scheme in ("tcp", "tls", "ws", "wss", "inproc") and rest:
        return "address", text
    raise ParamsError(f"params: `store.scheduler` is {value!r}; allowed values: {'; '.join(SCHEDULERS)}")


def from_dict(tree: Mapping[str, Any]) -> Params:
    """Validate a parsed params tree and return its typed view."""
    if not isinstance(tree, Mapping):
        raise ParamsError("params: the file must hold a mapping of keys")
    check_keys(tree, known_keys())
    p = load_section(Params, tree, "")
    if len(p.classes) < 2 or len(set(p.classes)) != len(p.classes):
        raise ParamsError("params: `classes` must list at least two distinct class names")
    corpora_tree = get(tree, "corpora")
    if not isinstance(corpora_tree, Mapping) or not corpora_tree:
        raise ParamsError("params: `corpora` must hold one section per corpus (source, label_map)")
    if not p.corpora_to_run:
        raise ParamsError(f"params: `run.corpora` is empty; allowed values: {', '.join(corpora_tree)}")
    _check_corpus_lists(p, corpora_tree)
    _check_loco(p)
    corpora = {str(name): _corpus(section, name, p.classes) for name, section in corpora_tree.items()}
    _check_augment(tree, p.augment)
    scheduler_target(p.scheduler)
    if p.model.speaker_norm and p.model.feature_norm not in ("none", "speaker"):
        raise ParamsError(f"params: `model.speaker_norm: true` and `model.feature_norm: {p.model.feature_norm}` "
                          "ask for two normalisations; set model.speaker_norm: false")
    if p.model.network == "pooling" and p.model.input_layout != "frames":
        raise ParamsError("params: `model.network: pooling` pools over frames; it needs `model.input_layout: frames`")
    if p.features.frame_length > p.audio.num_samples:
        raise ParamsError(
            f"params: `features.frame_length` ({p.features.frame_length} samples) is longer than the "
            f"analysis window `audio.duration` ({p.audio.duration} s = {p.audio.num_samples} samples)")
    sp = p.split
    if sp.fold is not None and sp.protocol != "speaker":
        raise ParamsError(f"params: `split.fold` is {sp.fold}; folds need `split.protocol: speaker` "
                          f"(it is {sp.protocol!r}), or set `split.fold: null`")
    if sp.train_variants and sp.protocol != "speaker":
        raise ParamsError("params: `split.train_variants` is for the speaker protocol only; set it to []")
    for role, fold in [("split.fold", sp.fold)] + [(f"cv.folds[{i}]", f) for i, f in enumerate(p.cv_folds)]:
        if fold is not None and (fold >= sp.folds or p.cv_folds.count(fold) > 1 and role != "split.fold"):
            raise ParamsError(f"params: `{role}` is {fold}; folds are 0..{sp.folds - 1} (`split.folds`), each once")
    if sp.protocol == "speaker" and sp.fold is None:
        # test_speakers: [] is the release split: every speaker but the validation ones trains (no test set;
        # evaluate refuses, the configuration's figures come from cross-validation: docs/release.md)
        overlap = set(sp.test_speakers) & set(sp.val_speakers)
        if overlap:
            raise ParamsError(f"params: speakers {sorted(overlap)} are in both `split.test_speakers` "
                              "and `split.val_speakers`")
    return Params(**{f.name: getattr(p, f.name) for f in fields(Params) if f.name not in ("corpora", "raw")},
                  corpora=corpora, raw=dict(tree))


def known_keys() -> list[str]:
    """Every dotted key params.yaml may hold (``*``: any name), as the sections above declare them."""
    transforms = [f"augment.transforms.{name}.{key}" for name, keys in TRANSFORM_BOUNDS.items() for key in keys]
    return ([k for k in declared_keys(Params) if k != "augment.transforms.*"] + transforms
            + declared_keys(CorpusParams, "corpora.*"))


def _check_corpus_lists(p: Params, known: Mapping[str, Any]) -> None:
    """Known names; cross-corpus scores only for corpora never trained on; every corpus used is prepared."""
    for key, name in ((k, n) for k, names in (("run.corpora", p.corpora_to_run), ("data.corpora", p.corpora_to_prepare),
                      ("evaluate.cross_corpora", p.cross_corpora)) for n in names if n not in known):
        raise ParamsError(f"params: `{key}` names {name!r}; allowed values: {', '.join(known)}")
    if seen := sorted(set(p.cross_corpora) & set(p.corpora_to_run)):
        raise ParamsError(f"params: `evaluate.cross_corpora` names {seen}, which `run.corpora` trains on; a "
                          "cross-corpus score is for corpora the model never saw")
    if unprepared := [c for c in (*p.corpora_to_run, *p.cross_corpora) if c not in p.corpora_to_prepare]:
        raise ParamsError(f"params: `data.corpora` must list every corpus of `run.corpora` and `evaluate.cross_"
                          f"corpora` (dvc.yaml prepares only those); missing {unprepared}: set data.corpora="
                          f"[{','.join(dict.fromkeys((*p.corpora_to_prepare, *unprepared)))}]")


def _check_loco(p: Params) -> None:
    """Leave-one-corpus-out needs at least two distinct, prepared corpora (emoaugnet/evaluation/loco.py); the baseline's
    corpora are prepared, and its cross-corpus scores are for corpora it never trained on."""
    corpora = p.loco_corpora
    bp = p.baseline
    if unprepared := [c for c in (*bp.corpora, *bp.cross_corpora) if c not in p.corpora_to_prepare]:
        raise ParamsError(f"params: `baseline.corpora` / `baseline.cross_corpora` name {unprepared}, which "
                          "`data.corpora` does not prepare")
    if seen := sorted(set(bp.cross_corpora) & set(p.corpora_to_run)):
        raise ParamsError(f"params: `baseline.cross_corpora` names {seen}, which `run.corpora` trains on")
    _check_baseline_runs(p)
    if not corpora:
        return
    if len(corpora) < 2 or len(set(corpora)) != len(corpora):
        raise ParamsError(f"params: `loco.corpora` is {list(corpora)}; it needs at least two distinct corpora "
                          "(each is held out in turn while the others train)")
    if unprepared := [c for c in corpora if c not in p.corpora_to_prepare]:
        raise ParamsError(f"params: `loco.corpora` names {unprepared}, which `data.corpora` does not prepare: "
                          f"set data.corpora=[{','.join(dict.fromkeys((*p.corpora_to_prepare, *unprepared)))}]")


def _check_baseline_runs(p: Params) -> None:
    """`baseline.cv` / `baseline.loco` ([all]) put baseline_cv@all / baseline_loco@all in the DAG: each needs its
    folds or held-out corpora, and the functionals (`baseline.corpora`) of every corpus they read."""
    bp = p.baseline
    runs = {"cv": (p.cv_folds, "cv.folds", p.corpora_to_run), "loco": (p.loco_corpora, "loco.corpora", p.loco_corpora)}
    for name, (asked, key, corpora) in runs.items():
        if not getattr(bp, name):
            continue
        if not asked:
            raise ParamsError(f"params: `baseline.{name}: [all]` scores the baseline on `{key}`, which is empty: "
                              f"set {key} too, or baseline.{name}=[]")
        if missing := [c for c in corpora if c not in bp.corpora]:
            raise ParamsError(f"params: `baseline.{name}: [all]` reads the eGeMAPS functionals of {missing}, which "
                              f"`baseline.corpora` does not store: set baseline.corpora="
                              f"[{','.join(dict.fromkeys((*bp.corpora, *missing)))}]")


def _corpus(tree: Any, name: str, classes: tuple[str, ...]) -> CorpusParams:
    key = f"corpora.{name}"
    cp = load_section(CorpusParams, tree, key)
    if not cp.label_map:
        raise ParamsError(f"params: `{key}.label_map` must map corpus labels to classes")
    for label, target in cp.label_map.items():
        if target is not None and target not in classes:
            raise ParamsError(f"params: `{key}.label_map.{label}` is {target!r}; allowed values: "
                              f"{', '.join(classes)}, or null to drop")
    return CorpusParams(source=cp.source, md5=None if cp.md5 is None else cp.md5.lower(),
                        label_map={str(k): v for k, v in cp.label_map.items()})


#: Bounds of each transform's settings (``augment.transforms.<name>.<key>``).
TRANSFORM_BOUNDS: dict[str, dict[str, dict[str, Any]]] = {
    "noise": {"scale": {"low": 0}},
    "pitch": {"min_semitones": {"low": -12, "high": 12}, "max_semitones": {"low": -12, "high": 12}},
    "slow": {"min_rate": {"low": 0, "high": 1, "low_open": True}, "max_rate": {"low": 0, "high": 1, "low_open": True}},
    "fast": {"min_rate": {"low": 1}, "max_rate": {"low": 1}},
    "shift": {"max_samples": {"low": 0, "integer": True}},
    "reverb": {"min_rt60": {"low": 0, "low_open": True, "high": 3}, "max_rt60": {"low": 0, "low_open": True, "high": 3},
               "wet": {"low": 0}},
    "telephone": {"low_hz": {"low": 0, "low_open": True}, "high_hz": {"low": 0, "low_open": True},
                  "rolloff_db": {"low": 12, "integer": True}},
    "lowpass": {"min_hz": {"low": 0, "low_open": True}, "max_hz": {"low": 0, "low_open": True},
                "rolloff_db": {"low": 12, "integer": True}},
    "highpass": {"min_hz": {"low": 0, "low_open": True}, "max_hz": {"low": 0, "low_open": True},
                 "rolloff_db": {"low": 12, "integer": True}},
    "eq": {"min_gain_db": {"low": -24, "high": 24}, "max_gain_db": {"low": -24, "high": 24}},
    "gain": {"min_gain_db": {"low": -60, "high": 24}, "max_gain_db": {"low": -60, "high": 24}},
    "clip": {"min_percentile": {"low": 0, "high": 100, "integer": True},
             "max_percentile": {"low": 0, "high": 100, "integer": True}},
    "mp3": {"min_kbps": {"low": 8, "high": 320, "integer": True}, "max_kbps": {"low": 8, "high": 320, "integer": True}},
    "colornoise": {"min_snr_db": {}, "max_snr_db": {}, "min_f_decay": {"low": -12, "high": 12},
                   "max_f_decay": {"low": -12, "high": 12}},
}


def _check_augment(tree: Mapping[str, Any], ap: AugmentParams) -> None:
    for i, chain in enumerate(ap.variants):
        for step in chain:
            if step not in TRANSFORMS:
                raise ParamsError(f"params: `augment.variants[{i}]` names {step!r}; "
                                  f"allowed values: {', '.join(TRANSFORMS)}")
    used = {step for chain in ap.variants for step in chain} | set(ap.transforms or {})
    for name, settings in TRANSFORM_BOUNDS.items():
        if name not in used:        # a tree without a chain's settings is fine until a variant names it
            continue
        for key, bounds in settings.items():
            number(get(tree, f"augment.transforms.{name}.{key}"), f"augment.transforms.{name}.{key}",
                    **{"integer": False, **bounds})


def override(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a parsed params tree, as ``dvc exp run -S a.b.c=value`` does; a key the tree
    does not have is a :class:`ParamsError`, not a new key."""
    node = tree
    *parents, last = dotted.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise ParamsError(f"params: {dotted}: no section `{part}`")
        node = node[part]
    if last not in node:
        raise ParamsError(f"params: {dotted}: no key `{last}`")
    node[last] = value


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
