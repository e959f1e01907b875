"""Which model a folder means: the one owner of that rule, read before anything heavy is imported.

:func:`resolve` turns what a user names (``--model DIR``, ``Classifier.from_dir(DIR)``, or nothing: the
current folder) into one model folder, reading only file names and ``model.json`` (no Keras, TensorFlow
or onnxruntime import):

* a folder with its own ``model.json``: that model (a Keras bundle or an ONNX export);
* a project root, i.e. a folder holding ``export/`` and/or ``models/`` with a model each: the export
  when it was made from the bundle beside it (or there is no bundle), otherwise the bundle, with a
  warning that names both folders (a stale export never wins silently); ``--backend keras`` / ``onnx``
  pick ``models/`` / ``export/``;
* a folder of model folders (``cv/models``): itself, an ensemble, refused when two members are the same
  model (a bundle and its own export, say);
* nothing named, and the current folder holds no ``export/`` or ``models/``: the model shipped inside the
  package (:data:`SHIPPED`, ``emoaugnet/shipped/``, put there by ``emoaugnet release``), when it is there;
  given recordings of one speaker (``--speaker-norm``, ``speaker=``), its speaker-adapted member
  (its folder :data:`SPEAKER_FOLDER`) when there are at least as many as its card says it needs
  (:func:`speaker_min_recordings`: below that the single-file model scored as well, so it answers, and the
  choice's warning says why);
* anything else: :class:`NoModel`, with a hint that works here (``dvc pull`` only when the project has a
  DVC remote).

An export records the fingerprint of the bundle it was made from (:func:`fingerprint`: sha256 of the
bundle's ``model.json`` and ``model.weights.h5``) in its ``model.json`` (``onnx.bundle_sha256``, written
by :func:`emoaugnet.inference.onnx_export.export`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from emoaugnet.data.manifest import speaker_order
from emoaugnet.hints import how_to_get

CONFIG_FILE = "model.json"          # the same names as emoaugnet.model.bundle / emoaugnet.inference.onnx_model, which
WEIGHTS_FILE = "model.weights.h5"   # import numpy and the params; this module imports neither
ONNX_FILE = "model.onnx"
#: The project's default folders, as in params.yaml's ``paths.export`` and ``paths.models``.
EXPORT, MODELS = "export", "models"
#: The model inside the package (an ONNX export plus its card, ``card.json``; docs/release.md).
SHIPPED = Path(__file__).resolve().parents[1] / "shipped"
CARD_FILE = "card.json"
#: The folder, inside a released model's, of its speaker-adapted member: a model trained with per-speaker
#: normalisation, or a folder of such models averaged, used when the recordings of one speaker are given
#: (``emoaugnet release --speaker-export``).
SPEAKER_FOLDER = "speaker"


class NoModel(ValueError):
    """No model where one was looked for; ``str()`` says where and how to get one."""


@dataclass(frozen=True)
class Choice:
    path: Path                      # the model folder (or folder of model folders) to load
    warning: str | None = None      # why another folder beside it was not used
    shipped: bool = False           # the model inside the package (nothing named, no project here)
    speaker_member: bool = False    # its speaker-adapted member (recordings of one speaker were given)

    @property
    def label(self) -> str:
        """Which model this is, in words: the folder, or the shipped model's name from its card."""
        if not self.shipped:
            return str(self.path)
        if self.speaker_member:
            return f"the shipped model {shipped_name(self.path.parent)}, its speaker-adapted member (see `emoaugnet info`)"
        return f"the shipped model {shipped_name(self.path)} (see `emoaugnet info`)"


def _card_value(directory: str | Path, *keys: str) -> object:
    """``card.json[keys[0]][keys[1]]...`` of a released model (``None`` when absent or unreadable)."""
    try:
        value = json.loads((Path(directory) / CARD_FILE).read_text())
        for key in keys:
            value = value.get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return value


def shipped_name(directory: str | Path = SHIPPED) -> str:
    """The ``name`` in a released model's ``card.json`` (``"(no card)"`` when it has none)."""
    name = _card_value(directory, "name")
    return name if isinstance(name, str) else "(no card)"


def speaker_min_recordings(directory: str | Path = SHIPPED) -> int | None:
    """How many recordings of one speaker the released speaker-adapted member needs to beat the
    single-file model (``card.json``'s ``speaker_model.min_recordings``; ``None``: no such member)."""
    if not is_exports(Path(directory) / SPEAKER_FOLDER):
        return None
    value = _card_value(directory, "speaker_model", "min_recordings")
    return value if isinstance(value, int) and value >= 1 else 1


def has_model(directory: str | Path) -> bool:
    return (Path(directory) / CONFIG_FILE).is_file()


def is_bundle(directory: str | Path) -> bool:
    return has_model(directory) and (Path(directory) / WEIGHTS_FILE).is_file()


def is_export(directory: str | Path) -> bool:
    return has_model(directory) and (Path(directory) / ONNX_FILE).is_file()


