"""The paper's network (Table I) as a Keras 3 model, and the input preparation it expects.

``build`` lays out Conv1D 256/5 - MaxPool - BN - Dropout - Conv1D 512/3 - BN - MaxPool - Dropout -
Conv1D 256/3 - BN - MaxPool - LSTM 128 (sequences) - Dropout - LSTM 128 - Dropout - Dense 128 - BN -
Dense 64 - BN - Dense 32 - BN - Dropout - Dense <classes> softmax. With the paper's flat input
(2,376 x 1) and seven classes it has exactly 1,149,511 parameters. The ``frames`` layout feeds the same
layers a 108 x 22 sequence (features as channels).

``python -m stages.model`` prints the summary for the current params.yaml.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from stages import features as feats  # noqa: E402
from stages import params as params_mod  # noqa: E402
from stages.params import ModelParams  # noqa: E402

PAPER_PARAMETERS = 1_149_511


def input_shape(layout: str, num_frames: int, num_channels: int) -> tuple[int, int]:
    """Shape of one model input: ``(frames*channels, 1)`` for ``flat``, ``(frames, channels)`` for ``frames``."""
    if layout == "flat":
        return (num_frames * num_channels, 1)
    if layout == "frames":
        return (num_frames, num_channels)
    raise params_mod.ParamsError(f"params: `model.input_layout` is {layout!r}; allowed values: "
                                 f"{', '.join(params_mod.LAYOUTS)}")


def build(mp: ModelParams, num_classes: int, num_frames: int, num_channels: int,
          precision: str = "float32") -> keras.Model:
    """Table I for ``mp`` (layout, activations, dropout rates); ``precision`` is a Keras dtype policy.

    The output layer always computes in float32, so the softmax and the loss stay exact under
    ``mixed_bfloat16``. Layer names are fixed, so weight files do not depend on build order.
    """
    dtype = keras.DTypePolicy(precision)
    conv, dense = mp.conv_activation, mp.dense_activation
    inputs = keras.Input(shape=input_shape(mp.input_layout, num_frames, num_channels), name="features")
    x = layers.Conv1D(256, 5, padding="same", activation=conv, dtype=dtype, name="conv1")(inputs)
    x = layers.MaxPooling1D(2, dtype=dtype, name="pool1")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn1")(x)
    x = layers.Dropout(mp.conv_dropout, dtype=dtype, name="drop1")(x)
    x = layers.Conv1D(512, 3, padding="same", activation=conv, dtype=dtype, name="conv2")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn2")(x)
    x = layers.MaxPooling1D(2, dtype=dtype, name="pool2")(x)
    x = layers.Dropout(mp.conv_dropout, dtype=dtype, name="drop2")(x)
    x = layers.Conv1D(256, 3, padding="same", activation=conv, dtype=dtype, name="conv3")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn3")(x)
    x = layers.MaxPooling1D(2, dtype=dtype, name="pool3")(x)
    x = layers.LSTM(128, return_sequences=True, dtype=dtype, name="lstm1")(x)
    x = layers.Dropout(mp.lstm_dropout, dtype=dtype, name="drop3")(x)
    x = layers.LSTM(128, dtype=dtype, name="lstm2")(x)
    x = layers.Dropout(mp.lstm_dropout, dtype=dtype, name="drop4")(x)
    x = layers.Dense(128, activation=dense, dtype=dtype, name="dense1")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn4")(x)
    x = layers.Dense(64, activation=dense, dtype=dtype, name="dense2")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn5")(x)
    x = layers.Dense(32, activation=dense, dtype=dtype, name="dense3")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn6")(x)
    x = layers.Dropout(mp.dense_dropout, dtype=dtype, name="drop5")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=f"emoaugnet_{mp.input_layout}_{conv}")


def fit_scaler(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of every position of the flat (paper-order) vector, from ``(n, frames, channels)``.

    Computed in float64; a constant position gets scale 1 so it maps to 0 rather than to inf.
    """
    if len(frames) == 0:
        raise ValueError("cannot fit the feature scaler on an empty training set")
    flat = feats.flatten(np.asarray(frames, np.float64))
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    scale = np.where(std > 1e-8, std, 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)


def to_inputs(frames: np.ndarray, mean: np.ndarray, scale: np.ndarray, layout: str) -> np.ndarray:
    """Standardise ``(n, frames, channels)`` features and shape them for the model's layout."""
    frames = np.asarray(frames, np.float32)
    if frames.ndim != 3:
        raise ValueError(f"expected features of shape (n, frames, channels), got {frames.shape}")
    num_frames, num_channels = frames.shape[1:]
    flat = (feats.flatten(frames) - mean) / scale
    if flat.shape[-1] != len(mean):
        raise ValueError(f"features have {flat.shape[-1]} values per sample; the scaler expects {len(mean)}")
    if layout == "flat":
        return np.ascontiguousarray(flat[..., None], dtype=np.float32)
    input_shape(layout, num_frames, num_channels)  # validates the layout name
    return np.ascontiguousarray(feats.unflatten(flat, num_frames, num_channels), dtype=np.float32)


def summary_lines(model: keras.Model) -> list[str]:
    """A plain-text layer table (Keras's own summary is cut to the terminal width when piped)."""
    rows = [("layer", "type", "output shape", "params")]
    for layer in model.layers:
        shape = tuple(layer.output.shape) if hasattr(layer, "output") else ()
        rows.append((layer.name, type(layer).__name__, str(shape), f"{layer.count_params():,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"Model: {model.name}"]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    lines.append(f"total parameters: {model.count_params():,} (trainable {trainable:,}, "
                 f"non-trainable {model.count_params() - trainable:,})")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    p = params_mod.load()
    model = build(p.model, len(p.classes), p.num_frames, p.features.num_channels)
    for line in summary_lines(model):
        print(line)
    print(f"input layout: {p.model.input_layout} {input_shape(p.model.input_layout, p.num_frames, p.features.num_channels)}; "
          f"conv activation: {p.model.conv_activation}; dense activation: {p.model.dense_activation}; "
          f"precision: {p.train.precision}")


if __name__ == "__main__":
    main()
