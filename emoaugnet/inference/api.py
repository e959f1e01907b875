"""The Python API: load a model once, classify files or arrays in your own program.

    from emoaugnet import Classifier
    clf = Classifier.from_dir("export")          # an ONNX export (onnxruntime) or a Keras bundle
    clf = Classifier()                           # export/ or models/ here, else the model shipped in the
                                                 # package (`emoaugnet info` prints its card)
                                                 # (or a folder of them, e.g. cv/models: their average)
    clf.predict("speech.wav")["answer"]          # the same dict `emoaugnet predict` prints: "sad", or
                                                 # "not sure: sad or disgust" (emotion None, candidates)
    clf.predict(["a.wav", "folder/"])            # a list of paths: a list of dicts, folders walked
    clf.predict(samples, 16000)                  # (samples,) or (samples, channels) at any rate
    clf.predict(librosa.load("speech.wav"))      # or a (samples, rate) pair
    clf.predict(upload_bytes)                    # an audio file's bytes (WAV, FLAC, m4a, ...), in memory
    # predict_file / predict_files / predict_array / predict_bytes: the same, one kind of input each

A file that cannot give an answer raises (FileNotFoundError, IsADirectoryError, or
:class:`emoaugnet.data.audio.AudioError` for one that cannot be decoded); in a list, such a file's dict says
``"result": "error"`` and why, so one bad file does not stop the others.

``backend="auto"`` uses the folder's ``model.onnx`` when it has one (no Keras or TensorFlow import),
otherwise the Keras bundle (``model.weights.h5``); ``"onnx"`` or ``"keras"`` insist on one. Which folder
a name means (a project root, a stale export) is :mod:`emoaugnet.inference.model_dir`'s rule. A model trained with
per-speaker normalisation (``model.speaker_norm``, ``model.feature_norm: speaker``) needs one speaker's
recordings (``speaker=``): the rule is :func:`emoaugnet.model.normalisation.check_group_stats`; where its folder
holds a classic part (``classic/``), each answer averages the eGeMAPS + SVM's in (:mod:`emoaugnet.inference.classic`).
``emoaugnet predict`` is built on this class, so the
command and the API give the same answers and refusals. Inputs are checked by :mod:`emoaugnet.inference.api_inputs`.

Opening a model is one path, top to bottom: :func:`emoaugnet.inference.model_dir.resolve` (which folder; a
stale export, an ensemble's members), then :meth:`Classifier.open_choice` (load, check, group statistics).
"""

from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from emoaugnet.data import audio
from emoaugnet.inference import api_inputs, classic, ensemble, model_dir, onnx_model
from emoaugnet.model import bundle
from emoaugnet.inference.predictor import MIN_DURATION, PredictParams, Predictor, array_windows, expand

BACKENDS = ("auto", "onnx", "keras")


