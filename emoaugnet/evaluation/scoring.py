"""Scoring a model bundle on a test set, and the report files DVC shows.

- :func:`scores`: weighted accuracy (overall), unweighted accuracy (mean per-class recall), macro F1 and
  per-class precision / recall / F1 / support, averaged over the classes present in the test set;
- :func:`test_set`: the test part of the split params.yaml gives now, checked against the fingerprint the
  bundle recorded when it was trained (a changed split or feature store is refused, not silently scored);
- :func:`write_reports`: ``metrics.json`` (the headline figures ``dvc metrics show`` prints),
  ``per_class.csv`` (a DVC plot), ``confusion.csv`` (``actual,predicted``; DVC's confusion template) and
  ``predictions.csv`` (one row per test sample with every class's probability);
- :func:`evaluate` also draws the PNG figures of :mod:`emoaugnet.evaluation.figures` beside them, and for a
  calibrated model records its calibration and the test set's ECE before / after and "not sure" coverage
  (:func:`emoaugnet.evaluation.calibration_report.record`) in ``metrics.json``. ``predictions.csv`` keeps the
  network's own probabilities (the temperature does not change which class is predicted).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from emoaugnet.model import bundle as bundle_mod
from emoaugnet.evaluation import calibration_report, figures
from emoaugnet.model import normalisation
from emoaugnet.training import splits
from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.params import Params, ParamsError


def scores(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Weighted / unweighted accuracy, macro F1 and per-class figures.

    Unweighted accuracy and macro F1 average over the classes present in the test set, so a corpus
    without some class is not charged for it.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    present = np.unique(y_true)
    labels = np.arange(len(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "weighted_accuracy": round(float(np.mean(y_true == y_pred)), 6),
        "unweighted_accuracy": round(float(np.mean(recall[present])), 6),
        "macro_f1": round(float(np.mean(f1[present])), 6),
        "per_class": {name: {"precision": round(float(precision[i]), 6), "recall": round(float(recall[i]), 6),
                             "f1": round(float(f1[i]), 6), "support": int(support[i])}
                      for i, name in enumerate(classes)},
    }


def test_set(b: bundle_mod.Bundle, p: Params, features_dir: str | Path | None = None) -> splits.Split:
    """The test part of params.yaml's split (only the shards it needs are read), refused when it is not
    the test set the bundle was trained against (another split, class list or feature store)."""
    if tuple(b.classes) != p.classes:
        raise ParamsError(f"the model was trained on classes {list(b.classes)}, params.yaml `classes` is "
                          f"{list(p.classes)}; run `dvc repro train` first")
    if b.split.get("protocol") == "speaker" and not b.split.get("test_speakers"):
        raise ParamsError("the model was trained on every speaker but the validation ones (split.test_speakers: "
                          "[], the release split), so it has no test set to score; the figures of its "
                          "configuration come from cross-validation and leave-one-corpus-out (docs/release.md)")
    split = splits.from_params(p, features_dir, parts=("test",),
                               normalise_speakers=normalisation.method(b))
    recorded = b.split.get("test_fingerprint")
    if recorded is None:
        raise bundle_mod.BundleError("model.json records no test set (trained by an older version); retrain")
    if splits.fingerprint(split.test) != recorded:
        then = {k: b.split.get(k) for k in ("protocol", "seed", "corpora", "test_speakers", "test_fraction")}
        raise ParamsError(f"the model was trained against another split or feature store: params.yaml gives a "
                          f"test set of {len(split.test)} samples that differs from the one recorded in the "
                          f"model ({b.split.get('counts', {}).get('test')} samples, split {then}); "
                          "run `dvc repro train` first")
    return split


def report(b: bundle_mod.Bundle, split: splits.Split, probs: np.ndarray) -> dict[str, Any]:
    """Every figure of one evaluation: the headline, per-class figures, counts, leakage, model facts."""
    test = split.test
    rec, training = b.split, b.training
    overlap = rec.get("overlap", {})
    return {
        "protocol": split.protocol,
        **scores(test.label, probs.argmax(axis=1), b.classes),
        "samples": rec.get("counts", {"test": len(test)}),
        "leakage": {"note": rec.get("leakage"),
                    "test_utterances_in_train": overlap.get("test_utterances_in_train"),
                    "test_speakers_in_train": overlap.get("test_speakers_in_train")},
        "model": {"layout": b.layout, "conv_activation": b.model_params.conv_activation,
                  "dense_activation": b.model_params.dense_activation, "precision": b.precision,
                  "parameters": int(b.model.count_params())},
        "epochs_run": training.get("epochs_run"),
        "best_epoch": training.get("best_epoch"),
    }


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """What ``metrics.json`` holds: a screenful for ``dvc metrics show`` (per-class figures go elsewhere)."""
    head = {k: metrics[k] for k in ("protocol", "corpus", "trained_on", "weighted_accuracy", "unweighted_accuracy",
                                    "macro_f1", "samples", "leakage", "epochs_run", "best_epoch", "chosen",
                                    "calibration") if k in metrics}
    m = metrics["model"]     # a network's facts, or a description (the eGeMAPS + SVM baseline)
    head["model"] = m if isinstance(m, str) else \
        f"{m['layout']} conv-{m['conv_activation']} dense-{m['dense_activation']} {m['precision']}"
    return head


def describe(metrics: dict[str, Any]) -> str:
    """One line on a report, as the stages print it: a score of a whole corpus (cross-corpus, a held-out
    corpus, the baseline's) says what trained; any other the protocol, test samples and a leaky split."""
    figures = (f"weighted accuracy {metrics['weighted_accuracy']:.4f}, unweighted accuracy "
               f"{metrics['unweighted_accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}")
    if metrics.get("trained_on") is not None:
        return (f"trained on {', '.join(metrics['trained_on'])}; {metrics['samples']['test']} recordings: {figures}")
    return (f"{metrics['protocol']} protocol, {metrics['samples'].get('test')} test samples: {figures}"
            + (" (leaky split)" if metrics["leakage"]["note"] else ""))


def write_reports(out_dir: str | Path, metrics: dict[str, Any], split: splits.Split, probs: np.ndarray,
                  classes: Sequence[str]) -> None:
    out_dir = Path(out_dir)
    test = split.test
    predicted = probs.argmax(axis=1)
    with atomic_path(out_dir / "per_class.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", "precision", "recall", "f1", "support"])
        writer.writerows([c, v["precision"], v["recall"], v["f1"], v["support"]]
                         for c, v in metrics["per_class"].items())
    with atomic_path(out_dir / "confusion.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["actual", "predicted"])
        writer.writerows((classes[a], classes[b]) for a, b in zip(test.label, predicted))
    with atomic_path(out_dir / "predictions.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["corpus", "utterance", "speaker", "variant", "actual", "predicted", *classes])
        for i in range(len(test)):
            writer.writerow([test.corpus[i], test.utterance[i], test.speaker[i], int(test.variant[i]),
                             classes[test.label[i]], classes[predicted[i]], *(f"{v:.6f}" for v in probs[i])])
    write_text(out_dir / "metrics.json", json.dumps(headline(metrics), indent=2, sort_keys=True) + "\n")


def evaluate(p: Params, models_dir: str | Path, features_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Score the bundle in ``models_dir`` on params.yaml's test set and write the reports to ``out_dir``."""
    b = bundle_mod.load(models_dir)
    split = test_set(b, p, features_dir)
    probs = b.predict_frames(split.test.features)
    metrics = report(b, split, probs)
    if b.calibration.fitted:
        metrics["calibration"] = calibration_report.record(b.calibration, probs, split.test.label)
    write_reports(out_dir, metrics, split, probs, b.classes)
    figures.write_report_figures(out_dir, split.test.label, probs.argmax(axis=1), b.classes, b.training,
                                 title=f"{split.protocol} protocol, {headline(metrics)['model']}")
    return metrics
