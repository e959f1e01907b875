"""The card's sentences and tables (:func:`emoaugnet.release.card.render` puts them together): its measured
figures, chance level, calibration and "not sure", and the speaker-adapted member. Imports nothing but the
standard library, as :mod:`emoaugnet.release.card` (``emoaugnet info`` answers without numpy).
"""

from __future__ import annotations

from typing import Any, Mapping


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
                f"after; answered {percent(c['answered'])} of the recordings (the rest: not sure), "
                f"{percent(c['accuracy_answered'])} of those right ({percent(c['accuracy_all'])} of all). "
                "Reliability diagram and trade-off: `python tools/calibration_report.py`."]
    return out


def calibrated_line(c: Mapping[str, Any] | None) -> str:
    """Whether a released model's probabilities are calibrated, from its ``model.json`` ``calibration``."""
    if not c or not c.get("fitted"):
        return "Its probabilities are not calibrated (no temperature fitted)."
    fit = c.get("fit", {})
    return (f"Its probabilities are calibrated: temperature {c['temperature']:.3g}, fitted on {fit.get('on')} "
            f"({fit.get('samples')} recordings; expected calibration error there {fit.get('ece_before', 0):.3f} "
            f"before, {fit.get('ece_after', 0):.3f} after); " + _not_sure(c) + ".")


def _not_sure(c: Mapping[str, Any]) -> str:
    """When a calibrated model answers "not sure" (a threshold of 0 is no rule)."""
    rules = ([f"a top probability under {c['min_probability']:g}"] if c["min_probability"] > 0 else []) + \
        ([f"a lead over the second under {c['min_margin']:g}"] if c["min_margin"] > 0 else [])
    return f"\"not sure\" with {' or '.join(rules)}" if rules else "it never answers \"not sure\""



def percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "-"


def figure_row(fig: Mapping[str, Any]) -> str:
    ua = percent(fig.get("unweighted_accuracy"))
    if fig.get("sd") is not None:
        ua += f" +- {100 * fig['sd']:.1f}"
    return (f"| {fig['what']} | {ua} | {percent(fig.get('weighted_accuracy'))} | `{fig['file']}` | "
            f"`{fig['command']}` |")


def figures(card: Mapping[str, Any]) -> list[str]:
    """The measured figures, what chance scores, and whether the probabilities are calibrated."""
    lines = ["## Measured figures", ""]
    if card["figures"]:
        lines += ["Unweighted accuracy (UA, mean recall over classes) and weighted accuracy (WA); each row's "
                  "command reproduces it.", "",
                  "| what | UA | WA | file | command |", "|---|---|---|---|---|"]
        lines += [figure_row(fig) for fig in card["figures"]]
    else:
        lines.append("None were found when this model was released.")
    return lines + recall_lines(card) + ["", chance(card), "", calibration(card), *calibration_lines(card), ""]


def recall_lines(card: Mapping[str, Any]) -> list[str]:
    """Per-class recall of the figures that pooled it (each class over all their test recordings)."""
    out = []
    for fig in card.get("figures", []):
        recall = fig.get("per_class_recall")
        if recall:
            out += ["", f"Per-class recall ({fig['what'].split(',')[0]}, pooled over its test recordings): "
                        + ", ".join(f"{c} {percent(r)}" for c, r in recall.items()) + "."]
    return out


def chance(card: Mapping[str, Any]) -> str:
    """What guessing scores, from the card's classes."""
    n = len(card["classes"])
    return (f"**Chance level:** guessing at random among the {n} classes scores a UA of {100 / n:.1f}% (1/{n}) on "
            f"average, on any test set; always giving the same answer scores 1/k with k classes in the test set ({100 / n:.1f}% with "
            f"all {n}" + (f", {100 / (n - 1):.1f}% with {n - 1}, as on a corpus without one of them)." if n > 2 else
                          ")."))


def calibration(card: Mapping[str, Any]) -> str:
    """Whether the probabilities can be read as how often the answer is right: the card's ``calibration``
    (the model's ``model.json`` entry, :mod:`emoaugnet.model.calibration`; absent or not fitted: not calibrated);
    with a classic part, these are the networks' alone (its section says how the average is calibrated)."""
    own = _networks_calibration(card)
    if not card.get("classic"):
        return own
    return ("**Probabilities** of the networks alone (`--no-classic`, and the windows and segments of every "
            "answer; a file's answer is the average with the classic part, calibrated as its section below says): "
            + own[len("**Probabilities:** "):])


def _networks_calibration(card: Mapping[str, Any]) -> str:
    models = card.get("models") or []
    if len(models) > 1 and all((m.get("calibration") or {}).get("fitted") for m in models):
        return (f"**Probabilities:** the average of its {len(models)} models' calibrated probabilities, each "
                "with its own temperature; \"not sure\" by their mean thresholds (the average's own calibration "
                "was not measured). "
                + " ".join(f"`{m['folder']}/`: " + calibrated_line(m["calibration"]) for m in models))
    fitted = card.get("calibration")
    if not isinstance(fitted, Mapping) or not fitted.get("fitted"):
        return ("**Probabilities:** not calibrated. They are the network's softmax outputs: a probability of "
                "0.9 does not mean that such answers are right 9 times in 10, and on speakers and corpora it "
                "never heard the model can be wrong with a probability near 1.")
    return "**Probabilities:** " + calibrated_line(fitted)[len("Its probabilities are "):]


