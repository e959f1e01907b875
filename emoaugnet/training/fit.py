"""Training the Table I network on the training part of a split.

:func:`fit` fits the per-position scaler on the training samples only, then trains with Adam (AdamW
with ``train.weight_decay``), the on-the-fly regularisation of :mod:`emoaugnet.training.batches` when it is on,
ReduceLROnPlateau and EarlyStopping (best weights restored) on validation accuracy (training accuracy
when the split has no validation part). It runs on whichever Keras backend is active
(:mod:`emoaugnet.model.backend`). :func:`train_and_save` adds the feature-store check, DVCLive logging, the
calibration fitted on the validation speakers (:func:`calibrate`) and the model bundle
(:mod:`emoaugnet.model.bundle`); the train stage (:mod:`stages.train`) calls it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emoaugnet.model import backend, bundle, calibration, scaler
from emoaugnet.training import balance, batches, splits
from emoaugnet.model import network as model_mod
from emoaugnet.params import Params, ParamsError

import keras  # noqa: E402  (after emoaugnet.model.backend, which quiets TensorFlow's start-up log)


def check_store(attrs: dict[str, Any], p: Params) -> None:
    """Refuse a feature store computed with other feature params than params.yaml's."""
    stored = attrs.get("features")
    wanted = p.features.differs_from(stored)
    if wanted:
        raise ParamsError(f"feature store was computed with {stored}, params.yaml asks for {wanted}; "
                          "run `dvc repro features` first")
    if tuple(attrs.get("classes", ())) != p.classes:
        raise ParamsError(f"feature store holds classes {attrs.get('classes')}, params.yaml `classes` is "
                          f"{list(p.classes)}; run `dvc repro` first")


class LiveLogger(keras.callbacks.Callback):
    """Log every epoch's metrics with a DVCLive ``Live`` (``dvclive.keras`` would import TensorFlow)."""

    def __init__(self, live: Any):
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from dvclive.utils import standardize_metric_name
        for name, value in (logs or {}).items():    # val_loss -> eval/loss, loss -> train/loss, as dvclive.keras
            self.live.log_metric(standardize_metric_name(name, "dvclive.keras"), float(value))
        self.live.next_step()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.live.end()


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


def class_weights(labels: np.ndarray, num_classes: int) -> dict[int, float]:
    """``n / (classes present * count)`` per class present in ``labels`` (scikit-learn's "balanced")."""
    counts = np.bincount(labels, minlength=num_classes)
    present = np.flatnonzero(counts)
    return {int(c): float(len(labels) / (len(present) * counts[c])) for c in present}


def fit(p: Params, split: splits.Split, precision: str = "float32",
        callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int | str = "auto") -> Trained:
    """Train a fresh model on ``split.train`` (validating on ``split.val`` when it has samples), with
    ``train.*``'s on-the-fly regularisation (:mod:`emoaugnet.training.batches`) when any of it is on."""
    train, tp = split.train, p.train
    num_frames, num_channels = train.features.shape[1:]
    num_classes = len(p.classes)
    mean, scale = scaler.fit_scaler(train.features)
    layout = p.model.input_layout
    one_hot = batches.one_hot_targets(tp)

    def targets(labels: np.ndarray) -> np.ndarray:
        return np.eye(num_classes, dtype=np.float32)[labels] if one_hot else labels

    y = train.label
    weights = class_weights(y, num_classes) if tp.class_weight == "balanced" else None
    has_val = split.val is not None and len(split.val) > 0
    val = (scaler.to_inputs(split.val.features, mean, scale, layout), targets(split.val.label)) if has_val else None
    monitor = "val_accuracy" if has_val else "accuracy"

    keras.utils.set_random_seed(p.seed)
    net = model_mod.build(p.model, num_classes, num_frames, num_channels, precision)
    optimizer = (keras.optimizers.AdamW(learning_rate=tp.learning_rate, weight_decay=tp.weight_decay,
                                        name="adamw") if tp.weight_decay > 0 else
                 keras.optimizers.Adam(learning_rate=tp.learning_rate, name="adam"))
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=tp.label_smoothing) if one_hot else
            "sparse_categorical_crossentropy")
    net.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, mode="max",
                                            patience=tp.early_stopping_patience,
                                            restore_best_weights=True)
    reduce = keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", factor=tp.reduce_lr_factor,
                                               patience=tp.reduce_lr_patience, min_lr=tp.min_lr)
    fit_args = dict(epochs=tp.epochs, validation_data=val, callbacks=[stopper, reduce, *callbacks], verbose=verbose)
    start = time.perf_counter()
    # per-sample weights: corpus / class balance (emoaugnet/training/balance.py) and class weighting, or None
    sample_weights = balance.sample_weights(train.corpus, y, tp)
    if batches.active(tp):
        z = scaler.standardise(train.features, mean, scale)
        history = net.fit(batches.TrainingBatches(z, targets(y), sample_weights, tp, layout, p.seed), **fit_args)
    elif tp.balance == "none":     # class weighting alone: Keras's class_weight, as before train.balance
        history = net.fit(scaler.to_inputs(train.features, mean, scale, layout), targets(y),
                          batch_size=tp.batch_size, shuffle=True, class_weight=weights, **fit_args)
    else:
        history = net.fit(scaler.to_inputs(train.features, mean, scale, layout), targets(y), sample_weight=sample_weights,
                          batch_size=tp.batch_size, shuffle=True, **fit_args)
    seconds = time.perf_counter() - start
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    best = int(np.argmax(hist[monitor])) + 1
    final_lr = float(keras.ops.convert_to_numpy(net.optimizer.learning_rate))
    return Trained(net, mean, scale, precision, hist, monitor, best, seconds, summary={
        "epochs_run": len(hist[monitor]),
        "best_epoch": best,
        "monitor": monitor,
        "best_" + monitor: round(hist[monitor][best - 1], 6),
        "final_learning_rate": float(f"{final_lr:.6g}"),
        "precision": precision,
    })


