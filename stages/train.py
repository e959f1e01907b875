"""Stage ``train``: fit the Table I network on the training part of the chosen split.

``python -m stages.train`` reads params.yaml, splits the feature store (``split.protocol``), fits the
per-position scaler on the training samples only, trains with Adam, ReduceLROnPlateau and
EarlyStopping (best weights restored) on validation accuracy, logs every epoch with DVCLive
(``dvclive/``) and writes the model bundle to ``models/`` (see :mod:`stages.bundle`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from stages import bundle, splits, store  # noqa: E402
from stages import model as model_mod  # noqa: E402
from stages.params import Params, ParamsError, load  # noqa: E402

LIVE_DIR = Path("dvclive")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags listed in ``/proc/cpuinfo`` (empty where there is no such file)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            flags.update(line.split(":", 1)[1].split())
    return flags


def resolve_precision(setting: str, flags: set[str] | None = None, gpu: bool | None = None) -> str:
    """``auto`` -> ``mixed_bfloat16`` on a GPU or a CPU with AMX / AVX-512 BF16, else ``float32``."""
    if setting != "auto":
        return setting
    flags = cpu_flags() if flags is None else flags
    gpu = bool(tf.config.list_physical_devices("GPU")) if gpu is None else gpu
    return "mixed_bfloat16" if gpu or any(f in flags for f in BF16_FLAGS) else "float32"


def configure(seed: int, threads: int | None = None) -> int:
    """Seed every generator, ask for deterministic ops and size TF's thread pools to the cores."""
    if not threads:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:
        pass  # TF already initialised (e.g. a second run in one process): keep its pools
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return threads


def check_store(attrs: dict[str, Any], p: Params) -> None:
    """Refuse a feature store computed with other feature params than params.yaml's."""
    stored = attrs.get("features")
    wanted = {"frame_length": p.features.frame_length, "hop_length": p.features.hop_length,
              "n_mfcc": p.features.n_mfcc}
    if isinstance(stored, dict) and {k: stored.get(k) for k in wanted} != wanted:
        raise ParamsError(f"feature store was computed with {stored}, params.yaml asks for {wanted}; "
                          "run `dvc repro features` first")
    if tuple(attrs.get("classes", ())) != p.classes:
        raise ParamsError(f"feature store holds classes {attrs.get('classes')}, params.yaml `classes` is "
                          f"{list(p.classes)}; run `dvc repro` first")


@dataclass
class Trained:
    model: keras.Model
    mean: np.ndarray
    scale: np.ndarray
    precision: str
    history: dict[str, list[float]]
    monitor: str
    best_epoch: int                 # 1-based
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


def fit(p: Params, split: splits.Split, precision: str = "float32",
        callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int | str = "auto") -> Trained:
    """Train a fresh model on ``split.train`` (validating on ``split.val`` when it has samples)."""
    train = split.train
    num_frames, num_channels = train.features.shape[1:]
    mean, scale = model_mod.fit_scaler(train.features)
    layout = p.model.input_layout
    x = model_mod.to_inputs(train.features, mean, scale, layout)
    y = train.label
    has_val = split.val is not None and len(split.val) > 0
    val = (model_mod.to_inputs(split.val.features, mean, scale, layout), split.val.label) if has_val else None
    monitor = "val_accuracy" if has_val else "accuracy"

    keras.utils.set_random_seed(p.seed)
    tf.config.experimental.enable_op_determinism()
    net = model_mod.build(p.model, len(p.classes), num_frames, num_channels, precision)
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=p.train.learning_rate, name="adam"),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, mode="max",
                                            patience=p.train.early_stopping_patience,
                                            restore_best_weights=True)
    reduce = keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", factor=p.train.reduce_lr_factor,
                                               patience=p.train.reduce_lr_patience, min_lr=p.train.min_lr)
    start = time.perf_counter()
    history = net.fit(x, y, batch_size=p.train.batch_size, epochs=p.train.epochs, validation_data=val,
                      shuffle=True, callbacks=[stopper, reduce, *callbacks], verbose=verbose)
    seconds = time.perf_counter() - start
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    best = int(np.argmax(hist[monitor])) + 1
    return Trained(net, mean, scale, precision, hist, monitor, best, seconds, summary={
        "epochs_run": len(hist[monitor]),
        "best_epoch": best,
        "monitor": monitor,
        "best_" + monitor: round(hist[monitor][best - 1], 6),
        "final_learning_rate": float(f"{float(net.optimizer.learning_rate.numpy()):.6g}"),
        "precision": precision,
    })


def split_record(p: Params, split: splits.Split) -> dict[str, Any]:
    """What model.json keeps about the split, so evaluate can rebuild the same test set."""
    return {**asdict(p.split), "test_speakers": list(p.split.test_speakers),
            "val_speakers": list(p.split.val_speakers), "seed": p.seed, "corpora": list(p.corpora_to_run),
            "counts": split.counts(), "overlap": splits.overlap(split), "leakage": split.leakage}


def run(p: Params, features_dir: str | Path = store.FEATURES_DIR, models_dir: str | Path = bundle.MODELS_DIR,
        live_dir: str | Path | None = LIVE_DIR, verbose: int | str = 2) -> Trained:
    """Split, train and save the bundle; with ``live_dir``, log each epoch with DVCLive there."""
    precision = resolve_precision(p.train.precision)
    split = splits.from_params(p, features_dir)
    check_store(split.train.attrs, p)
    print(f"train: protocol {split.protocol}, samples {split.counts()}, layout {p.model.input_layout}, "
          f"conv {p.model.conv_activation}, precision {precision}", flush=True)
    callbacks = []
    if live_dir is not None:
        from dvclive import Live
        from dvclive.keras import DVCLiveCallback
        live = Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
        callbacks.append(DVCLiveCallback(live=live))
    trained = fit(p, split, precision, callbacks, verbose=verbose)
    epochs = trained.summary["epochs_run"]
    print(f"train: {epochs} epochs in {trained.seconds:.1f} s ({trained.seconds / epochs:.1f} s/epoch); "
          f"best epoch {trained.best_epoch} ({trained.monitor} {trained.history[trained.monitor][trained.best_epoch - 1]:.4f})",
          flush=True)
    num_frames, num_channels = split.train.features.shape[1:]
    # Save the weights only (no optimizer state: the bundle is for inference), from a float32 twin.
    export = model_mod.build(p.model, len(p.classes), num_frames, num_channels, "float32")
    export.set_weights(trained.model.get_weights())
    bundle.save(models_dir, export, trained.mean, trained.scale, p.classes, p.model, p.features, p.audio,
                num_frames, num_channels, trained.precision, split=split_record(p, split),
                training={**trained.summary, "batch_size": p.train.batch_size, "max_epochs": p.train.epochs,
                          "learning_rate": p.train.learning_rate,
                          "parameters": int(trained.model.count_params())})
    return trained


def main(argv: Sequence[str] | None = None) -> int:
    try:
        p = load()
        configure(p.seed)
        run(p)
    except (ParamsError, splits.SplitError, store.StoreError, bundle.BundleError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