def dirty(card: Mapping[str, Any]) -> str:
    if not card["dirty"]:
        return ""
    if not card.get("allow_dirty"):
        return " (the tree had uncommitted changes)"
    changed = card.get("uncommitted") or []
    return (" (the tree had uncommitted changes: released with --allow-dirty"
            + (f"; changed: {', '.join(changed)}" if changed else "") + ")")


def speaker_lines(member: Mapping[str, Any] | None) -> list[str]:
    """The card's section on the speaker-adapted member (nothing when the release has none)."""
    if not member:
        return []
    curve = member["adaptation"]
    rows = sorted(curve["recordings"].items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0))
    trained = "; ".join(f"{c['name']}: {', '.join(c['speakers']['train'] or []) or 'all'}" for c in member["corpora"])
    models = member.get("models") or [member]     # a card written before members could be several models
    named = ["" if len(models) == 1 else "`" + m["folder"] + "/` " for m in models]
    what = ("a model trained with per-speaker normalisation" if len(models) == 1 else
            f"the average of {len(models)} models trained with per-speaker normalisation "
            f"({', '.join(n.strip() for n in named)})")
    lines = ["", "## Speaker adaptation", "",
             f"Given at least {member['min_recordings']} recordings of one speaker (`emoaugnet predict "
             "--speaker-norm FILES`, `Classifier.from_dir(speaker=FILES)`), the package answers with its "
             f"speaker-adapted member (`{member['folder']}/`): {what}, each "
             "speaker's features standardised by their own recordings' statistics (no labels needed). With fewer, "
             "the single-file model answers each file on its own.",
             "", f"Trained on {trained}; " + "; ".join(f"{n}by `{m['trained_by']}`" for n, m in zip(named, models)) + ".",
             "",
             "Its configuration's 5-fold speaker cross-validation UA (RAVDESS; each fold's test speakers' "
             "statistics from N of their recordings drawn at random, every recording then classified"
             + (f"; from {curve.get('averaged_from_recordings')} recordings each answer averaged with the fold's "
                "eGeMAPS + SVM, as the member answers with its classic part (below)"
                if curve.get("averaged_with_classic") else "")
             + f"; `{curve['file']}`, made by `tools/adaptation_curve.py`):", "",
             "| recordings of the speaker | UA (mean +- sd over folds) |", "|---|---|"]
    for n, fig in rows:
        sd = f" +- {100 * fig['sd']:.1f}" if fig.get("sd") is not None else ""
        lines.append(f"| {n} | {percent(fig['unweighted_accuracy'])}{sd} |")
    single = curve.get("single_file_unweighted_accuracy")
    lines.append("| none: the single-file model (cross-validation above"
                 + (", averaged with its classic part" if curve.get("single_file_averaged_with_classic") else "")
                 + f") | {percent(single)} |")
    chosen = curve.get("chosen")
    if chosen:
        lines += ["", f"By this curve alone the member would answer from {chosen['by_the_rule']} recordings (the fewest "
                      f"whose mean beats the single-file model's); it answers from {chosen['min_recordings']}: "
                      f"{chosen['why']}"]
    lines += [""] + [("" if len(models) == 1 else f"- {n.strip()}: ") + calibrated_line(m.get("calibration"))
                     for n, m in zip(named, models)]
    lines.append("")
    lines += [f"- {member['folder']}/{name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in member["files"].items()]
    return lines + classic_lines(member.get("classic"))


def classic_lines(part: Mapping[str, Any] | None, heading: str = "###") -> list[str]:
    """The card's lines on an eGeMAPS + SVM a model averages in (nothing when it has none): the member's
    (standardised per speaker) or the single-file model's (globally)."""
    if not part:
        return []
    fig, w = part["figures"], part["fusion_weight"]
    folds = ", ".join(f"{100 * v:.1f}" for v in fig["per_fold"])
    member = part.get("standardised", "per speaker") == "per speaker"    # cards before 2026-12-08: the member's
    who, how, data = (("the member", "standardised by the speaker's own", "every recording of each test speaker "
                       "giving its statistics") if member else
                      ("the single-file model", "standardised by its training speakers' statistics", "each file on "
                       "its own"))
    limit = part.get("max_seconds")
    return ["", f"{heading} Averaged with the classic tool", "",
            f"Each answer of {who} is `{w:g} x` its probabilities `+ {1 - w:g} x` those of `{part['folder']}/`: "
            f"openSMILE's {part['feature_set']} functionals of the whole recording, {how}, and an RBF SVM (C "
            f"{part['chosen']['C']:g}, gamma {part['chosen']['gamma']:g}; Platt-calibrated on speaker-grouped "
            f"folds), trained on the same speakers by `{part['trained_by']}`. Windows and segments stay the "
            "network's"
            + (f"; a recording over {limit:g} s (it was trained on utterances), or one openSMILE cannot describe, "
               "gets the network's answer alone" if limit else "")
            + (f"; with fewer than {part['min_recordings']} of the speaker's recordings, the network answers alone"
               if member and part.get("min_recordings") else "")
            + ". `--no-classic` leaves it out.", "",
            f"The same 5-fold cross-validation, the network's and the SVM's probabilities averaged fold by fold "
            f"(`{fig['file']}`, made by `tools/fusion_cv.py`, {data}): **{percent(fig['unweighted_accuracy'])} +- "
            f"{100 * fig['sd']:.1f}** UA (folds {folds}), against {percent(fig['network_alone'])} for "
            f"{who}'s configuration alone and {percent(fig['svm_alone'])} for the SVM alone.", "",
            "The averaged answer's " + calibrated_line(part.get("calibration"))[4:], ""] + [
        f"- {part['folder']}/{name}: {f['bytes']} bytes, sha256 {f['sha256']}" for name, f in part["files"].items()]
