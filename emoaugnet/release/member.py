"""The speaker-adapted member of a release: its checks, and the card section that says what it is.

``emoaugnet release --speaker-export DIR --speaker-models DIR --adaptation FILE`` ships, beside the single-file
model, a model trained with per-speaker normalisation (``model.feature_norm: speaker``) in the folder
:data:`emoaugnet.inference.model_dir.SPEAKER_FOLDER`, or several such models averaged (an ensemble: DIR a folder
of exports, the ``--speaker-models`` DIR a folder of their bundles under the same names, :func:`pairs`), each
in a subfolder of it; :func:`adaptation_curve` reads its configuration's
cross-validation UA against the number of a speaker's recordings (``tools/adaptation_curve.py``) and
finds ``min_recordings``, from which :mod:`emoaugnet.inference.model_dir` lets it answer.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from emoaugnet.inference import model_dir
from emoaugnet.inference.onnx_model import FEATURES_FILE, ONNX_FILE
from emoaugnet.release.provenance import FIGURES, ReleaseError, files, speakers, training_command


def adaptation_curve(path: Path, single_file: float | None, averaged: bool = False,
                     chosen: tuple[int, str] | None = None, part: dict[str, Any] | None = None) -> dict[str, Any]:
    """The speaker-adapted member's figures from ``tools/adaptation_curve.py``'s JSON: mean +- sd of the
    cross-validation UA per number of the speaker's recordings, and ``min_recordings``, the fewest whose
    mean beats ``single_file`` (the single-file model's cross-validation UA, ``averaged`` with its classic
    part or not; None: 1). ``chosen``: another number of the curve and why (``release --min-recordings N
    --why TEXT``), e.g. measured on a corpus neither model heard; the card keeps the rule's number beside it.
    ``part``: the member's classic part (its ``classic.json`` or card section; None: it has none): the curve
    must measure the member as it answers, averaged with it (at its weight, from
    :data:`emoaugnet.inference.classic.MIN_RECORDINGS` recordings) exactly when it has one."""
    try:
        got = json.loads(path.read_text())
        curve, classic = got["recordings_per_speaker"], got.get("classic")
        rows = {str(n): [float(v) for v in values] for n, values in curve.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReleaseError(f"{path}: not an adaptation curve of tools/adaptation_curve.py ({exc})") from None
    check_averaged(path, classic, part)
    figures = {n: {"unweighted_accuracy": round(statistics.fmean(v), 6),
                   "sd": round(statistics.stdev(v), 6) if len(v) > 1 else None, "runs": len(v)}
               for n, v in rows.items()}
    counts = sorted(int(n) for n in rows if n.isdigit())
    wins = [n for n in counts if single_file is None or figures[str(n)]["unweighted_accuracy"] > single_file]
    if not wins:
        raise ReleaseError(f"{path}: the speaker-adapted model beats the single-file model's cross-validation "
                           f"UA ({single_file}) at no number of recordings; release it without the member")
    why = None
    if chosen is not None:
        if str(chosen[0]) not in figures or not chosen[1].strip():
            raise ReleaseError(f"--min-recordings {chosen[0]}: give a number of recordings the curve {path} measured "
                               f"({', '.join(map(str, counts))}) and --why with the measurement behind it")
        why = {"min_recordings": chosen[0], "why": chosen[1].strip(), "by_the_rule": wins[0]}
    return {"file": str(path), "recordings": figures, "min_recordings": wins[0] if why is None else chosen[0],
            "chosen": why,
            "single_file_unweighted_accuracy": single_file, "single_file_averaged_with_classic": averaged,
            # tools/adaptation_curve.py --classic: averaged with the SVM from that many recordings, as the member answers
            "averaged_with_classic": bool(classic),
            "averaged_from_recordings": classic.get("min_recordings") if isinstance(classic, dict) else None}


def check_averaged(path: Path, classic: Any, part: dict[str, Any] | None) -> None:
    """Refuse a curve (``classic``: its record of the SVM averaged in, or None) that does not measure the
    member as it answers beside ``part``."""
    from emoaugnet.inference.classic import MIN_RECORDINGS
    if part is None and classic:
        raise ReleaseError(f"{path}: averaged with an eGeMAPS + SVM (tools/adaptation_curve.py --classic), but the "
                           "member has no classic part: give its curve alone, or --classic with its part")
    if part is not None and not isinstance(classic, dict):
        raise ReleaseError(f"{path}: the member's curve alone, but it answers averaged with its classic part: "
                           "measure it with tools/adaptation_curve.py --classic")
    if part is not None and (classic.get("min_recordings"), classic.get("weight")) != (MIN_RECORDINGS,
                                                                                       part.get("fusion_weight")):
        raise ReleaseError(f"{path}: averaged from {classic.get('min_recordings')} recordings at weight "
                           f"{classic.get('weight')}; the member averages its part in from {MIN_RECORDINGS} at "
                           f"{part.get('fusion_weight')}: measure the curve again")


def pairs(export: Path, models: Path, to: Path) -> list[tuple[Path, Path]]:
    """``(export, bundle)`` of each model: the one, or for a folder of exports (an ensemble) each model
    subfolder (:func:`emoaugnet.inference.model_dir.member_dirs`) with the bundle of the same name under
    ``models``. Refused: a subfolder named like the speaker-adapted member's or a classic part's, one model twice (it would
    not load), a source inside ``to`` (the release rewrites it)."""
    if model_dir.has_model(export) or not export.is_dir():
        found = [(export, models)]
    else:
        dirs = model_dir.member_dirs(export)
        if not dirs:
            raise ReleaseError(f"{export}: neither an ONNX export ({model_dir.CONFIG_FILE}) nor a folder of exports")
        from emoaugnet.inference.classic import FOLDER
        for name, whose in ((model_dir.SPEAKER_FOLDER, "the speaker-adapted member's"), (FOLDER, "a classic part's")):
            if any(d.name == name for d in dirs):
                raise ReleaseError(f"{export / name}: a model folder named like {whose} would take its place; "
                                   "rename it")
        found = [(d, models / d.name) for d in dirs]
    target = to.resolve()
    for e, _ in found:
        if target == e.resolve() or target in e.resolve().parents:
            raise ReleaseError(f"{e}: inside {to}, which the release rewrites; release from an export elsewhere")
    try:
        model_dir.check_distinct([e for e, _ in found])
    except ValueError as exc:
        raise ReleaseError(str(exc)) from None
    return found


def check_same_data(configs: list[dict[str, Any]], exports: list[Path]) -> None:
    """Refuse an ensemble whose models trained on different corpora or speakers (the card names one set)."""
    keys = ("corpora", "test_speakers", "val_speakers")
    first = {k: configs[0].get("split", {}).get(k) for k in keys}
    for config, export in zip(configs[1:], exports[1:]):
        now = {k: config.get("split", {}).get(k) for k in keys}
        if now != first:
            raise ReleaseError(f"{export}: trained on {json.dumps(now)}, {exports[0]} on {json.dumps(first)}; the "
                               "models of one speaker-adapted member train on the same speakers")


def check_member(config: dict[str, Any], main: dict[str, Any], export: Path) -> None:
    """Refuse a speaker-adapted member whose classes or audio window differ from the single-file model's."""
    for key in ("classes", "audio"):
        if config.get(key) != main.get(key):
            raise ReleaseError(f"{export}: its {key} ({json.dumps(config.get(key))}) differ from the single-file "
                               f"model's ({json.dumps(main.get(key))}); both members answer the same question")


