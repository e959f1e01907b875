"""A released model's card: ``card.json`` beside the model (read here), MODEL_CARD.md rendered from it.

``emoaugnet release`` (:mod:`emoaugnet.release.release`) writes ``card.json``; :func:`render` is the one function
that turns it into text, so MODEL_CARD.md and ``emoaugnet info`` cannot disagree with it. The params a
model was trained with are the sections of params.yaml that decide the model (:func:`model_sections`);
:func:`drift` lists where a params tree differs from a card's (the params-drift test, and release's check
that params.yaml still describes the model it releases). This module imports only json: ``emoaugnet info``
answers without numpy, onnxruntime or Keras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from emoaugnet.inference.model_dir import CARD_FILE, SHIPPED
from emoaugnet.params import OFF_VALUES

FORMAT = 1
#: params.yaml sections copied whole into a card (``augment`` is cut to the variants and the transforms
#: they use; ``features`` leaves out ``workers``, which never changes a value).
WHOLE = ("seed", "classes", "audio", "split", "model", "train")


class CardError(ValueError):
    """A card that is missing or unreadable; ``str()`` names the file."""


def model_sections(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The sections of a params.yaml tree that determine the trained model (a JSON-safe copy)."""
    try:
        augment = tree["augment"]
        variants = [list(chain) for chain in augment.get("variants", [])]
        used = sorted({name for chain in variants for name in chain})
        out = {key: tree[key] for key in WHOLE}
        out["run"] = {"corpora": list(tree["run"]["corpora"])}
        out["augment"] = {"variants": variants, "transforms": {n: augment["transforms"][n] for n in used}}
        out["features"] = {k: v for k, v in tree["features"].items() if k != "workers"}
    except (KeyError, TypeError, AttributeError) as exc:
        raise CardError(f"params: missing section or key {exc} (needed to describe the model)") from None
    return json.loads(json.dumps(out))


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model.conv_activation": "elu", ...}``: the leaves of nested mappings by dotted key."""
    if not isinstance(tree, Mapping):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


#: What a model was trained on rather than how: a release trains params.yaml's configuration on every
#: shippable speaker (``split.test_speakers: []``, docs/release.md), so these are the card's, not drift.
DATA_KEYS = ("run.corpora", "split.test_speakers", "split.val_speakers")


def drift(card_params: Mapping[str, Any], tree: Mapping[str, Any]) -> list[str]:
    """Where params.yaml's ``tree`` and a card's params differ: one ``key: card X, params.yaml Y`` each
    (the data it was trained on, :data:`DATA_KEYS`, is not drift)."""
    mine, theirs = flatten(card_params), flatten(model_sections(tree))
    for key in DATA_KEYS:
        mine.pop(key, None), theirs.pop(key, None)

    def value(side: Mapping[str, Any], key: str) -> Any:
        """A key the card predates reads as its off value (params.recorded leaves off values out)."""
        return side[key] if key in side else OFF_VALUES.get(key.rsplit(".", 1)[-1])
    return [f"{key}: card {json.dumps(value(mine, key))}, params.yaml {json.dumps(value(theirs, key))}"
            for key in sorted(set(mine) | set(theirs)) if value(mine, key) != value(theirs, key)]


