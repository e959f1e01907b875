"""The classic parts of a release: the eGeMAPS + SVMs whose answers the models average in.

``emoaugnet release ... --classic DIR --fusion FILE`` (each may be given twice) ships ``DIR`` (``classic.onnx``
and ``classic.json`` from ``dvc repro baseline_export@all``, :mod:`emoaugnet.evaluation.baseline_export`) beside
the model whose kind its standardisation fits (:func:`emoaugnet.inference.classic.check`, :func:`place`): a part
fit on globally standardised functionals beside the single-file model, as ``classic/``; one fit per speaker
beside the speaker-adapted member, as ``speaker/classic/`` (:mod:`emoaugnet.inference.classic` reads them
there). Checked first: it loads, its classes and sample rate are its network's, it was trained on that
network's corpora and speakers, and ``FILE`` (tools/fusion_cv.py ``--out``) measured the average with the same
standardisation at its weight. The card's ``classic`` (single file) and ``speaker_model.classic`` say what it
is, how it was made, its weight, the averaged answer's cross-validation figures and calibration, and its files.
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


def load(folder: Path) -> classic.ClassicModel:
    """The classic part in ``folder``, or :class:`ReleaseError` saying how to make it."""
    try:
        return classic.load(folder)
    except classic.ClassicError as exc:
        raise ReleaseError(f"{exc}; make it with `dvc repro baseline_export@all`") from None


def place(model: classic.ClassicModel) -> str:
    """Its folder in a release: ``speaker/classic`` or ``classic``."""
    from emoaugnet.inference.model_dir import SPEAKER_FOLDER
    return f"{SPEAKER_FOLDER}/{classic.FOLDER}" if model.per_speaker else classic.FOLDER


def check(model: classic.ClassicModel, network: list[dict[str, Any]], exports: list[Path]) -> None:
    """Refuse the classic part ``model`` unless it fits ``network`` (the configs of the models it sits beside)."""
    try:
        classic.check(model, network[0].get("classes", []), network[0].get("audio", {}).get("sample_rate"),
                      model.per_speaker)
    except classic.ClassicError as exc:
        raise ReleaseError(str(exc)) from None
    check_same_data([*network, model.config], [*exports, model.folder])     # every model beside it and the part


def parts(classics: list[str | Path], fusions: list[str | Path]) -> dict[bool, tuple[classic.ClassicModel, Path]]:
    """``--classic`` and ``--fusion``, paired in order, by kind (``True``: the member's): at most one of each."""
    if len(classics) != len(fusions):
        raise ReleaseError(f"{len(classics)} --classic and {len(fusions)} --fusion: give one --fusion (tools/"
                           "fusion_cv.py's figures) for each --classic, in the same order")
    out: dict[bool, tuple[classic.ClassicModel, Path]] = {}
    for folder, fusion in zip(classics, fusions):
        model = load(Path(folder))
        if model.per_speaker in out:
            raise ReleaseError(f"{folder}: a second classic part for the {place(model)} folder")
        out[model.per_speaker] = (model, Path(fusion))
    return out


def figures(path: Path, weight: float, speaker_norm: bool) -> dict[str, Any]:
    """The averaged answer's cross-validation figures from tools/fusion_cv.py's JSON, at ``weight``, measured
    with the part's standardisation."""
    try:
        got = json.loads(path.read_text())
        summary, folds = got["summary"], got["folds"]
        key = f"fusion_{weight:g}"
        fused, network, svm = summary[key], summary["network"], summary["svm"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"{path}: not tools/fusion_cv.py --out figures with weight {weight:g} ({exc})") from None
    if bool(got.get("speaker_norm")) != speaker_norm:
        raise ReleaseError(f"{path}: measured with the SVM standardised "
                           f"{'per speaker' if got.get('speaker_norm') else 'globally (--svm-global)'}; the part "
                           f"standardises {'per speaker' if speaker_norm else 'globally'}")
    return {"file": str(path), "network_cv": got["network"], "weight": weight,
            "unweighted_accuracy": round(fused["mean"], 6), "sd": round(fused["sd"], 6),
            "network_alone": round(network["mean"], 6), "svm_alone": round(svm["mean"], 6),
            "per_fold": [round(f[key], 6) for f in folds]}


def section(model: classic.ClassicModel, fusion: Path) -> dict[str, Any]:
    """The card's ``classic`` or ``speaker_model.classic``."""
    config, folder = model.config, model.folder
    split = config.get("split", {})
    return {"folder": place(model), "standardised": "per speaker" if model.per_speaker else "globally",
            "max_seconds": classic.MAX_SECONDS,
            **({"min_recordings": classic.MIN_RECORDINGS} if model.per_speaker else {}),
            "model": config.get("model"),
            "feature_set": config.get("feature_set"), "fusion_weight": model.weight,
            "chosen": config.get("chosen"), "versions": config.get("versions"),
            "trained_by": training_command(split, f" -S 'baseline.corpora=[{','.join(split.get('corpora', []))}]' "
                                                  f"-S baseline.speaker_norm={str(model.per_speaker).lower()} "
                                                  f"-S baseline.fusion_weight={model.weight:g} "
                                                  "-S 'baseline.export=[all]'", "baseline_export@all"),
            "calibration": config.get("calibration"), "figures": figures(fusion, model.weight, model.per_speaker),
            "files": {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)}
                      for name in (classic.ONNX_FILE, classic.CONFIG_FILE)}}


