"""``emoaugnet release``: copy a freshly made ONNX export into the package (``emoaugnet/shipped/``) with its card.

What it checks before writing anything (each refusal a :class:`ReleaseError` naming the folder and why):

* ``--export`` is an ONNX export made from the bundle now in ``--models`` (:func:`emoaugnet.inference.model_dir.stale_export`);
* the model classifies a single file of an unknown speaker: no feature normalisation by a group's
  statistics (:func:`emoaugnet.model.normalisation.needs_group_stats`);
* params.yaml still describes it: the export's ``model.json`` records the model, audio, feature and split
  params and the epochs, batch size and learning rate it was trained with, and they must equal params.yaml's
  (so the card's params, copied from params.yaml, are the ones it was trained with; the corpora and speakers
  it trained on are the card's own, :data:`emoaugnet.release.card.DATA_KEYS`);
* no training corpus's licence forbids derived works (:func:`emoaugnet.data.licences.check_releasable`);
* the model files fit the wheel (:data:`MAX_BYTES`);
* the git tree has no uncommitted changes to tracked files, so the card's commit is the code and params the
  model was made from (:func:`emoaugnet.release.provenance.check_clean`); ``allow_dirty`` releases anyway, and the
  card records that and the files that differed.
* with ``--speaker-export``, the speaker-adapted member's checks (:mod:`emoaugnet.release.member`).

Then it writes ``model.onnx``, ``features.npz``, ``card.json`` and ``model.json`` (last: it marks a complete
model) into ``--to``, each atomically, and MODEL_CARD.md from the card (:func:`emoaugnet.release.card.render`).
The card (:mod:`emoaugnet.release.card`) holds the params sections that decide the model, the git commit, the
corpora with their speakers and licences, the measured figures found under ``--reports`` with the commands
that produce them (:mod:`emoaugnet.release.provenance`), the classes, intended use and known limits.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import yaml

from emoaugnet.model import bundle, normalisation
from emoaugnet.release import card, classic_part, member as member_mod, provenance
from emoaugnet.data import licences
from emoaugnet.inference import classic as classic_mod, model_dir
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.inference.onnx_model import FEATURES_FILE, ONNX_FILE
from emoaugnet.params import from_dict, recorded
from emoaugnet.release.provenance import (  # noqa: F401  (ReleaseError: the command catches it here)
    ReleaseError, figures, files, speakers, training_command)

#: The most the shipped models' files (the single-file model and its speaker-adapted member) may take in
#: the wheel (30 MB).
MAX_BYTES = 30 * 10 ** 6
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


def check_export(export: Path, models: Path, group: bool = False) -> dict[str, Any]:
    """The fresh export's ``model.json``, or :class:`ReleaseError`. ``group``: the speaker-adapted member,
    which must need a speaker's statistics (the single-file model must not)."""
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
    if group and normalisation.method(desc) != "speaker":
        raise ReleaseError(f"{export}: trained with model.feature_norm: {normalisation.method(desc)}; the "
                           "speaker-adapted member is a model trained with model.feature_norm: speaker")
    if not group and normalisation.needs_group_stats(desc):
        raise ReleaseError(f"{export}: trained with model.feature_norm: {normalisation.method(desc)}, so it needs "
                           "the statistics of a group of one speaker's recordings and cannot classify a single "
                           "file of an unknown speaker; release a model with feature_norm none or utterance")
    return config


def check_params(config: dict[str, Any], tree: dict[str, Any], where: str, seed: bool = True) -> None:
    """Refuse when params.yaml (``tree``) no longer describes the model its ``model.json`` records (with
    ``seed`` false, another seed is allowed: the other draws of an average). Which
    corpora and speakers it trained on are not compared (:data:`emoaugnet.release.card.DATA_KEYS`): a release
    trains the configuration on every shippable speaker (:func:`training_command`), the card lists them."""
    p = from_dict(tree)
    split = config.get("split", {})
    now = {"classes": list(p.classes), "model": recorded(p.model), "audio": recorded(p.audio),
           "features": recorded(p.features, exclude=("workers",)),
           "split": {"protocol": p.split.protocol, "seed": p.seed if seed else config.get("split", {}).get("seed")},
           "training": {"max_epochs": p.train.epochs, "batch_size": p.train.batch_size,
                        "learning_rate": p.train.learning_rate}}
    then = {"classes": config.get("classes"), "model": config.get("model"), "audio": config.get("audio"),
            "features": config.get("features"),
            "split": {k: split.get(k) for k in ("protocol", "seed")},
            "training": {k: config.get("training", {}).get(k) for k in ("max_epochs", "batch_size", "learning_rate")}}
    current = card.flatten(now)
    differ = [f"{k}: model {json.dumps(v)}, params.yaml {json.dumps(current.get(k))}"
              for k, v in card.flatten(then).items() if current.get(k) != v]
    if differ:
        raise ReleaseError(f"{where} does not describe the model it would release ({'; '.join(differ)}); "
                           "retrain and export at these params (`dvc repro`) or restore them")


