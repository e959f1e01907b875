"""Export a trained model bundle to ONNX: a folder that classifies with onnxruntime and numpy alone.

``emoaugnet export --model models --out export`` (DVC stage ``export``) writes into ``--out``:

* ``model.onnx``: the network (Keras's own ``Model.export(format="onnx")``, tf2onnx underneath, opset
  :data:`OPSET`), input ``(batch, 2376, 1)`` or ``(batch, 108, 22)`` float32 in the bundle's layout,
  already standardised; output the class probabilities; the batch size is free.
* ``features.npz``: the window, mel filterbank and DCT matrix the features apply, and with
  ``features.deltas`` each derivative's filter as a ``delta<k>`` matrix over the window's frames
  (:func:`emoaugnet.store.features.constants`, made by librosa and SciPy here), so the runtime needs neither.
* ``model.json``: the bundle's own ``model.json`` (classes, audio window, feature params, scaler, layout,
  frames x channels: the same format, read by :func:`emoaugnet.model.bundle.describe`) plus an ``onnx``
  entry naming the two files, the opset, the largest difference from Keras measured here and the
  fingerprint of the bundle it was made from (:func:`emoaugnet.inference.model_dir.fingerprint`).

Node and value names are made deterministic (:mod:`emoaugnet.inference.onnx_names`), so exporting the same
weights twice gives the same ``model.onnx`` bytes. Before ``model.json`` is written, the ONNX model is run on seeded random inputs and compared with the
Keras model; a difference over :data:`TOLERANCE` stops the export. Each file is written atomically and
``model.json`` last, so an interrupted export leaves no folder that looks complete.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from emoaugnet.model import bundle
from emoaugnet.store import features
from emoaugnet.inference import onnx_names
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.inference.model_dir import fingerprint
from emoaugnet.inference.onnx_model import FEATURES_FILE, ONNX_FILE

OPSET = 17           # what tf2onnx 1.17 converts this network to; 21 is not supported by it
TOLERANCE = 1e-4     # largest accepted |ONNX - Keras| probability on the check inputs


def export(model_dir: str | Path, out_dir: str | Path, check_samples: int = 8) -> dict[str, Any]:
    """Export the bundle in ``model_dir`` into ``out_dir``; returns the ``onnx`` entry of its model.json."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    config = bundle.read_config(model_dir)
    b = bundle.load(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / bundle.CONFIG_FILE).unlink(missing_ok=True)      # model.json marks a complete export
    with atomic_path(out_dir / ONNX_FILE) as tmp:
        import keras
        shape = b.model.input_shape[1:]
        spec = keras.InputSpec(shape=(None, *shape), dtype="float32", name="features")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)       # Keras probes np.object
            b.model.export(str(tmp), format="onnx", verbose=False, opset_version=OPSET, input_signature=[spec])
        onnx_names.canonicalise_file(tmp)          # same weights, same bytes (see emoaugnet/inference/onnx_names.py)
    with atomic_path(out_dir / FEATURES_FILE) as tmp, open(tmp, "wb") as f:
        np.savez(f, **features.constants(b.audio_params.sample_rate, b.feature_params, b.num_frames))
    diff = max_difference(b, out_dir / ONNX_FILE, check_samples)
    if not diff <= TOLERANCE:
        raise bundle.BundleError(f"{out_dir / ONNX_FILE}: differs from the Keras model by {diff:.3g} "
                                 f"(more than {TOLERANCE}); model.json not written")
    entry = {"file": ONNX_FILE, "features_file": FEATURES_FILE, "opset": OPSET,
             "max_abs_diff_vs_keras": float(diff), "exported_from": str(model_dir),
             "bundle_sha256": fingerprint(model_dir)}     # emoaugnet.inference.model_dir: a stale export never wins
    write_text(out_dir / bundle.CONFIG_FILE, json.dumps({**config, "onnx": entry}, indent=1, sort_keys=True) + "\n")
    return entry


def max_difference(b: bundle.Bundle, onnx_path: Path, samples: int, seed: int = 0) -> float:
    """Largest |ONNX - Keras| class probability on ``samples`` seeded standard-normal model inputs."""
    import onnxruntime as ort
    x = np.random.default_rng(seed).standard_normal((samples, *b.model.input_shape[1:])).astype(np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = np.asarray(b.model.predict_on_batch(x), np.float32)
    return float(np.max(np.abs(got - want)))
