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

from emoaugnet.hints import how_to_get

CONFIG_FILE = "model.json"          # the same names as emoaugnet.model.bundle / emoaugnet.inference.onnx_model, which
WEIGHTS_FILE = "model.weights.h5"   # import numpy and the params; this module imports neither
ONNX_FILE = "model.onnx"
#: The project's default folders, as in params.yaml's ``paths.export`` and ``paths.models``.
EXPORT, MODELS = "export", "models"
#: The model inside the package (an ONNX export plus its card, ``card.json``; docs/release.md).
SHIPPED = Path(__file__).resolve().parents[1] / "shipped"
CARD_FILE = "card.json"


class NoModel(ValueError):
    """No model where one was looked for; ``str()`` says where and how to get one."""


@dataclass(frozen=True)
class Choice:
    path: Path                      # the model folder (or folder of model folders) to load
    warning: str | None = None      # why another folder beside it was not used
    shipped: bool = False           # the model inside the package (nothing named, no project here)

    @property
    def label(self) -> str:
        """Which model this is, in words: the folder, or the shipped model's name from its card."""
        if not self.shipped:
            return str(self.path)
        return f"the shipped model {shipped_name(self.path)} (see `emoaugnet info`)"


def shipped_name(directory: str | Path = SHIPPED) -> str:
    """The ``name`` in a released model's ``card.json`` (``"(no card)"`` when it has none)."""
    try:
        name = json.loads((Path(directory) / CARD_FILE).read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) else "(no card)"


def has_model(directory: str | Path) -> bool:
    return (Path(directory) / CONFIG_FILE).is_file()


def is_bundle(directory: str | Path) -> bool:
    return has_model(directory) and (Path(directory) / WEIGHTS_FILE).is_file()


def is_export(directory: str | Path) -> bool:
    return has_model(directory) and (Path(directory) / ONNX_FILE).is_file()


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


def resolve(directory: str | Path | None = None, backend: str = "auto") -> Choice:
    """The model folder ``directory`` means (``None``: the current folder as a project root, else the
    shipped model); see the module doc. Raises :class:`NoModel` with a hint, or ValueError for an ensemble of one model twice."""
    given = directory is not None
    directory = Path(directory if given else ".")
    if has_model(directory):
        return Choice(directory)
    export, models = directory / EXPORT, directory / MODELS
    if has_model(export) or has_model(models):
        return _project_choice(export, models, backend)
    from emoaugnet.inference import ensemble   # imports numpy and the params: only for a folder of folders
    if ensemble.is_ensemble(directory):
        check_distinct(ensemble.member_dirs(directory))
        return Choice(directory)
    if not given and is_export(SHIPPED):
        return Choice(SHIPPED, shipped=True)
    where = (f"{directory}: model bundle not found (no {CONFIG_FILE}, and no model folders in it)" if given else
             f"model bundle not found: neither {EXPORT}/ nor {MODELS}/ in {Path.cwd()} holds one ({CONFIG_FILE}), "
             f"and no model is shipped in {SHIPPED} (`emoaugnet release` puts one there)")
    raise NoModel(f"{where}; {how_to_get(directory)}")


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
