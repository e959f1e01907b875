"""Settings only TensorFlow has: thread pools, op determinism, its GPU list.

The one module of the project that imports TensorFlow, and only when Keras runs on it
(:func:`emoaugnet.model.backend.configure` calls it then); under JAX or PyTorch TensorFlow need not be installed.
"""

from __future__ import annotations

import tensorflow as tf
# TF 2.21 has a public enable_op_determinism only; its off switch and query live here.
from tensorflow.python.framework import config as _tf_config


def apply(threads: int, deterministic: bool = True) -> None:
    """Size TF's thread pools to ``threads`` cores and ask for deterministic ops."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:
        pass  # TF already initialised (e.g. a second run in one process): keep its pools
    set_op_determinism(deterministic)


def set_op_determinism(on: bool) -> None:
    if on:
        tf.config.experimental.enable_op_determinism()
    else:
        _tf_config.disable_op_determinism()


def op_determinism() -> bool:
    return bool(_tf_config.is_op_determinism_enabled())


def gpus() -> list[str]:
    return [d.name for d in tf.config.list_physical_devices("GPU")]