def ensemble_card(card: dict[str, Any], exports: list[Path], configs: list[dict[str, Any]]) -> None:
    """A release of several models averaged: the card's ``models`` (each one's folder, ``trained_by``,
    training, calibration, bundle), its ``files`` in their subfolders, and no single model's entries."""
    card["models"] = [model_entry(e.name, c, card) for e, c in zip(exports, configs)]
    card["files"] = {f"{e.name}/{name}": f for e in exports for name, f in files(e).items()}
    card.update({"calibration": None, "trained_by": None, "training": None, "bundle_sha256": None})


def clear(to: Path) -> None:
    """Remove what the release before put in ``to``, as its ``card.json`` lists it (the single model's files,
    the subfolders of the models it averaged, its speaker-adapted member, its classic part, or a classic part
    an interrupted release left), ``card.json`` last; nothing else."""
    try:
        old = json.loads((to / model_dir.CARD_FILE).read_text())
    except (OSError, ValueError):
        old = {}
    old = old if isinstance(old, dict) else {}
    for name in (model_dir.CONFIG_FILE, ONNX_FILE, FEATURES_FILE):
        (to / name).unlink(missing_ok=True)
    folders = [m.get("folder") for m in old.get("models") or [] if isinstance(m, dict)]
    folders += [model_dir.SPEAKER_FOLDER] if old.get("speaker_model") else []
    folders += [old["classic"].get("folder")] if isinstance(old.get("classic"), dict) else []
    from emoaugnet.inference.classic import CONFIG_FILE, FOLDER
    if (to / FOLDER / CONFIG_FILE).is_file():      # a part an interrupted release copied before its card
        folders.append(FOLDER)
    for folder in folders:
        if isinstance(folder, str) and folder and (to / folder).is_dir() and to.resolve() in (to / folder).resolve().parents:
            shutil.rmtree(to / folder)
    (to / model_dir.CARD_FILE).unlink(missing_ok=True)


