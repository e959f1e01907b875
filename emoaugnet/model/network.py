"""The paper's network (Table I) as a Keras 3 model, and the input preparation it expects.

``build`` lays out Conv1D 256/5 - MaxPool - BN - Dropout - Conv1D 512/3 - BN - MaxPool - Dropout -
Conv1D 256/3 - BN - MaxPool - LSTM 128 (sequences) - Dropout - LSTM 128 - Dropout - Dense 128 - BN -
Dense 64 - BN - Dense 32 - BN - Dropout - Dense <classes> softmax. With the paper's flat input
(2,376 x 1) and seven classes it has exactly 1,149,511 parameters. The ``frames`` layout feeds the same
layers a 108 x 22 sequence (features as channels).

``python -m emoaugnet summary`` prints the summary for the current params.yaml.
"""

from __future__ import annotations

import numpy as np

from emoaugnet.model import backend  # noqa: F401  (first: it quiets TensorFlow's start-up log)

import keras  # noqa: E402
from keras import layers  # noqa: E402

from emoaugnet.params import LAYOUTS, ModelParams, ParamsError  # noqa: E402

PAPER_PARAMETERS = 1_149_511


def input_shape(layout: str, num_frames: int, num_channels: int) -> tuple[int, int]:
    """Shape of one model input: ``(frames*channels, 1)`` for ``flat``, ``(frames, channels)`` for ``frames``."""
    if layout == "flat":
        return (num_frames * num_channels, 1)
    if layout == "frames":
        return (num_frames, num_channels)
    raise ParamsError(f"params: `model.input_layout` is {layout!r}; allowed values: {', '.join(LAYOUTS)}")


def build(mp: ModelParams, num_classes: int, num_frames: int, num_channels: int,
          precision: str = "float32") -> keras.Model:
    """Table I for ``mp`` (layout, activations, dropout rates), or with ``model.network: pooling`` the
    network of :mod:`emoaugnet.model.pooling`; ``precision`` is a Keras dtype policy.

    The output layer always computes in float32, so the softmax and the loss stay exact under
    ``mixed_bfloat16``. Layer names are fixed, so weight files do not depend on build order.
    """
    dtype = keras.DTypePolicy(precision)
    if mp.network == "pooling":                 # statistics over the window's frames (emoaugnet/model/pooling.py)
        from emoaugnet.model import pooling
        input_shape(mp.input_layout, num_frames, num_channels)
        return pooling.build(mp, num_classes, num_frames, num_channels, dtype)
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