def copy(folder: Path, to: Path) -> None:
    """``classic.onnx`` then ``classic.json`` (it marks a complete part) into ``to``, each atomically."""
    to.mkdir(parents=True, exist_ok=True)
    for name in (classic.ONNX_FILE, classic.CONFIG_FILE):
        with atomic_path(to / name) as tmp:
            shutil.copyfile(folder / name, tmp)


def check_listed(to: Path, old: dict[str, Any], models: dict[bool, tuple[list[Path], list[dict[str, Any]]]]) -> None:
    """Refuse a release folder whose models are not those its card lists: other model folders, or a model
    whose ``model.json`` records another bundle or calibration than its card entry. ``models``: the exports
    and configs of the single-file model (``False``) and of the member (``True``) that the new parts sit beside."""
    from emoaugnet.inference import model_dir
    main = sorted(d.name for d in model_dir.member_dirs(to))
    listed = sorted(m["folder"] for m in old.get("models") or [])
    if main != listed:
        raise ReleaseError(f"{to}: holds the models {main or ['(one, at the top)']}, its card lists "
                           f"{listed or ['(one, at the top)']}; release the models again")
    for member, (exports, configs) in models.items():
        card = old["speaker_model"] if member else old          # entries' folders: relative to ``to``
        entries = {m["folder"]: m for m in card.get("models") or [{**card, "folder": card.get("folder", ".")}]}
        for export, config in zip(exports, configs):
            entry = entries.pop(export.relative_to(to).as_posix(), None)
            if entry is None or (config.get("onnx", {}).get("bundle_sha256"), config.get("calibration")) != \
                    (entry.get("bundle_sha256"), entry.get("calibration")):
                raise ReleaseError(f"{export / model_dir.CONFIG_FILE}: not the model its card lists (bundle, "
                                   "calibration); release the models again")
        if entries:
            raise ReleaseError(f"{to}: the card's models {sorted(entries)} are missing; release the models again")