def trained_on(params: dict[str, Any], split: dict[str, Any]) -> dict[str, Any]:
    """The card's params with the data the model was trained on (:data:`emoaugnet.release.card.DATA_KEYS`:
    corpora, test and validation speakers) as its ``model.json`` records them, where params.yaml's differ."""
    for section, key, recorded_as in (("run", "corpora", "corpora"), ("split", "test_speakers", "test_speakers"),
                                      ("split", "val_speakers", "val_speakers")):
        value = split.get(recorded_as)
        if value is not None and [str(v) for v in params[section][key]] != [str(v) for v in value]:
            params[section][key] = list(value)
    return params


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
        "params": trained_on(card.model_sections(tree), split),
        "corpora": [{"name": c, "language": licences.licence(c).language, "licence": licences.licence(c).name,
                     "derived_works": licences.licence(c).derived_works,
                     "speakers": speakers(split, c, manifests)} for c in corpora],
        "split": {k: split.get(k) for k in ("protocol", "fold", "counts", "leakage")},
        "trained_by": training_command(split),
        "calibration": config.get("calibration"),
        "training": {k: training.get(k) for k in ("epochs_run", "best_epoch", "parameters", "precision")},
        "weights_licence": licences.weights_licence(corpora),
        "figures": figures(reports, cv),
        "intended_use": INTENDED_USE,
        "limits": [limit.format(languages=", ".join(languages), window=ap.duration, n=len(desc.classes))
                   for limit in LIMITS],
        "bundle_sha256": config.get("onnx", {}).get("bundle_sha256"),
        "files": files(export),
    }


def _copy_model(export: Path, to: Path, card_text: str | None = None) -> None:
    """``model.onnx``, ``features.npz``, ``card.json`` (``card_text``, when given), then ``model.json`` (it marks
    a complete model), each atomically."""
    to.mkdir(parents=True, exist_ok=True)
    (to / model_dir.CONFIG_FILE).unlink(missing_ok=True)
    for name in (ONNX_FILE, FEATURES_FILE):
        with atomic_path(to / name) as tmp:
            shutil.copyfile(export / name, tmp)
    if card_text is not None:
        write_text(to / model_dir.CARD_FILE, card_text)
    with atomic_path(to / model_dir.CONFIG_FILE) as tmp:
        shutil.copyfile(export / model_dir.CONFIG_FILE, tmp)