def calibrate(net: keras.Model, trained: Trained, split: splits.Split, layout: str) -> calibration.Calibration | None:
    """The temperature and "not sure" thresholds fitted on the validation part's predictions
    (:func:`emoaugnet.model.calibration.fit`); ``None`` when the split has no validation part."""
    if split.val is None or len(split.val) == 0:
        return None
    x = scaler.to_inputs(split.val.features, trained.mean, trained.scale, layout)
    probs = np.concatenate([np.asarray(net.predict_on_batch(x[i:i + 256]), np.float32) for i in range(0, len(x), 256)])
    return calibration.fit(probs, split.val.label)


def train_and_save(p: Params, features_dir: str | Path, models_dir: str | Path,
                   live_dir: str | Path | None = None, verbose: int | str = 2,
                   split: splits.Split | None = None) -> Trained:
    """Split (params.yaml's split unless ``split`` is given, as leave-one-corpus-out does), train and save
    the bundle; with ``live_dir``, log each epoch with DVCLive there."""
    precision = backend.resolve_precision(p.train.precision)
    print(f"train: {backend.describe(precision)}", flush=True)
    split = splits.from_params(p, features_dir) if split is None else split
    check_store(split.train.attrs, p)
    print(f"train: protocol {split.protocol}, samples {split.counts()}, layout {p.model.input_layout}, "
          f"conv {p.model.conv_activation}", flush=True)
    callbacks = []
    if live_dir is not None:
        from emoaugnet.training.live import AtomicLive      # dvclive's Live; metrics.json complete or absent
        callbacks.append(LiveLogger(AtomicLive(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)))
    trained = fit(p, split, precision, callbacks, verbose=verbose)
    epochs = trained.summary["epochs_run"]
    print(f"train: {epochs} epochs in {trained.seconds:.1f} s ({trained.seconds / epochs:.1f} s/epoch); "
          f"best epoch {trained.best_epoch} ({trained.monitor} "
          f"{trained.history[trained.monitor][trained.best_epoch - 1]:.4f})", flush=True)
    num_frames, num_channels = split.train.features.shape[1:]
    # Save the weights only (no optimizer state: the bundle is for inference), from a float32 twin.
    export = model_mod.build(p.model, len(p.classes), num_frames, num_channels, "float32")
    export.set_weights(trained.model.get_weights())
    fitted = calibrate(export, trained, split, p.model.input_layout)
    if fitted is not None:
        print(f"train: calibration on {len(split.val)} validation recordings: temperature {fitted.temperature:g}, "
              f"ECE {fitted.fit['ece_before']:.3f} -> {fitted.fit['ece_after']:.3f}; \"not sure\" under "
              f"{fitted.min_probability:g} top probability or {fitted.min_margin:g} lead", flush=True)
    bundle.save(models_dir, export, trained.mean, trained.scale, p.classes, p.model, p.features, p.audio,
                num_frames, num_channels, trained.precision, split=splits.record(p, split),
                training={**trained.summary, "batch_size": p.train.batch_size, "max_epochs": p.train.epochs,
                          "balance": p.train.balance, "class_weight": p.train.class_weight,
                          "learning_rate": p.train.learning_rate,
                          "parameters": int(trained.model.count_params()),
                          "history": {k: [round(v, 6) for v in vals] for k, vals in trained.history.items()}},
                calibration=fitted)
    return trained