def load_model(directory: str | Path, backend: str = "auto", threads: int | None = None) -> Any:
    """An :class:`emoaugnet.inference.onnx_model.OnnxModel` or a :class:`emoaugnet.model.bundle.Bundle` from ``directory``
    as given, or for a folder of model folders (``cv/models``) an :class:`emoaugnet.inference.ensemble.Ensemble`.
    ``threads``: onnxruntime's threads per session (:func:`emoaugnet.inference.onnx_model.load`)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend is {backend!r}; allowed values: {', '.join(BACKENDS)}")
    directory = Path(directory)
    if ensemble.is_ensemble(directory):
        model_dir.check_distinct(ensemble.member_dirs(directory))
        return ensemble.load(directory, lambda member: load_model(member, backend, threads))
    if backend == "onnx" or backend == "auto" and onnx_model.has_onnx(directory):
        return onnx_model.load(directory, threads)
    if not (directory / bundle.WEIGHTS_FILE).is_file() and onnx_model.has_onnx(directory):
        raise bundle.BundleError(f"{directory}: an ONNX export without Keras weights; use the onnx backend")
    return bundle.load(directory)


def backend_name(model: Any) -> str:
    if isinstance(model, ensemble.Ensemble):
        model = model.members[0]
    return "onnx" if isinstance(model, onnx_model.OnnxModel) else "keras"


def choose(directory: str | Path | None, backend: str, speaker: Any) -> tuple[model_dir.Choice, Any]:
    """The model folder (:func:`emoaugnet.inference.model_dir.resolve`) and the speaker recordings it takes:
    given one speaker's recordings, the shipped model answers with its speaker-adapted member when there
    are enough of them, else with the single-file model, which takes none (the choice's warning says why)."""
    if speaker is None:
        return model_dir.resolve(directory, backend), None
    files = expand(api_inputs.paths(speaker))                  # folders walked once, here
    choice = model_dir.resolve(directory, backend, sum(error is None for _, error in files))
    return choice, (None if choice.shipped and not choice.speaker_member else [path for path, _ in files])


class Classifier:
    """A loaded model and the window / silence settings; every method returns predict's result dicts.
    ``speaker_stats``: one speaker's feature statistics, needed by (and only accepted for) a model trained
    with ``model.speaker_norm`` (:meth:`from_dir`'s ``speaker=`` computes them)."""

    def __init__(self, model: Any = None, params: PredictParams | None = None,
                 speaker_stats: tuple[np.ndarray, np.ndarray] | None = None, path: str | Path | None = None,
                 warning: str | None = None, label: str | None = None, partner: Any = None):
        if model is None:          # Classifier(): the folder model_dir's rule picks here (or the shipped model)
            if speaker_stats is not None:
                raise ValueError("speaker_stats without a model: use Classifier.from_dir(..., speaker=...)")
            opened = type(self).open(None, params=params)
            model, path, warning, label = opened.model, opened.path, opened.warning, opened.label
            partner = opened.predictor.partner                # its classic part, as open() bound it
        self.model = model
        self.params = params or PredictParams()
        self.predictor = Predictor(model, self.params, speaker_stats=speaker_stats, partner=partner)
        self.path = None if path is None else Path(path)     # the folder the model was loaded from
        self.warning = warning                                # why another folder beside it was not used
        self.label = label or (str(path) if path is not None else None)   # which model, in words

    @classmethod
    def open(cls, directory: str | Path | None = None, backend: str = "auto", params: PredictParams | None = None,
             speaker: Any = None, classic_part: bool = True) -> "Classifier":
        """:meth:`from_dir` without warnings: a stale export beside the bundle is in :attr:`warning`."""
        params = params or PredictParams()
        choice, speaker = choose(directory, backend, speaker)
        return cls.open_choice(choice, backend, params, speaker, classic_part=classic_part)

    @classmethod
    def open_choice(cls, choice: model_dir.Choice, backend: str = "auto", params: PredictParams | None = None,
                    speaker: Any = None, threads: int | None = None, classic_part: bool = True) -> "Classifier":
        """The one way a model is opened, top to bottom, once :func:`emoaugnet.inference.model_dir.resolve` has
        picked its folder (a project's export unless stale, an ensemble of distinct members, the shipped model;
        NoModel before anything heavy is imported): load it (:func:`load_model`), check the settings against
        its window, take a speaker's statistics for a group-normalised model (refused for any other), and
        build the predictor, which refuses a group-normalised model without them; where the folder holds a
        classic part, bind it (:func:`emoaugnet.inference.classic.partner`) unless ``classic_part`` is false (the
        network alone: no openSMILE run per recording). ``threads``: onnxruntime's threads per session
        (:func:`load_model`; ``None``: its default)."""
        params = params or PredictParams()
        model = load_model(choice.path, backend, threads)
        params.check(model.audio_params.duration)             # before any speaker file is read
        from emoaugnet.model.normalisation import check_group_stats
        check_group_stats(model, given=speaker is not None)   # speaker= for exactly the models that take it
        stats = partner = used = None
        if speaker is not None:
            from emoaugnet.inference.speaker_adaptation import speaker_statistics
            used = []
            stats = speaker_statistics(expand(api_inputs.paths(speaker)), model, params, used)
        if classic_part and classic.has_classic(choice.path):  # its answers average the eGeMAPS + SVM's in
            partner = classic.partner(Path(choice.path) / classic.FOLDER, model, used)
        return cls(model, params, stats, choice.path, choice.warning, choice.label, partner)

    @classmethod
    def from_dir(cls, directory: str | Path | None = None, backend: str = "auto", hop: float | None = None,
                 silence_rms: float = 0.001, min_duration: float = MIN_DURATION,
                 speaker: Any = None, classic_part: bool = True) -> "Classifier":
        """The model in ``directory`` (``None``: ``export/`` or ``models/`` here, else the shipped model; see
        :mod:`emoaugnet.inference.model_dir`).
        ``speaker``: a file or folder (or a list) of one speaker's recordings, for a ``model.speaker_norm``
        model. ``classic_part=False``: the network alone where the folder holds a classic part. Raises ValueError (:class:`emoaugnet.inference.model_dir.NoModel`, :class:`emoaugnet.model.bundle.BundleError`,
        bad settings) with the reason; warns (UserWarning) when a stale export was passed over."""
        params = PredictParams(hop=hop, silence_rms=silence_rms, min_duration=min_duration)
        clf = cls.open(directory, backend, params, speaker, classic_part)
        if clf.warning:
            warnings.warn(clf.warning, stacklevel=2)
        return clf

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.classes)

    @property
    def backend(self) -> str:
        return backend_name(self.model)

    @property
    def members(self) -> list[str]:
        """The models an ensemble averages (their folder names); one model: its folder."""
        if isinstance(self.model, ensemble.Ensemble):
            return list(self.model.names)
        return [str(self.path)] if self.path is not None else []

    def predict(self, x: Any, rate: Any = None) -> dict[str, Any] | list[dict[str, Any]]:
        """The one entry for every input: a path (str or pathlib.Path) -> its result dict
        (:meth:`predict_file`); a list or tuple of paths, folders walked -> a list of dicts
        (:meth:`predict_files`); audio samples with their ``rate`` in Hz, or a ``(samples, rate)`` pair as
        ``librosa.load`` and ``soundfile.read`` return -> a dict (:meth:`predict_array`); an audio file's
        bytes -> a dict (:meth:`predict_bytes`). Raises TypeError naming the type given when ``x`` is none
        of these."""
        if isinstance(x, (str, os.PathLike)):
            if rate is not None:
                raise TypeError(f"rate is for audio samples; a file says its own rate: predict(path) "
                                f"(got a {type(x).__name__} path and rate={rate!r})")
            return self.predict_file(x)
        if isinstance(x, (bytes, bytearray, memoryview)):
            if rate is not None:
                raise TypeError(f"rate is for audio samples; an audio file's bytes say their own rate: "
                                f"predict(data) (got {type(x).__name__} and rate={rate!r}; raw samples: an "
                                f"int16 or float numpy array with rate=)")
            return self.predict_bytes(x)
        if rate is None and isinstance(x, tuple) and len(x) == 2 and _is_samples(x[0]) \
                and not isinstance(x[1], (str, os.PathLike)):
            x, rate = x                                        # librosa.load / soundfile.read: (samples, rate)
        if _is_samples(x):
            if rate is None:
                raise TypeError(f"audio samples ({type(x).__name__}) need their rate: predict(samples, rate) "
                                f"with the sample rate in Hz, e.g. predict(samples, 16000)")
            return self.predict_array(x, rate)
        if isinstance(x, (list, tuple)) and rate is None:
            return self.predict_files(x)                       # checks every item is a path, naming a type that is not
        raise TypeError(f"predict takes a path (str or pathlib.Path), a list of paths, or audio samples with their "
                        f"rate (a numpy array and rate=); got {type(x).__name__}"
                        + ("" if rate is None else f" with rate={rate!r}"))

    def predict_file(self, path: str | Path) -> dict[str, Any]:
        """One file's result. Raises FileNotFoundError when there is no such file, IsADirectoryError for a
        folder (:meth:`predict_files` walks one), :class:`emoaugnet.data.audio.AudioError` (a ValueError) when
        it cannot be decoded, TypeError (naming the type) when ``path`` is not a str or pathlib.Path."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"predict_file takes one path (str or pathlib.Path); got {type(path).__name__}"
                            + ("; for several, predict_files(paths)" if isinstance(path, (list, tuple)) else ""))
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "a folder: predict_files(folder) or predict([folder]) classifies "
                                                  "the audio files in it", str(path))
        result = self.predict_files([path])[0]
        if result["result"] == "error":
            raise audio.AudioError(path, result["error"])
        return result

    def predict_files(self, paths: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
        """Results for files and folders (walked recursively), their windows classified together; one
        path (a str or Path) is one file or folder."""
        return list(self.classify(expand(api_inputs.paths(paths))))

    def classify(self, items: Iterable[tuple[str, str | None]]):
        """Results in input order, one at a time, for :func:`emoaugnet.inference.predictor.expand`'s items."""
        return self.predictor.classify(items)

    def predict_bytes(self, data: bytes | bytearray | memoryview, name: str = "<bytes>") -> dict[str, Any]:
        """The result for an audio file's bytes held in memory (an upload; any format :meth:`predict_file`
        reads): what :meth:`predict_file` gives for a file of those bytes named ``name``, its ``path`` being
        ``name`` (the name's extension is FFmpeg's hint, as a file's is: a damaged m4a may decode as
        ``memo.m4a`` and not as ``<bytes>``). Raises :class:`emoaugnet.data.audio.AudioError` naming
        ``name`` when they cannot be decoded."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"predict_bytes takes an audio file's bytes; got {type(data).__name__}")
        name = api_inputs.name(name)
        rec = self.predictor.read(audio.Buffer(name, bytes(data)))     # the reason worded as for a file
        if isinstance(rec, str):
            raise audio.AudioError(name, rec)
        return self.predictor.classify_recording(rec)

    def predict_array(self, samples: Any, rate: Any, name: str = "<array>") -> dict[str, Any]:
        """The result for audio in memory: ``(samples,)``, ``(samples, channels)`` or ``(channels, samples)``
        float samples in [-1, 1] or int16/int32 PCM, at ``rate`` Hz (a whole number, 8000..384000); see
        :mod:`emoaugnet.inference.api_inputs`. Raises TypeError / ValueError (:class:`emoaugnet.data.audio.AudioError` for
        empty or non-finite audio) saying what to pass instead."""
        name = api_inputs.name(name)
        data, rate = api_inputs.samples(samples, name), api_inputs.rate(rate)
        rec = array_windows(data, rate, self.model.audio_params, self.params, name)
        return self.predictor.classify_recording(rec)


def _is_samples(x: Any) -> bool:
    """A numpy array (or anything that converts to one: torch tensors, array-likes), or a list of numbers."""
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(v, (int, float, np.number, list, tuple)) and not isinstance(v, bool) for v in x[:16])