def add_to_release(to: Path, classics: list[str | Path], fusions: list[str | Path], root: Path, card_md: Path,
                   allow_dirty: bool = False, adaptation: Path | None = None,
                   chosen: tuple[int, str] | None = None) -> dict[str, Any]:
    """``emoaugnet release --keep-models --classic DIR --fusion FILE ...``: the release already in ``to`` released
    again with each classic part beside the model its standardisation fits (:func:`parts`), its models as they
    are (each file checked against the sha256 its card lists; their entries, figures and calibrations kept; a
    classic part released before and not given again stays). ``adaptation`` (tools/adaptation_curve.py's JSON;
    needed where the release has a member): the member's curve as it will answer (averaged with its part
    exactly when it has one), and from how many recordings it beats the single-file model's answer
    (:func:`emoaugnet.release.member.single_file_figure`), or ``chosen`` (a number and why,
    :func:`emoaugnet.release.member.adaptation_curve`). The card's name, commit and date become this release's,
    ``models_released_as`` names the release its models came from."""
    from datetime import datetime, timezone

    from emoaugnet.atomic import write_text
    from emoaugnet.inference import model_dir
    from emoaugnet.model import bundle
    from emoaugnet.release import card as card_mod, provenance
    old = card_mod.read(to)
    given = parts(classics, fusions)
    member = old.get("speaker_model")
    if True in given and not member:
        raise ReleaseError(f"{to}: its release has no speaker-adapted member to average {given[True][0].folder} into")
    speaker = to / model_dir.SPEAKER_FOLDER
    kept = [(to / part["folder"], part.get("files") or {}) for kind, part in
            ((False, old.get("classic")), (True, (member or {}).get("classic"))) if part and kind not in given]
    for base, listed in ((to, old.get("files") or {}), (speaker, (member or {}).get("files") or {}), *kept):
        for name, f in listed.items():
            if not (base / name).is_file() or sha256(base / name) != f.get("sha256"):
                raise ReleaseError(f"{base / name}: not the file its card lists (sha256 {f.get('sha256')}); release "
                                   "the models again (`emoaugnet release` without --keep-models)")
    models = {}
    for kind in given:
        base = speaker if kind else to
        exports = model_dir.member_dirs(base) or [base]
        models[kind] = (exports, [bundle.read_config(e) for e in exports])
    check_listed(to, old, models)
    for kind, (model, _) in given.items():
        check(model, models[kind][1], models[kind][0])
    try:
        commit, changed = provenance.check_clean(root, allow_dirty)
    except provenance.TreeError as exc:
        raise ReleaseError(str(exc)) from None
    new = {**old, "name": f"{old['name'].rsplit('-', 1)[0]}-{commit[:7]}", "commit": commit,
           "released": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "dirty": commit == provenance.NOT_GIT or bool(changed),
           "models_released_as": old.get("models_released_as") or old["name"]}
    if False in given:
        new["classic"] = section(*given[False])
    if True in given:
        new["speaker_model"] = {**member, "classic": section(*given[True])}
    if member and adaptation is None:
        raise ReleaseError(f"{to}: its member must beat the single-file model's answer, and a classic part changes "
                           "one of them: give --adaptation, the member's curve as it will answer (tools/"
                           "adaptation_curve.py, --classic where it has a part), so min_recordings is chosen again")
    if adaptation is not None:
        if not member:
            raise ReleaseError(f"{to}: its release has no speaker-adapted member for --adaptation {adaptation}")
        from emoaugnet.release.member import adaptation_curve, single_file_figure
        curve = adaptation_curve(adaptation, *single_file_figure(new), chosen=chosen,
                                 part=new["speaker_model"].get("classic"))
        new["speaker_model"] = {**new["speaker_model"], "adaptation": curve, "min_recordings": curve["min_recordings"]}
    for key in ("allow_dirty", "uncommitted"):
        new.pop(key, None)
    if new["dirty"]:
        new.update(allow_dirty=True, uncommitted=changed[:20])
    text = json.dumps(new, indent=1, sort_keys=True) + "\n"
    for model, _ in given.values():
        copy(model.folder, to / place(model))
    write_text(to / model_dir.CARD_FILE, text)
    write_text(card_md, card_mod.render(json.loads(text)))
    return json.loads(text)
