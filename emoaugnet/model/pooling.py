"""``model.network: pooling``: a window's frames encoded, then pooled into utterance-level statistics.

The classic tools win on unseen speakers with statistics over a whole utterance (the eGeMAPS functionals:
means, deviations, percentiles of frame-level descriptors), not with the order of its frames. This network
keeps that shape and learns the descriptors: two Conv1D layers encode each frame with its neighbours,
attentive statistics pooling (Okabe et al., Interspeech 2018) gives the weighted mean and standard
deviation of every encoded channel over the window, where the weights are learnt (a padded or silent frame
can get none), and two Dense layers classify. It reads the same ``frames x channels`` input as Table I's
``frames`` layout, from the same feature store, and exports to ONNX through the same path.

At the defaults (22 channels, seven classes) it has about 100,000 parameters, a tenth of Table I's, and
an epoch takes a fraction of the Conv1D-LSTM's.
"""

from __future__ import annotations

from emoaugnet.model import backend  # noqa: F401  (first: it quiets TensorFlow's start-up log)

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from emoaugnet.params import ModelParams  # noqa: E402

ENCODER_WIDTH = 128
ATTENTION_WIDTH = 64
HIDDEN = 128


@keras.saving.register_keras_serializable(package="emoaugnet")
class AttentiveStatsPooling(layers.Layer):
    """``(batch, frames, channels)`` -> ``(batch, 2 * channels)``: the mean and standard deviation of each
    channel over the frames, each frame weighted by a softmax over learnt scores (a one-hidden-layer MLP
    of the frame). The variance is floored at ``eps`` before the square root, so its gradient stays finite
    when every weight sits on one frame."""

    def __init__(self, hidden: int = ATTENTION_WIDTH, eps: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.eps = hidden, eps
        self.score_hidden = layers.Dense(hidden, activation="tanh", name="score_hidden", dtype=self.dtype_policy)
        self.score = layers.Dense(1, name="score", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.score_hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.hidden))

    def call(self, x):
        weights = ops.softmax(self.score(self.score_hidden(x)), axis=1)      # (batch, frames, 1)
        mean = ops.sum(weights * x, axis=1)
        variance = ops.sum(weights * ops.square(x), axis=1) - ops.square(mean)
        return ops.concatenate([mean, ops.sqrt(ops.maximum(variance, self.eps))], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "eps": self.eps}


def build(mp: ModelParams, num_classes: int, num_frames: int, num_channels: int,
          dtype: keras.DTypePolicy) -> keras.Model:
    """Conv1D 128/3 - BN - Dropout - Conv1D 128/3 - BN - attentive statistics pooling - Dropout -
    Dense 128 - BN - Dropout - Dense <classes> softmax (float32). ``mp``'s activations and dropout rates
    apply (``conv_dropout`` after the first convolution, ``lstm_dropout`` after the pooling, which takes the
    LSTMs' place, ``dense_dropout`` before the output); layer names are fixed, so weight files do not
    depend on build order."""
    conv, dense = mp.conv_activation, mp.dense_activation
    inputs = keras.Input(shape=(num_frames, num_channels), name="features")
    x = layers.Conv1D(ENCODER_WIDTH, 3, padding="same", activation=conv, dtype=dtype, name="conv1")(inputs)
    x = layers.BatchNormalization(dtype=dtype, name="bn1")(x)
    x = layers.Dropout(mp.conv_dropout, dtype=dtype, name="drop1")(x)
    x = layers.Conv1D(ENCODER_WIDTH, 3, padding="same", activation=conv, dtype=dtype, name="conv2")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn2")(x)
    x = AttentiveStatsPooling(dtype="float32", name="pooling")(x)     # E[x^2] - E[x]^2: not in bfloat16
    x = layers.Dropout(mp.lstm_dropout, dtype=dtype, name="drop2")(x)
    x = layers.Dense(HIDDEN, activation=dense, dtype=dtype, name="dense1")(x)
    x = layers.BatchNormalization(dtype=dtype, name="bn3")(x)
    x = layers.Dropout(mp.dense_dropout, dtype=dtype, name="drop3")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=f"emoaugnet_pooling_{conv}")