def single_file_figure(card: dict[str, Any]) -> tuple[float | None, bool]:
    """The single-file model's cross-validation UA that the member must beat, and whether it is averaged with
    its classic part: so when the release ships one (``card["classic"]``), else the network's."""
    if card.get("classic"):
        return card["classic"]["figures"]["unweighted_accuracy"], True
    cv_figure = next((f for f in card["figures"] if f["what"] == FIGURES[1][1]), None)
    return None if cv_figure is None else cv_figure["unweighted_accuracy"], False


def speaker_section(exports: list[Path], configs: list[dict[str, Any]], adaptation: Path,
                    main_card: dict[str, Any], manifests: Path, chosen: tuple[int, str] | None = None,
                    part: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's ``speaker_model``: what the speaker-adapted member is (its models, each with how it was
    trained and its calibration), the data it trained on, its figures and files (paths within its folder).
    ``main_card``: the release's card, its ``classic`` part (if any) already in."""
    curve = adaptation_curve(adaptation, *single_file_figure(main_card), chosen=chosen, part=part)
    single = len(exports) == 1
    split = configs[0].get("split", {})
    models, found = [], {}
    for export, config in zip(exports, configs):
        folder = model_dir.SPEAKER_FOLDER if single else f"{model_dir.SPEAKER_FOLDER}/{export.name}"
        models.append(model_entry(folder, config, main_card))
        found.update({name if single else f"{export.name}/{name}": f for name, f in files(export).items()})
    return {"folder": model_dir.SPEAKER_FOLDER, "feature_norm": "speaker", "models": models,
            "corpora": [{"name": c, "speakers": speakers(split, c, manifests)} for c in split.get("corpora", [])],
            "split": {k: split.get(k) for k in ("protocol", "counts")},
            "adaptation": curve, "min_recordings": curve["min_recordings"], "files": found}


def model_entry(folder: str, config: dict[str, Any], main_card: dict[str, Any]) -> dict[str, Any]:
    """One model of the member: where it is, the ``dvc exp run`` line that trains it, its settings."""
    training = config.get("training", {})
    differs = {f"{section}.{k}": v for section in ("model", "features") for k, v in (config.get(section) or {}).items()
               if v != (main_card["params"].get(section) or {}).get(k)}
    seed = config.get("split", {}).get("seed")
    if seed is not None and seed != main_card["params"].get("seed"):     # another draw of the same network
        differs["seed"] = seed
    extra = "".join(f" -S {k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(differs.items()))
    return {"folder": folder, "trained_by": training_command(config.get("split", {}), extra),
            "model": config.get("model"), "features": config.get("features"),
            "training": {k: training.get(k) for k in ("epochs_run", "best_epoch", "parameters", "precision")},
            "calibration": config.get("calibration"), "bundle_sha256": config.get("onnx", {}).get("bundle_sha256")}
