"""What the ``predict`` and ``serve`` commands share: the default model folders, the window options, the one
way they open a model (printing why not) and the line that says what runs it.

Both :mod:`emoaugnet.cli` and :mod:`emoaugnet.serve.command` import it (neither imports the other). Kept free
of heavy imports at module level, so ``emoaugnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: Default folders, as in params.yaml's ``paths.models`` and ``paths.export`` (the command also runs
#: outside a project, so it does not read params.yaml for them); which one predict uses is
#: :func:`emoaugnet.inference.model_dir.resolve`'s rule.
DEFAULT_MODELS = "models"
DEFAULT_EXPORT = "export"
KERAS_MODULES = {"keras", "tensorflow", "h5py", "jax", "jaxlib", "tf2onnx", "onnx"}
KERAS_MISSING = ("{} is not installed: Keras bundles and `emoaugnet export` need the keras extra "
                 "(pip install 'emoaugnet[keras]'); an exported model needs only the core install")


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """--hop and --silence-rms, as predict and serve both take them (emoaugnet.inference.predictor.PredictParams)."""
    parser.add_argument("--hop", type=float, default=None,
                        help="seconds between analysis windows of long recordings (default: half the model's window)")
    parser.add_argument("--silence-rms", type=float, default=0.001,
                        help="a window whose RMS is below this is reported as silence (default: 0.001)")


def add_classic_option(parser: argparse.ArgumentParser) -> None:
    """--no-classic, as predict and serve both take it (:meth:`emoaugnet.inference.api.Classifier.open_choice`'s
    ``classic_part``; :func:`open_classifier` reads it)."""
    parser.add_argument("--no-classic", action="store_true",
                        help="the network alone where the model's folder holds a classic part (an eGeMAPS + SVM "
                             "averaged into each answer; the shipped model's does): no openSMILE run per "
                             "recording, faster (docs/performance.md), the network's answers")


def runtime_line(model: Any) -> str:
    """What runs ``model``: the Keras backend and device (:func:`emoaugnet.model.backend.describe`), or onnxruntime."""
    from emoaugnet.model import backend
    from emoaugnet.inference.api import backend_name
    from emoaugnet.inference.ensemble import Ensemble
    members = f"ensemble of {len(model.members)} models ({', '.join(model.names)}), " \
        if isinstance(model, Ensemble) else ""
    if backend_name(model) == "keras":
        return members + backend.describe("float32")
    import onnxruntime
    return (members + f"runtime onnxruntime {onnxruntime.__version__}, device CPU ({backend.cpu_model()}), "
            "precision float32")


def _missing_module(exc: ModuleNotFoundError, folder: Any) -> str:
    """The message for a module missing while loading the model in ``folder``."""
    from emoaugnet.inference.model_dir import is_bundle
    if exc.name and exc.name.split(".")[0] in KERAS_MODULES and is_bundle(folder):
        return f"{folder}: {KERAS_MISSING.format(exc.name)}"
    return f"{folder}: cannot load the model: module {exc.name!r} is not installed ({exc})"


def open_classifier(command: str, args: argparse.Namespace, pp: Any, speaker: Any = None,
                    threads: int | None = None) -> Any:
    """The :class:`emoaugnet.inference.api.Classifier` that ``--model`` / ``--backend`` name (model_dir's rule), or
    None after printing why not (``<command>: ...`` on stderr): the one way predict and serve open a model.
    Its warning (a stale export passed over) and, with nothing named, which model was picked, go to stderr.
    ``threads``: onnxruntime's threads per session (``None``: its default, one per core)."""
    from emoaugnet.inference.api import Classifier, choose
    from emoaugnet.inference.model_dir import NoModel
    try:
        choice, speaker = choose(args.model, args.backend, speaker)   # no model: said before loading one
    except (NoModel, ValueError) as exc:
        print(f"{command}: {as_flags(exc)}", file=sys.stderr)
        return None
    folder = choice.path
    try:
        clf = Classifier.open_choice(choice, args.backend, pp, speaker, threads,
                                     classic_part=not getattr(args, "no_classic", False))
    except ValueError as exc:             # BundleError, SpeakerNormError, a bad hop for this model's window
        print(f"{command}: {folder}: {as_flags(exc)}", file=sys.stderr)
        return None
    except ModuleNotFoundError as exc:
        print(f"{command}: {_missing_module(exc, folder)}", file=sys.stderr)
        return None
    if clf.warning:
        print(f"{command}: warning: {clf.warning}", file=sys.stderr)
    return clf


def as_flags(exc: Exception) -> str:
    """The API's message in the command's words: setting names as their flags."""
    text = str(exc)
    for name in ("hop", "silence_rms", "min_duration"):
        if text.startswith(name + " "):
            return "--" + name.replace("_", "-") + text[len(name):]
    return text.replace("(Classifier.from_dir(..., speaker=FILES_OR_FOLDER); emoaugnet predict --speaker-norm "
                        "with the recordings of one speaker)", "(pass --speaker-norm and the recordings of one "
                        "speaker)").replace(" (and the speaker= recordings)", "")