def read(directory: str | Path = SHIPPED) -> dict[str, Any]:
    """The card of the model in ``directory`` (the shipped model by default)."""
    path = Path(directory) / CARD_FILE
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise CardError(f"{path}: no model card; `emoaugnet release` writes one beside the model it "
                        "releases (docs/release.md)") from None
    except (OSError, ValueError) as exc:
        raise CardError(f"{path}: not a readable model card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise CardError(f"{path}: not a model card of format {FORMAT}")
    return card


#: The card figures that measure a model on speakers it never heard, preferred first (their ``file``).
UNSEEN = ("reports/cv/metrics.json", "reports/metrics.json")


def unseen_speakers(card: Mapping[str, Any]) -> dict[str, Any] | None:
    """The card's accuracy on speakers the model never heard (the cross-validation figure when the card has
    one, else the held-out test speakers'), with chance level for its classes: ``{"unweighted_accuracy",
    "sd", "what", "command", "chance", "classes"}``; ``None`` when the card has neither figure."""
    figures = {Path(f.get("file", "")).as_posix(): f for f in card.get("figures", [])}
    fig = next((figures[k] for k in UNSEEN if k in figures), None)
    if fig is None or not isinstance(fig.get("unweighted_accuracy"), (int, float)):
        return None
    classes = len(card.get("classes", [])) or 1
    return {"unweighted_accuracy": fig["unweighted_accuracy"], "sd": fig.get("sd"), "what": fig["what"],
            "command": fig["command"], "chance": round(1 / classes, 6), "classes": classes}


def summary_line(card: Mapping[str, Any] | None) -> str:
    """One line saying what the model is, for people (the service's page): its measured accuracy on
    speakers it never heard and chance level, or that it has no card."""
    if card is None:
        return "This model has no card: its accuracy on speakers it never heard is not recorded with it."
    unseen = unseen_speakers(card)
    if unseen is None:
        return f"{card.get('name', 'This model')}: its card records no accuracy on speakers it never heard."
    sd = f" +- {100 * unseen['sd']:.1f}" if unseen.get("sd") else ""
    return (f"{card.get('name', 'This model')}, measured on speakers it never heard: "
            f"{_percent(unseen['unweighted_accuracy'])}{sd} unweighted accuracy ({unseen['what'].split(',')[0]}); "
            f"chance: {_percent(unseen['chance'])} ({unseen['classes']} classes).")


def calibration_lines(card: Mapping[str, Any]) -> list[str]:
    """The card's paragraph on calibration and "not sure", from the figures that measured it (the
    cross-validation summary's pooled test folds); nothing when no figure did."""
    out = []
    for fig in card.get("figures", []):
        c = fig.get("calibration")
        if not c:
            continue
        how = c.get("fitted_on", "each fold's temperature and \"not sure\" thresholds fitted on its own "
                                 "validation speakers")
        out += ["", f"Calibration ({fig['what'].split(',')[0]}, {c['samples']} test recordings, {how}): expected "
                f"calibration error (10 bins) {c['ece_before']:.3f} before the temperature, {c['ece_after']:.3f} "
                f"after; answered {_percent(c['answered'])} of the recordings (the rest: not sure), "
                f"{_percent(c['accuracy_answered'])} of those right ({_percent(c['accuracy_all'])} of all). "
                "Reliability diagram and trade-off: `python tools/calibration_report.py`."]
    return out


def calibrated_line(c: Mapping[str, Any] | None) -> str:
    """Whether a released model's probabilities are calibrated, from its ``model.json`` ``calibration``."""
    if not c or not c.get("fitted"):
        return "Its probabilities are not calibrated (no temperature fitted)."
    fit = c.get("fit", {})
    return (f"Its probabilities are calibrated: temperature {c['temperature']:.3g}, fitted on {fit.get('on')} "
            f"({fit.get('samples')} recordings; expected calibration error there {fit.get('ece_before', 0):.3f} "
            f"before, {fit.get('ece_after', 0):.3f} after); \"not sure\" under a top probability of "
            f"{c['min_probability']:g} or a lead of {c['min_margin']:g} over the second.")


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "-"


def _figure_row(fig: Mapping[str, Any]) -> str:
    ua = _percent(fig.get("unweighted_accuracy"))
    if fig.get("sd") is not None:
        ua += f" +- {100 * fig['sd']:.1f}"
    return (f"| {fig['what']} | {ua} | {_percent(fig.get('weighted_accuracy'))} | `{fig['file']}` | "
            f"`{fig['command']}` |")


def _figures(card: Mapping[str, Any]) -> list[str]:
    """The measured figures, what chance scores, and whether the probabilities are calibrated."""
    lines = ["## Measured figures", ""]
    if card["figures"]:
        lines += ["Unweighted accuracy (UA, mean recall over classes) and weighted accuracy (WA); each row's "
                  "command reproduces it.", "",
                  "| what | UA | WA | file | command |", "|---|---|---|---|---|"]
        lines += [_figure_row(fig) for fig in card["figures"]]
    else:
        lines.append("None were found when this model was released.")
    return lines + ["", chance(card), "", calibration(card), *calibration_lines(card), ""]


def chance(card: Mapping[str, Any]) -> str:
    """What guessing scores, from the card's classes."""
    n = len(card["classes"])
    return (f"**Chance level:** guessing at random among the {n} classes scores a UA of {100 / n:.1f}% (1/{n}) on "
            f"average, on any test set; always giving the same answer scores 1/k with k classes in the test set ({100 / n:.1f}% with "
            f"all {n}" + (f", {100 / (n - 1):.1f}% with {n - 1}, as on a corpus without one of them)." if n > 2 else
                          ")."))


def calibration(card: Mapping[str, Any]) -> str:
    """Whether the probabilities can be read as how often the answer is right: the card's ``calibration``
    (absent: not calibrated)."""
    fitted = card.get("calibration")
    if not fitted or isinstance(fitted, Mapping) and fitted.get("fitted") is False:
        return ("**Probabilities:** not calibrated. They are the network's softmax outputs: a probability of "
                "0.9 does not mean that such answers are right 9 times in 10, and on speakers and corpora it "
                "never heard the model can be wrong with a probability near 1.")
    if not isinstance(fitted, Mapping):
        return "**Probabilities:** calibrated."
    if "temperature" in fitted:                 # a model.json calibration (emoaugnet.model.calibration)
        return "**Probabilities:** " + calibrated_line(fitted)[len("Its probabilities are "):]
    how = fitted.get("method", "calibrated")
    details = [f"{key.replace('_', ' ')} {value:g}" if isinstance(value, (int, float)) else f"{key.replace('_', ' ')} {value}"
               for key, value in sorted(fitted.items()) if key != "method" and not isinstance(value, (Mapping, list))]
    return f"**Probabilities:** calibrated ({how}" + (f"; {', '.join(details)}" if details else "") + ")."


def _dirty(card: Mapping[str, Any]) -> str:
    if not card["dirty"]:
        return ""
    if not card.get("allow_dirty"):
        return " (the tree had uncommitted changes)"
    changed = card.get("uncommitted") or []
    return (" (the tree had uncommitted changes: released with --allow-dirty"
            + (f"; changed: {', '.join(changed)}" if changed else "") + ")")


def _speaker_lines(member: Mapping[str, Any] | None) -> list[str]:
    """The card's section on the speaker-adapted member (nothing when the release has none)."""
    if not member:
        return []
    curve = member["adaptation"]
    rows = sorted(curve["recordings"].items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0))
    trained = "; ".join(f"{c['name']}: {', '.join(c['speakers']['train'] or []) or 'all'}" for c in member["corpora"])
    lines = ["", "## Speaker adaptation", "",
             f"Given at least {member['min_recordings']} recordings of one speaker (`emoaugnet predict "
             "--speaker-norm FILES`, `Classifier.from_dir(speaker=FILES)`), the package answers with its "
             f"speaker-adapted member (`{member['folder']}/`): a model trained with per-speaker normalisation, each "
             "speaker's features standardised by their own recordings' statistics (no labels needed). With fewer, "
             "the single-file model answers each file on its own.",
             "", f"Trained on {trained}; by `{member['trained_by']}`.", "",
             "Its configuration's 5-fold speaker cross-validation UA (RAVDESS; each fold's test speakers' "
             "statistics from N of their recordings drawn at random, every recording then classified; "
             f"`{curve['file']}`, made by `tools/adaptation_curve.py`):", "",
             "| recordings of the speaker | UA (mean +- sd over folds) |", "|---|---|"]
    for n, fig in rows:
        sd = f" +- {100 * fig['sd']:.1f}" if fig.get("sd") is not None else ""
        lines.append(f"| {n} | {_percent(fig['unweighted_accuracy'])}{sd} |")
    single = curve.get("single_file_unweighted_accuracy")
    lines.append(f"| none: the single-file model (cross-validation above) | {_percent(single)} |")
    lines += ["", calibrated_line(member.get("calibration"))]
    lines.append("")
    lines += [f"- {name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in member["files"].items()]
    return lines


def render(card: Mapping[str, Any]) -> str:
    """MODEL_CARD.md's text (and `emoaugnet info`'s), all from ``card``."""
    p, inp = card["params"], card["input"]
    lines = [f"# Model card: {card['name']}", "",
             "Written by `emoaugnet release` from `emoaugnet/shipped/card.json` (`emoaugnet info --json` prints "
             "it); edit neither by hand.", "",
             "## What it does", "",
             f"Classifies the emotion of speech into {len(card['classes'])} classes: "
             + ", ".join(card["classes"]) + ".",
             f"It hears {inp['window_seconds']:g} s windows at {inp['sample_rate']} Hz (longer recordings: "
             "the mean over windows; see docs/predict.md); feature normalisation: "
             f"{inp['feature_norm']} (a single file of an unknown speaker needs nothing else).", "",
             "    pip install .", "    emoaugnet predict recording.wav", "",
             "## Intended use", "", card["intended_use"], ""]
    lines += _figures(card)
    lines += ["## Known limits", ""]
    lines += [f"- {limit}" for limit in card["limits"]]
    lines += ["", "## Training data and licences", "",
              "| corpus | language | licence | training speakers | validation speakers | test speakers |",
              "|---|---|---|---|---|---|"]
    for c in card["corpora"]:
        sp = c["speakers"]
        train = ", ".join(sp["train"]) if sp.get("train") is not None else "all others (manifest not found)"
        lines.append(f"| {c['name']} | {c['language']} | {c['licence']} | {train} | "
                     f"{', '.join(sp['val']) or '-'} | {', '.join(sp['test']) or '-'} |")
    split = card["split"]
    counts = json.dumps(split.get("counts", {}), sort_keys=True)
    if card.get("trained_by"):
        lines += ["", f"Trained by `{card['trained_by']}` (params.yaml's configuration on these speakers), "
                      "then `emoaugnet release`."]
    lines += ["", f"Split protocol: {split['protocol']}; samples {counts}."
              + (f" Leakage: {split['leakage']}." if split.get("leakage") else ""), "",
              f"**Weights licence:** {card['weights_licence']}.", ""]
    member = _speaker_lines(card.get("speaker_model"))
    lines += member[1:] + [""] if member else []
    lines += ["## Provenance", "",
              f"- git commit {card['commit']}" + _dirty(card),
              f"- released {card['released']}",
              f"- trained: {json.dumps(card.get('training', {}), sort_keys=True)}",
              f"- bundle sha256 {card.get('bundle_sha256')}"]
    lines += [f"- {name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in card["files"].items()]
    lines += ["", "## Exact params (params.yaml sections that decide the model)", "", "```json",
              json.dumps(p, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)