def member_dirs(directory: str | Path) -> list[Path]:
    """The subfolders of ``directory`` that hold a model (``model.json``), in natural order (fold_2 < fold_10):
    the models a folder of models averages; in a released model's folder (it has ``card.json``) not its
    speaker-adapted member, :data:`SPEAKER_FOLDER`."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    released = (directory / CARD_FILE).is_file()
    return sorted((d for d in directory.iterdir() if has_model(d) and not (released and d.name == SPEAKER_FOLDER)),
                  key=lambda d: speaker_order(d.name))


def is_ensemble(directory: str | Path) -> bool:
    """A folder of model folders, with no model of its own."""
    return not has_model(directory) and bool(member_dirs(directory))


def is_exports(directory: str | Path) -> bool:
    """An ONNX export, or a folder of them (an ensemble, averaged as ``predict`` averages a folder of models):
    what a released model, and its speaker-adapted member, may be."""
    directory = Path(directory)
    if has_model(directory) or not directory.is_dir():
        return is_export(directory)
    members = member_dirs(directory)
    return bool(members) and all(is_export(d) for d in members)


def fingerprint(bundle_dir: str | Path) -> str:
    """sha256 of a Keras bundle's ``model.json`` and ``model.weights.h5`` (what an export records)."""
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        with open(Path(bundle_dir) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def recorded_fingerprint(export_dir: str | Path) -> str | None:
    """The bundle fingerprint an export's ``model.json`` records (``None``: an export made before it did)."""
    try:
        config = json.loads((Path(export_dir) / CONFIG_FILE).read_text())
        value = config.get("onnx", {}).get("bundle_sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def source_fingerprint(directory: str | Path) -> str | None:
    """The fingerprint of the bundle a model folder holds or was exported from (``None``: unknown)."""
    return fingerprint(directory) if is_bundle(directory) else recorded_fingerprint(directory)


def stale_export(export_dir: Path, models_dir: Path) -> str | None:
    """Why ``export_dir`` does not match the bundle in ``models_dir`` (``None``: it was made from it)."""
    recorded = recorded_fingerprint(export_dir)
    if recorded is None:
        return (f"{export_dir} does not record which bundle it was exported from (made by an older version), "
                f"so it may not match {models_dir}")
    if recorded != fingerprint(models_dir):
        return f"{export_dir} was exported from another bundle than the one now in {models_dir} (stale export)"
    return None


def resolve(directory: str | Path | None = None, backend: str = "auto", speaker_files: int | None = None) -> Choice:
    """The model folder ``directory`` means (``None``: the current folder as a project root, else the
    shipped model); see the module doc. ``speaker_files``: how many recordings of one speaker were given
    (``None``: none), which picks the shipped model's member. Raises :class:`NoModel` with a hint, or
    ValueError for an ensemble of one model twice."""
    given = directory is not None
    directory = Path(directory if given else ".")
    if has_model(directory):
        return Choice(directory)
    export, models = directory / EXPORT, directory / MODELS
    if has_model(export) or has_model(models):
        return _project_choice(export, models, backend)
    if is_ensemble(directory):
        check_distinct(member_dirs(directory))
        return Choice(directory)
    if not given and is_exports(SHIPPED):
        return _shipped_choice(speaker_files)
    where = (f"{directory}: model bundle not found (no {CONFIG_FILE}, and no model folders in it)" if given else
             f"model bundle not found: neither {EXPORT}/ nor {MODELS}/ in {Path.cwd()} holds one ({CONFIG_FILE}), "
             f"and no model is shipped in {SHIPPED} (`emoaugnet release` puts one there)")
    raise NoModel(f"{where}; {how_to_get(directory)}")


def _shipped_choice(speaker_files: int | None) -> Choice:
    """The shipped single-file model, or its speaker-adapted member for enough recordings of one speaker."""
    if speaker_files is None:
        return Choice(SHIPPED, shipped=True)
    needed = speaker_min_recordings(SHIPPED)
    if needed is None:
        return Choice(SHIPPED, "the shipped model has no speaker-adapted member; each file is classified "
                               "on its own", shipped=True)
    if speaker_files < needed:
        return Choice(SHIPPED, f"{speaker_files} recording{'s' if speaker_files != 1 else ''} of the speaker; "
                               f"the shipped speaker-adapted model needs at least {needed} to do better than "
                               "the single-file model (its card), so each file is classified on its own",
                      shipped=True)
    return Choice(SHIPPED / SPEAKER_FOLDER, shipped=True, speaker_member=True)


def _project_choice(export: Path, models: Path, backend: str) -> Choice:
    if backend == "keras" or not is_export(export):
        return Choice(models if has_model(models) else export)
    if not is_bundle(models):
        return Choice(export)
    why = stale_export(export, models)
    if why is None:
        return Choice(export)
    redo = "re-export it (`emoaugnet export`, or `dvc repro export`)"
    if backend == "onnx":
        return Choice(export, f"{why}; using {export} as --backend onnx asks; {redo}")
    return Choice(models, f"{why}; using the bundle {models} instead of {export}; {redo}")


def check_distinct(dirs: list[Path]) -> None:
    """Refuse an ensemble whose members include one model twice (a bundle and its export, or copies)."""
    seen: dict[str, Path] = {}
    for d in dirs:
        key = source_fingerprint(d)
        if key is None:
            continue
        if key in seen:
            raise ValueError(f"{seen[key]} and {d} are the same model (bundle sha256 {key[:12]}); an ensemble "
                             f"averages different models: pass one of them as the model folder")
        seen[key] = d
