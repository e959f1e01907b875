"""The saved model "bundle" (``paths.models``, ``models/``): weights plus everything needed to use them.

``model.weights.h5`` holds the Keras weights; ``model.json`` holds the architecture params, classes,
the feature and audio params the features were computed with, the scaler (per-position mean and
scale of the flat vector), the split protocol and a training summary. :func:`load` rebuilds the model
with :func:`emoaugnet.model.network.build` from those params and loads the weights: no pickle, no code from the
files. ``predict_frames`` applies the same flatten / scaler / layout as training.

Importing this module does not import Keras (only :func:`load` does), so the ONNX runtime
(:mod:`emoaugnet.inference.onnx_model`) reads the same ``model.json`` through :func:`describe` without it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from emoaugnet.model import scaler
from emoaugnet.model.calibration import NONE as UNCALIBRATED, Calibration
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.errors import EmoAugNetError
from emoaugnet.params import ACTIVATIONS, LAYOUTS, AudioParams, FeatureParams, ModelParams, recorded

WEIGHTS_FILE = "model.weights.h5"
CONFIG_FILE = "model.json"
FORMAT = 1


class BundleError(EmoAugNetError, ValueError):
    """A model bundle is missing or does not match what it claims."""


@dataclass
class Description:
    """What ``model.json`` says: everything but the network itself."""
    mean: np.ndarray                # float32 (frames*channels,), paper's flat order
    scale: np.ndarray               # float32 (frames*channels,)
    classes: tuple[str, ...]
    model_params: ModelParams
    feature_params: FeatureParams
    audio_params: AudioParams
    num_frames: int
    num_channels: int
    precision: str                  # the precision it was trained with
    split: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration = UNCALIBRATED     # model.json's ``calibration`` (absent: T = 1, not calibrated)

    @property
    def layout(self) -> str:
        return self.model_params.input_layout

    def inputs(self, frames: np.ndarray) -> np.ndarray:
        """Model inputs for ``(n, frames, channels)`` features (standardised, in this bundle's layout)."""
        frames = np.asarray(frames, np.float32)
        if frames.ndim != 3 or frames.shape[1:] != (self.num_frames, self.num_channels):
            raise BundleError(f"features of shape {frames.shape}; this model expects "
                              f"(n, {self.num_frames}, {self.num_channels})")
        return scaler.to_inputs(frames, self.mean, self.scale, self.layout)

    def extract(self, clips: np.ndarray) -> np.ndarray:
        """``(n, frames, channels)`` features of ``(n, num_samples)`` windows, as training computed them."""
        from emoaugnet.store import features
        return features.extract(clips, self.audio_params.sample_rate, self.feature_params)

    def probabilities(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The answer's class probabilities: the network's (``predict_frames``, which subclasses define)
        with this model's temperature applied (:mod:`emoaugnet.model.calibration`)."""
        return self.calibration.apply(self.predict_frames(frames, batch_size=batch_size))


@dataclass
class Bundle(Description):
    model: Any = None               # keras.Model

    def predict_frames(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``(n, len(classes))`` float32 for ``(n, frames, channels)`` features."""
        x = self.inputs(frames)
        if len(x) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        # predict_on_batch runs a traced (tf.function) call: an eager call steps the LSTMs in Python,
        # 30x slower for one clip in the frames layout (408 vs 12 ms), same outputs.
        out = [np.asarray(self.model.predict_on_batch(x[i:i + batch_size]), np.float32)
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out)


def save(directory: str | Path, model: Any, mean: np.ndarray, scale: np.ndarray, classes: tuple[str, ...],
         model_params: ModelParams, feature_params: FeatureParams, audio_params: AudioParams,
         num_frames: int, num_channels: int, precision: str, split: Mapping[str, Any] | None = None,
         training: Mapping[str, Any] | None = None, calibration: Calibration | None = None) -> None:
    """Write ``model.weights.h5`` and ``model.json`` into ``directory`` (each atomically); ``calibration``
    (fitted on the validation speakers) is recorded when given."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if len(mean) != num_frames * num_channels or len(scale) != len(mean):
        raise BundleError(f"scaler has {len(mean)}/{len(scale)} values; expected {num_frames * num_channels}")
    config = {
        "format": FORMAT,
        "classes": list(classes),
        # keys switched off (params.OFF_VALUES) are left out: a default model.json stays as it was
        "model": recorded(model_params),
        "input": {"layout": model_params.input_layout, "num_frames": num_frames, "num_channels": num_channels},
        "precision": precision,
        # workers only sets parallelism, never the values: leave it out so it cannot change the bundle
        "features": recorded(feature_params, exclude=("workers",)),
        "audio": recorded(audio_params),
        "scaler": {"mean": [float(v) for v in np.asarray(mean, np.float32)],
                   "scale": [float(v) for v in np.asarray(scale, np.float32)]},
        "split": dict(split or {}),
        "training": dict(training or {}),
        **({"calibration": calibration.to_config()} if calibration is not None else {}),
    }
    # model.json is written last and marks a complete bundle: remove the old one first, so a run killed
    # between the two files leaves "no bundle", never new weights under an old description.
    (directory / CONFIG_FILE).unlink(missing_ok=True)
    for leftover in directory.glob(".tmp-model.*"):     # left by a killed run (SIGKILL skips cleanup)
        leftover.unlink()
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        _save_weights(model, tmp)
    write_text(directory / CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True) + "\n")


class _WeightsBuffer(io.BytesIO):
    """An in-memory file Keras accepts as a ``.weights.h5`` target (its HDF5 store writes to a BytesIO)."""

    def __str__(self) -> str:
        return WEIGHTS_FILE


def _save_weights(model: Any, path: Path) -> None:
    """``model.save_weights`` into memory, then the bytes to ``path`` with a plain write. A disk that
    fills up then fails that write (an OSError, reported as a WriteError), never HDF5's own writes: those
    leave half-closed HDF5 objects behind, and the process crashed (SIGSEGV) at exit."""
    buffer = _WeightsBuffer()
    model.save_weights(buffer)
    with open(path, "wb") as f:
        f.write(buffer.getbuffer())


def read_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        from emoaugnet.hints import how_to_get
        raise BundleError(f"{path}: model bundle not found; {how_to_get(directory)}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise BundleError(f"{path}: not a model bundle of format {FORMAT}")
    return config


def describe(directory: str | Path, config: Mapping[str, Any] | None = None) -> Description:
    """The checked contents of ``directory``'s ``model.json`` (``config``: already read)."""
    directory = Path(directory)
    config = read_config(directory) if config is None else config
    try:
        model_params = ModelParams(**config["model"])
        feature_params = FeatureParams(**{"workers": 1, **config["features"]})
        audio_params = AudioParams(**config["audio"])
        classes = tuple(config["classes"])
        num_frames = int(config["input"]["num_frames"])
        num_channels = int(config["input"]["num_channels"])
        calibration = Calibration.from_config(config.get("calibration"))
        mean = np.asarray(config["scaler"]["mean"], np.float32)
        scale = np.asarray(config["scaler"]["scale"], np.float32)
        for key, value, allowed in (("input_layout", model_params.input_layout, LAYOUTS),
                                    ("conv_activation", model_params.conv_activation, ACTIVATIONS),
                                    ("dense_activation", model_params.dense_activation, ACTIVATIONS)):
            if value not in allowed:
                raise ValueError(f"model.{key} is {value!r}; allowed values: {', '.join(allowed)}")
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{directory / CONFIG_FILE}: missing or invalid entry ({exc})") from None
    if len(mean) != num_frames * num_channels or len(scale) != len(mean):
        raise BundleError(f"{directory / CONFIG_FILE}: scaler has {len(mean)} values; "
                          f"expected {num_frames * num_channels}")
    return Description(mean=mean, scale=scale, classes=classes, model_params=model_params,
                       feature_params=feature_params, audio_params=audio_params, num_frames=num_frames,
                       num_channels=num_channels, precision=str(config.get("precision", "float32")),
                       split=dict(config.get("split", {})), training=dict(config.get("training", {})),
                       calibration=calibration)


def load(directory: str | Path) -> Bundle:
    """Rebuild the model from ``model.json`` and load ``model.weights.h5`` (float32 for inference)."""
    from emoaugnet.model import network as model_mod   # imports Keras
    directory = Path(directory)
    config = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        from emoaugnet.hints import how_to_get
        raise BundleError(f"{weights}: weights not found; {how_to_get(directory)}")
    info = describe(directory, config)
    model = model_mod.build(info.model_params, len(info.classes), info.num_frames, info.num_channels, "float32")
    try:
        model.load_weights(weights)
    except Exception as exc:  # Keras raises ValueError/OSError variants for mismatched files
        raise BundleError(f"{weights}: cannot load weights into the model described by "
                          f"{CONFIG_FILE} ({exc})") from None
    return Bundle(model=model, **{f.name: getattr(info, f.name) for f in fields(Description)})
