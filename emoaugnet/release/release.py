"""``emoaugnet release``: copy a freshly made ONNX export into the package (``emoaugnet/shipped/``) with its card.

What it checks before writing anything (each refusal a :class:`ReleaseError` naming the folder and why):

* ``--export`` is an ONNX export made from the bundle now in ``--models`` (:func:`emoaugnet.inference.model_dir.stale_export`);
* the model classifies a single file of an unknown speaker: no feature normalisation by a group's
  statistics (:func:`emoaugnet.model.normalisation.needs_group_stats`);
* params.yaml still describes it: the export's ``model.json`` records the model, audio, feature and split
  params and the epochs, batch size and learning rate it was trained with, and they must equal params.yaml's
  (so the card's params, copied from params.yaml, are the ones it was trained with);
* no training corpus's licence forbids derived works (:func:`emoaugnet.data.licences.check_releasable`);
* the model files fit the wheel (:data:`MAX_BYTES`);
* the git tree has no uncommitted changes to tracked files, so the card's commit is the code and params the
  model was made from (:func:`emoaugnet.release.provenance.check_clean`); ``allow_dirty`` releases anyway, and the
  card records that and the files that differed.

Then it writes ``model.onnx``, ``features.npz``, ``card.json`` and ``model.json`` (last: it marks a complete
model) into ``--to``, each atomically, and MODEL_CARD.md from the card (:func:`emoaugnet.release.card.render`).
The card (:mod:`emoaugnet.release.card`) holds the params sections that decide the model, the git commit, the
corpora with their speakers and licences, the measured figures found under ``--reports`` with the commands
that produce them, the classes, intended use and known limits.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from emoaugnet.model import bundle, normalisation
from emoaugnet.release import card, provenance
from emoaugnet.data import licences
from emoaugnet.inference import model_dir
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.inference.onnx_model import FEATURES_FILE, ONNX_FILE
from emoaugnet.params import from_dict, recorded

#: The most the shipped model's files may take in the wheel (10 MB).
MAX_BYTES = 10 * 10 ** 6
CV = "dvc exp run -S 'cv.folds=[0,1,2,3,4]' -S 'cv.summary=[all]'"
LOCO = ("dvc exp run -S 'data.corpora=[ravdess,tess,emodb]' -S 'loco.corpora=[ravdess,tess,emodb]' "
        "-S 'loco.summary=[all]'")
#: Figures a card carries when their file is under --reports: (path, what it measures, the command).
FIGURES = (
    ("metrics.json", "held-out test speakers (split.test_speakers), this model", "dvc repro evaluate"),
    ("cv/metrics.json", "5-fold speaker cross-validation, this configuration (mean +- sd over folds)", CV),
    ("cv/baseline/metrics.json", "eGeMAPS + SVM baseline, the same folds",
     CV + " -S 'baseline.corpora=[ravdess]' -S 'baseline.cv=[all]'"),
    ("loco/metrics.json", "leave-one-corpus-out (mean +- sd over held-out corpora)", LOCO),
    ("loco/baseline/metrics.json", "eGeMAPS + SVM baseline, leave-one-corpus-out",
     LOCO + " -S 'baseline.corpora=[ravdess,tess,emodb]' -S 'baseline.loco=[all]'"),
)
INTENDED_USE = ("Research and demonstration: estimating the emotion expressed in short recordings of acted "
                "speech, and a baseline to compare speech emotion recognition methods with.")
LIMITS = (
    "Trained and measured on acted speech only; accuracy on spontaneous, conversational speech is unknown.",
    "Languages heard in training: {languages}; other languages are untested.",
    "It hears {window:g} s windows; a recording's result is the mean over its windows, and recordings shorter "
    "than 0.5 s get too_short, not an emotion.",
    "Its {n} classes are the only answers it can give; speech with none of these emotions still gets one of them.",
    "Not for decisions about people (hiring, health, policing, credit, education): the figures above are "
    "far from perfect and were measured on a few dozen actors.",
)


class ReleaseError(ValueError):
    """A model that cannot be released; ``str()`` names the folder and the reason."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_export(export: Path, models: Path) -> dict[str, Any]:
    """The fresh export's ``model.json``, or :class:`ReleaseError`."""
    if not model_dir.is_export(export):
        raise ReleaseError(f"{export}: no ONNX export ({model_dir.CONFIG_FILE} and {ONNX_FILE}); make one with "
                           "`dvc repro export` (or `emoaugnet export`)")
    if not model_dir.is_bundle(models):
        raise ReleaseError(f"{models}: no model bundle, so {export} cannot be checked to be fresh; release from "
                           "the project where it was trained (`dvc repro export`), or pass --models")
    why = model_dir.stale_export(export, models)
    if why:
        raise ReleaseError(f"{why}; re-export it (`dvc repro export`) before releasing")
    config = bundle.read_config(export)
    desc = bundle.describe(export, config)
    if normalisation.needs_group_stats(desc):
        raise ReleaseError(f"{export}: trained with model.feature_norm: {normalisation.method(desc)}, so it needs "
                           "the statistics of a group of one speaker's recordings and cannot classify a single "
                           "file of an unknown speaker; release a model with feature_norm none or utterance")
    return config


