"""The classic part of a release: the eGeMAPS + SVM whose answers the speaker-adapted member averages in.

``emoaugnet release --speaker-export ... --classic DIR --fusion FILE`` ships ``DIR`` (``classic.onnx`` and
``classic.json`` from ``dvc repro baseline_export@all``, :mod:`emoaugnet.evaluation.baseline_export`) in the
member's folder as ``speaker/classic/`` (:mod:`emoaugnet.inference.classic` reads it there). Checked first: it
loads, its classes and sample rate are the member's, it was trained on the member's corpora and speakers,
and ``FILE`` (tools/fusion_cv.py ``--out``) measured the average at its weight. The card's
``speaker_model.classic`` says what it is, how it was made, its weight, the averaged answer's
cross-validation figures and calibration, and its files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from emoaugnet.atomic import atomic_path
from emoaugnet.inference import classic
from emoaugnet.release.member import check_same_data
from emoaugnet.release.provenance import ReleaseError, sha256, training_command


def check(folder: Path, member: list[dict[str, Any]], exports: list[Path]) -> classic.ClassicModel:
    """The classic part in ``folder``, refused unless it fits the member (``member``: its models' configs)."""
    try:
        model = classic.load(folder)
    except classic.ClassicError as exc:
        raise ReleaseError(f"{exc}; make it with `dvc repro baseline_export@all`") from None
    try:
        classic.check(model, member[0].get("classes", []), member[0].get("audio", {}).get("sample_rate"))
    except classic.ClassicError as exc:
        raise ReleaseError(str(exc)) from None
    check_same_data([*member, model.config], [*exports, folder])     # every model of the member and the part
    return model


def figures(path: Path, weight: float) -> dict[str, Any]:
    """The averaged answer's cross-validation figures from tools/fusion_cv.py's JSON, at ``weight``."""
    try:
        got = json.loads(path.read_text())
        summary, folds = got["summary"], got["folds"]
        key = f"fusion_{weight:g}"
        fused, network, svm = summary[key], summary["network"], summary["svm"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"{path}: not tools/fusion_cv.py --out figures with weight {weight:g} ({exc})") from None
    if not got.get("speaker_norm"):
        raise ReleaseError(f"{path}: measured with the SVM standardised globally (--svm-global); the member's "
                           "partner standardises per speaker")
    return {"file": str(path), "network_cv": got["network"], "weight": weight,
            "unweighted_accuracy": round(fused["mean"], 6), "sd": round(fused["sd"], 6),
            "network_alone": round(network["mean"], 6), "svm_alone": round(svm["mean"], 6),
            "per_fold": [round(f[key], 6) for f in folds]}


def section(folder: Path, model: classic.ClassicModel, fusion: Path) -> dict[str, Any]:
    """The card's ``speaker_model.classic``."""
    config = model.config
    split = config.get("split", {})
    return {"folder": f"speaker/{classic.FOLDER}", "model": config.get("model"),
            "feature_set": config.get("feature_set"), "fusion_weight": model.weight,
            "chosen": config.get("chosen"), "versions": config.get("versions"),
            "trained_by": training_command(split, f" -S 'baseline.corpora=[{','.join(split.get('corpora', []))}]' "
                                                  "-S 'baseline.export=[all]'", "baseline_export@all"),
            "calibration": config.get("calibration"), "figures": figures(fusion, model.weight),
            "files": {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)}
                      for name in (classic.ONNX_FILE, classic.CONFIG_FILE)}}


def copy(folder: Path, to: Path) -> None:
    """``classic.onnx`` then ``classic.json`` (it marks a complete part) into ``to``, each atomically."""
    to.mkdir(parents=True, exist_ok=True)
    for name in (classic.ONNX_FILE, classic.CONFIG_FILE):
        with atomic_path(to / name) as tmp:
            shutil.copyfile(folder / name, tmp)


def check_listed(to: Path, old: dict[str, Any], exports: list[Path], configs: list[dict[str, Any]]) -> None:
    """Refuse a release folder whose models are not those its card lists: other model folders, or a member
    model whose ``model.json`` records another bundle or calibration than its card entry."""
    from emoaugnet.inference import model_dir
    main = sorted(d.name for d in model_dir.member_dirs(to))
    listed = sorted(m["folder"] for m in old.get("models") or [])
    if main != listed:
        raise ReleaseError(f"{to}: holds the models {main or ['(one, at the top)']}, its card lists "
                           f"{listed or ['(one, at the top)']}; release the models again")
    entries = {m["folder"]: m for m in old["speaker_model"].get("models") or []}
    for export, config in zip(exports, configs):
        name = export.relative_to(to).as_posix()
        entry = entries.pop(name, None)
        if entry is None or (config.get("onnx", {}).get("bundle_sha256"), config.get("calibration")) != \
                (entry.get("bundle_sha256"), entry.get("calibration")):
            raise ReleaseError(f"{export / model_dir.CONFIG_FILE}: not the member model its card lists (bundle, "
                               "calibration); release the models again")
    if entries:
        raise ReleaseError(f"{to}: the card's member models {sorted(entries)} are missing; release the models again")


def add_to_release(to: Path, folder: Path, fusion: Path, root: Path, card_md: Path,
                   allow_dirty: bool = False) -> dict[str, Any]:
    """``emoaugnet release --keep-models --classic DIR --fusion FILE``: the release already in ``to`` released again
    with the classic part beside its speaker-adapted member, its models as they are (each file checked against
    the sha256 its card lists; their entries, figures and calibrations kept). The card's name, commit and date
    become this release's, ``models_released_as`` names the release its models came from."""
    from datetime import datetime, timezone

    from emoaugnet.atomic import write_text
    from emoaugnet.inference import model_dir
    from emoaugnet.model import bundle
    from emoaugnet.release import card as card_mod, provenance
    old = card_mod.read(to)
    member = old.get("speaker_model")
    if not member:
        raise ReleaseError(f"{to}: its release has no speaker-adapted member to average the classic part into")
    speaker = to / model_dir.SPEAKER_FOLDER
    for base, listed in ((to, old.get("files") or {}), (speaker, member.get("files") or {})):
        for name, f in listed.items():
            if not (base / name).is_file() or sha256(base / name) != f.get("sha256"):
                raise ReleaseError(f"{base / name}: not the file its card lists (sha256 {f.get('sha256')}); release "
                                   "the models again (`emoaugnet release` without --keep-models)")
    exports = model_dir.member_dirs(speaker) or [speaker]
    configs = [bundle.read_config(e) for e in exports]
    check_listed(to, old, exports, configs)
    partner = check(folder, configs, exports)
    try:
        commit, changed = provenance.check_clean(root, allow_dirty)
    except provenance.TreeError as exc:
        raise ReleaseError(str(exc)) from None
    new = {**old, "speaker_model": {**member, "classic": section(folder, partner, fusion)},
           "name": f"{old['name'].rsplit('-', 1)[0]}-{commit[:7]}", "commit": commit,
           "released": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "dirty": commit == provenance.NOT_GIT or bool(changed),
           "models_released_as": old.get("models_released_as") or old["name"]}
    for key in ("allow_dirty", "uncommitted"):
        new.pop(key, None)
    if new["dirty"]:
        new.update(allow_dirty=True, uncommitted=changed[:20])
    text = json.dumps(new, indent=1, sort_keys=True) + "\n"
    copy(folder, speaker / classic.FOLDER)
    write_text(to / model_dir.CARD_FILE, text)
    write_text(card_md, card_mod.render(json.loads(text)))
    return json.loads(text)
