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
from emoaugnet.release import card_lines

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
            f"{card_lines.percent(unseen['unweighted_accuracy'])}{sd} unweighted accuracy ({unseen['what'].split(',')[0]}); "
            f"chance: {card_lines.percent(unseen['chance'])} ({unseen['classes']} classes).")


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
    lines += card_lines.figures(card)
    classic = card_lines.classic_lines(card.get("classic"), heading="##")
    lines += classic[1:] + [""] if classic else []
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
    models = card.get("models") or []
    if len(models) > 1:
        lines += ["", f"The average of {len(models)} models, each params.yaml's configuration on these speakers "
                      "(drawn with its own seed): " + "; ".join(f"`{m['folder']}/` trained by `{m['trained_by']}`"
                                                               for m in models) + "; then `emoaugnet release`."]
    elif card.get("trained_by"):
        lines += ["", f"Trained by `{card['trained_by']}` (params.yaml's configuration on these speakers), "
                      "then `emoaugnet release`."]
    lines += ["", f"Split protocol: {split['protocol']}; samples {counts}."
              + (f" Leakage: {split['leakage']}." if split.get("leakage") else ""), "",
              f"**Weights licence:** {card['weights_licence']}.", ""]
    member = card_lines.speaker_lines(card.get("speaker_model"))
    lines += member[1:] + [""] if member else []
    lines += ["## Provenance", "",
              f"- git commit {card['commit']}" + card_lines.dirty(card),
              f"- released {card['released']}" + (f"; its models as released in {card['models_released_as']}"
                                                  if card.get("models_released_as") else ""),
              *[f"- {'' if not m.get('folder') else '`' + m['folder'] + '/` '}trained: "
                f"{json.dumps(m.get('training') or {}, sort_keys=True)}; bundle sha256 {m.get('bundle_sha256')}"
                for m in (card.get("models") or [{"training": card.get("training"),
                                                  "bundle_sha256": card.get("bundle_sha256")}])]]
    lines += [f"- {name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in card["files"].items()]
    lines += ["", "## Exact params (params.yaml sections that decide the model)", "", "```json",
              json.dumps(p, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)
