"""The Python API: load a model once, classify files or arrays in your own program.

    from emoaugnet import Classifier
    clf = Classifier.from_dir("export")          # an ONNX export (onnxruntime) or a Keras bundle
                                                 # (or a folder of them, e.g. cv/models: their average)
    clf.predict_file("speech.wav")["emotion"]    # the same dict `emoaugnet predict` prints
    clf.predict_array(samples, 16000)            # (samples,) or (samples, channels) at any rate

``backend="auto"`` uses the folder's ``model.onnx`` when it has one (no Keras or TensorFlow import),
otherwise the Keras bundle (``model.weights.h5``); ``"onnx"`` or ``"keras"`` insist on one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from emoaugnet import bundle, ensemble, onnx_model
from emoaugnet.inference import PredictParams, Predictor, array_windows, expand

BACKENDS = ("auto", "onnx", "keras")


def load_model(directory: str | Path, backend: str = "auto") -> Any:
    """An :class:`emoaugnet.onnx_model.OnnxModel` or a :class:`emoaugnet.bundle.Bundle` from ``directory``,
    or for a folder of model folders (``cv/models``) an :class:`emoaugnet.ensemble.Ensemble` of them."""
    if backend not in BACKENDS:
        raise ValueError(f"backend is {backend!r}; allowed values: {', '.join(BACKENDS)}")
    directory = Path(directory)
    if ensemble.is_ensemble(directory):
        return ensemble.load(directory, lambda member: load_model(member, backend))
    if backend == "onnx" or backend == "auto" and onnx_model.has_onnx(directory):
        return onnx_model.load(directory)
    if not (directory / bundle.WEIGHTS_FILE).is_file() and onnx_model.has_onnx(directory):
        raise bundle.BundleError(f"{directory}: an ONNX export without Keras weights; use the onnx backend")
    return bundle.load(directory)


def backend_name(model: Any) -> str:
    if isinstance(model, ensemble.Ensemble):
        model = model.members[0]
    return "onnx" if isinstance(model, onnx_model.OnnxModel) else "keras"


class Classifier:
    """A loaded model and the window / silence settings; every method returns predict's result dicts."""

    def __init__(self, model: Any, params: PredictParams | None = None):
        self.model = model
        self.params = params or PredictParams()
        self.predictor = Predictor(model, self.params)

    @classmethod
    def from_dir(cls, directory: str | Path, backend: str = "auto", hop: float | None = None,
                 silence_rms: float = 0.001) -> "Classifier":
        if hop is not None and hop <= 0 or silence_rms < 0:
            raise ValueError("hop must be > 0 and silence_rms >= 0")
        return cls(load_model(directory, backend), PredictParams(hop=hop, silence_rms=silence_rms))

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.classes)

    @property
    def backend(self) -> str:
        return backend_name(self.model)

    def predict_file(self, path: str | Path) -> dict[str, Any]:
        """One file's result (``"result": "error"`` with the reason when it cannot be read)."""
        return self.predict_files([path])[0]

    def predict_files(self, paths: Iterable[str | Path]) -> list[dict[str, Any]]:
        """Results for files and folders (walked recursively), their windows classified together."""
        return list(self.predictor.classify(expand(paths)))

    def predict_array(self, samples: np.ndarray, rate: int, name: str = "<array>") -> dict[str, Any]:
        """The result for audio in memory (float samples in [-1, 1]); raises
        :class:`emoaugnet.audio.AudioError` for an empty, non-finite or mis-shaped array."""
        rec = array_windows(samples, rate, self.model.audio_params, self.params, name)
        return self.predictor.classify_recording(rec)