def check_params(config: dict[str, Any], tree: dict[str, Any], where: str) -> None:
    """Refuse when params.yaml (``tree``) no longer describes the model its ``model.json`` records."""
    p = from_dict(tree)
    split = config.get("split", {})
    now = {"classes": list(p.classes), "model": recorded(p.model), "audio": recorded(p.audio),
           "features": recorded(p.features, exclude=("workers",)),
           "split": {"protocol": p.split.protocol, "seed": p.seed, "corpora": list(p.corpora_to_run)},
           "training": {"max_epochs": p.train.epochs, "batch_size": p.train.batch_size,
                        "learning_rate": p.train.learning_rate}}
    then = {"classes": config.get("classes"), "model": config.get("model"), "audio": config.get("audio"),
            "features": config.get("features"),
            "split": {k: split.get(k) for k in ("protocol", "seed", "corpora")},
            "training": {k: config.get("training", {}).get(k) for k in ("max_epochs", "batch_size", "learning_rate")}}
    current = card.flatten(now)
    differ = [f"{k}: model {json.dumps(v)}, params.yaml {json.dumps(current.get(k))}"
              for k, v in card.flatten(then).items() if current.get(k) != v]
    if differ:
        raise ReleaseError(f"{where} does not describe the model it would release ({'; '.join(differ)}); "
                           "retrain and export at these params (`dvc repro`) or restore them")


def speakers(split: dict[str, Any], corpus: str, manifests: Path) -> dict[str, list[str] | None]:
    """Training, validation and test speakers of ``corpus`` (training: from its manifest, when present)."""
    single = len(split.get("corpora", [])) == 1

    def mine(ids: list[str]) -> list[str]:
        return [s if single else s.split(":", 1)[1] for s in map(str, ids) if single or s.startswith(corpus + ":")]
    test, val = mine(split.get("test_speakers", [])), mine(split.get("val_speakers", []))
    train = None
    manifest = manifests / f"{corpus}.csv"
    if manifest.is_file():
        from emoaugnet.data import manifest as manifest_mod
        present = {u.speaker for u in manifest_mod.read(manifest, kept_only=True)}
        held = set(test) | set(val) if split.get("protocol") == "speaker" else set()
        train = sorted(present - held, key=lambda s: (len(s), s))
    return {"train": train, "val": val, "test": test}


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    if isinstance(metrics.get("mean"), dict):            # a summary over folds or corpora
        return {"unweighted_accuracy": metrics["mean"].get("unweighted_accuracy"),
                "weighted_accuracy": metrics["mean"].get("weighted_accuracy"),
                "sd": (metrics.get("sd") or {}).get("unweighted_accuracy"), "runs": metrics.get("folds_run")}
    return {"unweighted_accuracy": metrics.get("unweighted_accuracy"),
            "weighted_accuracy": metrics.get("weighted_accuracy"), "protocol": metrics.get("protocol")}


def _speakers_scored(metrics: Path) -> str:
    """`` (speakers A, B)``: the speakers in the ``predictions.csv`` beside ``metrics``, so a figure on a
    corpus says which of its speakers it measured ("" when the file is not there)."""
    import csv
    predictions = metrics.parent / "predictions.csv"
    if not predictions.is_file():
        return ""
    with open(predictions, newline="") as f:
        speakers = sorted({row["speaker"] for row in csv.DictReader(f) if row.get("speaker")},
                          key=lambda s: (len(s), s))
    return f" (speaker{'s' if len(speakers) > 1 else ''} {', '.join(speakers)})" if speakers else ""


def figures(reports: Path, cv: Path | None = None) -> list[dict[str, Any]]:
    """The measured figures found under ``reports`` (``cv``: the cross-validation summary, if elsewhere)."""
    found: list[tuple[Path, str, str]] = [((cv if cv is not None and rel == "cv/metrics.json" else reports / rel),
                                           what, command) for rel, what, command in FIGURES]
    for path in sorted(reports.glob("cross/*/metrics.json")):
        corpus = path.parent.name
        found.append((path, f"cross-corpus: every recording of {corpus}{_speakers_scored(path)}, never seen in "
                            "training", f"dvc repro cross_evaluate@{corpus} (with evaluate.cross_corpora=[{corpus}])"))
    for path in sorted(reports.glob("cross/baseline/*/metrics.json")):
        corpus = path.parent.name
        found.append((path, f"eGeMAPS + SVM baseline, cross-corpus on {corpus}{_speakers_scored(path)}",
                      f"dvc repro baseline_cross@{corpus} (with baseline.cross_corpora=[{corpus}])"))
    out = []
    for path, what, command in found:
        if not path.is_file():
            continue
        try:
            metrics = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ReleaseError(f"{path}: not a readable metrics file ({exc})") from None
        out.append({"what": what, "file": str(path), "command": command, **_headline(metrics)})
    return out