def release(export: str | Path = "export", to: str | Path = "emoaugnet/shipped", models: str | Path = "models",
            reports: str | Path = "reports", cv: str | Path | None = None, card_md: str | Path = "MODEL_CARD.md",
            params_file: str | Path = "params.yaml", speaker_export: str | Path | None = None,
            speaker_models: str | Path | None = None, adaptation: str | Path | None = None,
            allow_dirty: bool = False, classic: Sequence[str | Path] = (),
            fusion: Sequence[str | Path] = (), chosen: tuple[int, str] | None = None) -> dict[str, Any]:
    """Check and copy ``export`` into ``to`` with ``card.json``; write ``card_md``. Returns the card.
    ``export`` may be a folder of exports (``models`` then a folder of their bundles under the same names):
    models of params.yaml's configuration drawn with other seeds, averaged; each is copied into a subfolder.
    ``speaker_export`` (made from ``speaker_models``), with ``adaptation`` (tools/adaptation_curve.py's JSON
    for its configuration): the speaker-adapted member, copied into ``to/speaker``; without it, a member
    released before is removed (it would describe another model). ``allow_dirty``: release from a tree with
    uncommitted changes (the card records it). ``classic`` (with ``fusion``, tools/fusion_cv.py's figures, one
    each, in order): the eGeMAPS + SVMs the models average in, each copied beside the model its standardisation
    fits, ``to/classic`` or ``to/speaker/classic`` (:mod:`emoaugnet.release.classic_part`). ``chosen``: the
    member's ``min_recordings`` and why, instead of the curve's rule (:func:`member.adaptation_curve`)."""
    export, to, params_file = Path(export), Path(to), Path(params_file)
    main_pairs = member_mod.pairs(export, Path(models), to)   # one model, or a folder of them averaged
    configs = [check_export(e, m) for e, m in main_pairs]
    member_mod.check_same_data(configs, [e for e, _ in main_pairs])
    config = configs[0]
    member, member_pairs = None, []
    if speaker_export is not None:
        if speaker_models is None or adaptation is None:
            raise ReleaseError("--speaker-export needs --speaker-models (its bundle) and --adaptation (its "
                               "tools/adaptation_curve.py figures)")
        member_pairs = member_mod.pairs(Path(speaker_export), Path(speaker_models), to)
        member = [check_export(e, m, group=True) for e, m in member_pairs]
        for e, c in zip(member_pairs, member):
            member_mod.check_member(c, config, e[0])
        member_mod.check_same_data(member, [e for e, _ in member_pairs])
    given = classic_part.parts(list(classic), list(fusion))
    if True in given and member is None:
        raise ReleaseError(f"{given[True][0].folder}: fit per speaker, it needs --speaker-export (the member whose "
                           "answers it averages in)")
    for kind, (part, _) in given.items():
        pairs = member_pairs if kind else main_pairs
        classic_part.check(part, member if kind else configs, [e for e, _ in pairs])
    try:
        tree = yaml.safe_load(params_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{params_file}: cannot read the params ({exc})") from None
    for i, (c, (e, _)) in enumerate(zip(configs, main_pairs)):    # an average's other draws: their own seeds
        check_params(c, tree, str(params_file) + ("" if len(configs) == 1 else f" ({e.name})"), seed=i == 0)
    exports = [e for e, _ in main_pairs] + [e for e, _ in member_pairs]
    size = sum((e / name).stat().st_size for e in exports for name in (ONNX_FILE, FEATURES_FILE))
    size += sum((part.folder / classic_mod.ONNX_FILE).stat().st_size for part, _ in given.values())
    if size > MAX_BYTES:
        raise ReleaseError(f"{', '.join(map(str, exports))}: {size} bytes of model files; the package holds at "
                           f"most {MAX_BYTES}")
    root = params_file.resolve().parent
    the_card = build_card(main_pairs[0][0], config, tree, Path(reports), None if cv is None else Path(cv), root,
                          allow_dirty)
    if len(main_pairs) > 1:
        member_mod.ensemble_card(the_card, [e for e, _ in main_pairs], configs)
    if False in given:             # before the member: it must beat the single-file model's averaged answer
        the_card["classic"] = classic_part.section(*given[False])
    if member is not None:
        the_card["speaker_model"] = member_mod.speaker_section([e for e, _ in member_pairs], member, Path(adaptation),
                                                               the_card, root / from_dict(tree).paths.manifests,
                                                               chosen, given[True][0].config if True in given else None)
    if True in given:
        the_card["speaker_model"]["classic"] = classic_part.section(*given[True])
    text = json.dumps(the_card, indent=1, sort_keys=True) + "\n"
    the_card = json.loads(text)            # as card.read gives it back: MODEL_CARD.md is rendered from this
    member_mod.clear(to)      # what the release before put there (model.json and card.json mark a whole one)
    if member is not None:
        for e, _ in member_pairs:
            _copy_model(e, to / model_dir.SPEAKER_FOLDER / (e.name if len(member_pairs) > 1 else ""))
    for part, _ in given.values():
        classic_part.copy(part.folder, to / classic_part.place(part))
    if len(main_pairs) == 1:
        _copy_model(main_pairs[0][0], to, card_text=text)
    else:
        for e, _ in main_pairs:
            _copy_model(e, to / e.name)
        write_text(to / model_dir.CARD_FILE, text)
    write_text(card_md, card.render(the_card))
    return the_card
