"""Run an exported model (:mod:`emoaugnet.inference.onnx_export`) with onnxruntime and numpy: no Keras, no TensorFlow.

:func:`load` reads the export folder's ``model.json`` with :func:`emoaugnet.model.bundle.describe` (the same
format as a Keras bundle), opens ``model.onnx`` in an onnxruntime session and ``features.npz`` (plain
arrays, no pickle). The result has the interface :class:`emoaugnet.inference.predictor.Predictor` uses: the
bundle's description (classes, audio and feature params, scaler), :meth:`OnnxModel.extract` (features
with numpy, :func:`emoaugnet.store.features.extract_with`) and :meth:`OnnxModel.predict_frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from emoaugnet.model import bundle
from emoaugnet.store import features

ONNX_FILE = "model.onnx"           # the files emoaugnet.inference.onnx_export writes beside model.json
FEATURES_FILE = "features.npz"


def has_onnx(directory: str | Path) -> bool:
    return (Path(directory) / ONNX_FILE).is_file()


@dataclass
class OnnxModel(bundle.Description):
    session: Any = None             # onnxruntime.InferenceSession
    constants: dict[str, np.ndarray] | None = None
    segments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def extract(self, clips: np.ndarray) -> np.ndarray:
        """``(n, frames, channels)`` features of ``(n, num_samples)`` windows (numpy; equal to training's)."""
        return features.extract_with(clips, self.constants, self.feature_params, self.segments)

    def predict_frames(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``(n, len(classes))`` float32 for ``(n, frames, channels)`` features."""
        x = self.inputs(frames)
        name = self.session.get_inputs()[0].name
        out = [np.asarray(self.session.run(None, {name: x[i:i + batch_size]})[0], np.float32)
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)


def load(directory: str | Path, threads: int | None = None) -> OnnxModel:
    """The exported model in ``directory``; :class:`emoaugnet.model.bundle.BundleError` names what is wrong.
    ``threads``: onnxruntime's intra-op threads (``None``: its default, one per core; a worker process
    among several takes 1)."""
    directory = Path(directory)
    config = bundle.read_config(directory)
    onnx_path, const_path = directory / ONNX_FILE, directory / FEATURES_FILE
    for path in (onnx_path, const_path):
        if not path.is_file():
            from emoaugnet.hints import dvc_remote
            pull = ", or `dvc pull export`" if dvc_remote(directory) else ""
            raise bundle.BundleError(f"{path}: not found; export the model first (`emoaugnet export`{pull})")
    info = bundle.describe(directory, config)
    names = ("window", "mel", "dct", *(f"delta{k}" for k in range(1, info.feature_params.deltas + 1)))
    try:
        with np.load(const_path, allow_pickle=False) as npz:
            constants = {k: npz[k] for k in names}
    except (OSError, ValueError, KeyError) as exc:
        raise bundle.BundleError(f"{const_path}: not a feature-constants file ({exc})") from None
    n_fft, fp = info.feature_params.frame_length, info.feature_params
    expected = {"window": (n_fft,), "mel": (constants["mel"].shape[0], n_fft // 2 + 1),
                "dct": (fp.num_bands, constants["mel"].shape[0]),
                **{f"delta{k}": (info.num_frames,) * 2 for k in range(1, fp.deltas + 1)}}
    for key, shape in expected.items():
        if constants[key].shape != shape:
            raise bundle.BundleError(f"{const_path}: `{key}` has shape {constants[key].shape}; "
                              f"{bundle.CONFIG_FILE}'s feature params need {shape}")
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Worker threads sleep between calls instead of spinning: predict computes features (numpy) between
    # model calls, and spinning threads take the cores those need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:    # onnxruntime raises its own Fail / InvalidGraph / ... types
        raise bundle.BundleError(f"{onnx_path}: onnxruntime cannot load it ({str(exc).strip()[:300]})") from None
    shape = tuple(session.get_inputs()[0].shape[1:])
    want = (info.num_frames * info.num_channels, 1) if info.layout == "flat" else (info.num_frames, info.num_channels)
    if shape != want:
        raise bundle.BundleError(f"{onnx_path}: input shape {shape}; {bundle.CONFIG_FILE} describes {want} "
                          f"({info.layout} layout)")
    return OnnxModel(session=session, constants=constants, segments=features.mel_segments(constants["mel"]),
                     **{f.name: getattr(info, f.name) for f in fields(bundle.Description)})