def build_card(export: Path, config: dict[str, Any], tree: dict[str, Any], reports: Path, cv: Path | None,
               root: Path, allow_dirty: bool = False) -> dict[str, Any]:
    split, corpora = config.get("split", {}), list(config.get("split", {}).get("corpora", []))
    licences.check_releasable(corpora)
    try:
        commit, changed = provenance.check_clean(root, allow_dirty)
    except provenance.TreeError as exc:
        raise ReleaseError(str(exc)) from None
    dirty = commit == provenance.NOT_GIT or bool(changed)
    manifests = root / from_dict(tree).paths.manifests
    languages = sorted({licences.licence(c).language for c in corpora})
    desc = bundle.describe(export, config)
    ap = desc.audio_params
    training = config.get("training", {})
    return {
        "format": card.FORMAT,
        "name": f"emoaugnet-{'-'.join(corpora)}-{commit[:7]}",
        "released": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit, "dirty": dirty,
        **({"allow_dirty": True, "uncommitted": changed[:20]} if dirty else {}),   # released with --allow-dirty
        "classes": list(desc.classes),
        "input": {"sample_rate": ap.sample_rate, "window_seconds": ap.duration, "layout": desc.layout,
                  "feature_norm": normalisation.method(desc)},
        "params": card.model_sections(tree),
        "corpora": [{"name": c, "language": licences.licence(c).language, "licence": licences.licence(c).name,
                     "derived_works": licences.licence(c).derived_works,
                     "speakers": speakers(split, c, manifests)} for c in corpora],
        "split": {k: split.get(k) for k in ("protocol", "fold", "counts", "leakage")},
        "training": {k: training.get(k) for k in ("epochs_run", "best_epoch", "parameters", "precision")},
        "weights_licence": licences.weights_licence(corpora),
        "figures": figures(reports, cv),
        "intended_use": INTENDED_USE,
        "limits": [limit.format(languages=", ".join(languages), window=ap.duration, n=len(desc.classes))
                   for limit in LIMITS],
        "bundle_sha256": config.get("onnx", {}).get("bundle_sha256"),
        "files": {name: {"bytes": (export / name).stat().st_size, "sha256": _sha256(export / name)}
                  for name in (ONNX_FILE, FEATURES_FILE)},
    }


def release(export: str | Path = "export", to: str | Path = "emoaugnet/shipped", models: str | Path = "models",
            reports: str | Path = "reports", cv: str | Path | None = None, card_md: str | Path = "MODEL_CARD.md",
            params_file: str | Path = "params.yaml", allow_dirty: bool = False) -> dict[str, Any]:
    """Check and copy ``export`` into ``to`` with ``card.json``; write ``card_md``. Returns the card.
    ``allow_dirty``: release from a tree with uncommitted changes (the card records it)."""
    export, to, params_file = Path(export), Path(to), Path(params_file)
    config = check_export(export, Path(models))
    try:
        tree = yaml.safe_load(params_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{params_file}: cannot read the params ({exc})") from None
    check_params(config, tree, str(params_file))
    size = sum((export / name).stat().st_size for name in (ONNX_FILE, FEATURES_FILE))
    if size > MAX_BYTES:
        raise ReleaseError(f"{export}: {size} bytes of model files; the package holds at most {MAX_BYTES}")
    root = params_file.resolve().parent
    the_card = build_card(export, config, tree, Path(reports), None if cv is None else Path(cv), root, allow_dirty)
    text = json.dumps(the_card, indent=1, sort_keys=True) + "\n"
    the_card = json.loads(text)            # as card.read gives it back: MODEL_CARD.md is rendered from this
    to.mkdir(parents=True, exist_ok=True)
    (to / model_dir.CONFIG_FILE).unlink(missing_ok=True)      # model.json marks a complete model: last
    for name in (ONNX_FILE, FEATURES_FILE):
        with atomic_path(to / name) as tmp:
            shutil.copyfile(export / name, tmp)
    write_text(to / model_dir.CARD_FILE, text)
    with atomic_path(to / model_dir.CONFIG_FILE) as tmp:
        shutil.copyfile(export / model_dir.CONFIG_FILE, tmp)
    write_text(card_md, card.render(the_card))
    return the_card
