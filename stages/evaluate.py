"""Stage ``evaluate``: score the model bundle on the test part of the split it was trained with.

``python -m stages.evaluate`` rebuilds the test set from the split recorded in ``models/model.json``
(the same protocol, speakers, fractions and seed) and writes:

- ``reports/metrics.json`` (DVC metrics): weighted accuracy (overall), unweighted accuracy (mean
  per-class recall), macro F1, per-class precision / recall / F1 / support, sample counts per split,
  protocol, a ``leakage`` block (a note for the paper protocol and the measured overlap), model facts;
- ``reports/confusion.csv`` (``actual,predicted`` per test sample; DVC's confusion template plots it);
- ``reports/predictions.csv``: corpus, utterance, speaker, variant, actual, predicted, then one
  probability column per class (named by the class).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from stages import bundle as bundle_mod
from stages import splits, store
from stages.atomic import atomic_path, write_text
from stages.params import Params, ParamsError, SplitParams, load

REPORTS_DIR = Path("reports")


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


def rebuild_test_set(b: bundle_mod.Bundle, features_dir: str | Path = store.FEATURES_DIR) -> splits.Split:
    """The test part of the split recorded in the bundle (only the shards it needs are read)."""
    rec = b.split
    try:
        sp = SplitParams(protocol=rec["protocol"], test_speakers=tuple(rec["test_speakers"]),
                         val_speakers=tuple(rec["val_speakers"]), test_fraction=float(rec["test_fraction"]),
                         val_fraction=float(rec["val_fraction"]))
        seed, corpora = int(rec["seed"]), tuple(rec["corpora"])
    except (KeyError, TypeError, ValueError) as exc:
        raise bundle_mod.BundleError(f"model.json: split record incomplete ({exc})") from None
    split = splits.make(sp, seed, corpora, features_dir, parts=("test",))
    expected = rec.get("counts", {}).get("test")
    if expected is not None and expected != len(split.test):
        raise store.StoreError(f"{features_dir}: the test set now has {len(split.test)} samples, the model was "
                               f"trained when it had {expected}; the feature store changed (rerun train)")
    return split


def check_matches_params(b: bundle_mod.Bundle, p: Params) -> None:
    """Refuse a bundle trained under another split or class list than params.yaml's."""
    rec = b.split
    now = {"protocol": p.split.protocol, "seed": p.seed, "corpora": list(p.corpora_to_run),
           "test_speakers": list(p.split.test_speakers), "val_speakers": list(p.split.val_speakers),
           "test_fraction": p.split.test_fraction, "val_fraction": p.split.val_fraction}
    then = {k: rec.get(k) for k in now}
    if then != now or tuple(b.classes) != p.classes:
        diff = {k: (then[k], now[k]) for k in now if then[k] != now[k]}
        raise ParamsError(f"models/ was trained with another split or classes than params.yaml "
                          f"({diff or 'classes differ'}); run `dvc repro train` first")


def report(b: bundle_mod.Bundle, split: splits.Split, probs: np.ndarray) -> dict[str, Any]:
    test = split.test
    predicted = probs.argmax(axis=1)
    rec, training = b.split, b.training
    overlap = rec.get("overlap", {})
    return {
        "protocol": split.protocol,
        **scores(test.label, predicted, b.classes),
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


def write_reports(out_dir: str | Path, metrics: dict[str, Any], split: splits.Split, probs: np.ndarray,
                  classes: Sequence[str]) -> None:
    out_dir = Path(out_dir)
    test = split.test
    predicted = probs.argmax(axis=1)
    write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
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


def run(models_dir: str | Path = bundle_mod.MODELS_DIR, features_dir: str | Path = store.FEATURES_DIR,
        out_dir: str | Path = REPORTS_DIR, p: Params | None = None) -> dict[str, Any]:
    b = bundle_mod.load(models_dir)
    if p is not None:
        check_matches_params(b, p)
    split = rebuild_test_set(b, features_dir)
    probs = b.predict_frames(split.test.features)
    metrics = report(b, split, probs)
    write_reports(out_dir, metrics, split, probs, b.classes)
    print(f"evaluate: {split.protocol} protocol, {len(split.test)} test samples: weighted accuracy "
          f"{metrics['weighted_accuracy']:.4f}, unweighted accuracy {metrics['unweighted_accuracy']:.4f}, "
          f"macro F1 {metrics['macro_f1']:.4f}" + (" (leaky split)" if split.leakage else ""))
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    try:
        run(p=load())
    except (ParamsError, splits.SplitError, store.StoreError, bundle_mod.BundleError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
