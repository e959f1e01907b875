"""Settings only TensorFlow has: thread pools, op determinism, its GPU list.

The one module of the project that imports TensorFlow, and only when Keras runs on it
(:func:`emoaugnet.backend.configure` calls it then); under JAX or PyTorch TensorFlow need not be installed.
"""

from __future__ import annotations

import tensorflow as tf


def apply(threads: int, deterministic: bool = True) -> None:
    """Size TF's thread pools to ``threads`` cores and ask for deterministic ops."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:
        pass  # TF already initialised (e.g. a second run in one process): keep its pools
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        tf.config.experimental.disable_op_determinism()


def gpus() -> list[str]:
    return [d.name for d in tf.config.list_physical_devices("GPU")]
