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


def drift(card_params: Mapping[str, Any], tree: Mapping[str, Any]) -> list[str]:
    """Where params.yaml's ``tree`` and a card's params differ: one ``key: card X, params.yaml Y`` each."""
    mine, theirs = flatten(card_params), flatten(model_sections(tree))

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
    return lines + ["", chance(card), "", calibration(card), ""]


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
    if not fitted:
        return ("**Probabilities:** not calibrated. They are the network's softmax outputs: a probability of "
                "0.9 does not mean that such answers are right 9 times in 10, and on speakers and corpora it "
                "never heard the model can be wrong with a probability near 1.")
    if not isinstance(fitted, Mapping):
        return "**Probabilities:** calibrated."
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
    lines += ["", f"Split protocol: {split['protocol']}; samples {counts}."
              + (f" Leakage: {split['leakage']}." if split.get("leakage") else ""), "",
              f"**Weights licence:** {card['weights_licence']}.", "",
              "## Provenance", "",
              f"- git commit {card['commit']}" + _dirty(card),
              f"- released {card['released']}",
              f"- trained: {json.dumps(card.get('training', {}), sort_keys=True)}",
              f"- bundle sha256 {card.get('bundle_sha256')}"]
    lines += [f"- {name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in card["files"].items()]
    lines += ["", "## Exact params (params.yaml sections that decide the model)", "", "```json",
              json.dumps(p, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)
