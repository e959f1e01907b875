"""The classic tool as a released part: the eGeMAPS + SVM fit on params.yaml's split, exported as ONNX.

``dvc repro baseline_export@all`` (``baseline.export: [all]``) fits the SVM as late fusion measured it
(:func:`emoaugnet.evaluation.baseline.fit_calibrated`: C and gamma chosen on the validation speakers, Platt
scaling on speaker-grouped folds) on the eGeMAPS store of ``run.corpora`` split by params.yaml (with the
release split, ``split.test_speakers: []``, every speaker but the validation ones trains, as the network
released beside it), converts it with skl2onnx (the scaler, the SVM and the sigmoids in one graph) and
writes ``<paths.classic>/classic.onnx`` and ``classic.json`` (:mod:`emoaugnet.inference.classic` reads them;
``classic.json`` last: it marks a complete part). ``classic.json`` records the classes and which of them the
SVM saw, the sample rate, the standardisation, ``baseline.fusion_weight``, what C / gamma were chosen, the
split (as a model bundle records it, so a release can check both were trained on the same speakers), the
library versions and the test part's UA where the split has one. The ONNX graph's probabilities equal
scikit-learn's to 1e-5 on the training part (checked before writing).
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from emoaugnet.atomic import atomic_path, write_text
from emoaugnet.evaluation import baseline, scoring
from emoaugnet.inference import classic
from emoaugnet.params import Params
from emoaugnet.store import egemaps
from emoaugnet.training import splits


def to_onnx(model: Any, width: int) -> bytes:
    """``model`` (a fitted :func:`emoaugnet.evaluation.baseline.fit_calibrated`) as ONNX: outputs ``label`` and
    ``probabilities`` (no ZipMap)."""
    import warnings
    from skl2onnx import to_onnx as convert
    sample = np.zeros((1, width), np.float32)
    with warnings.catch_warnings():     # skl2onnx reads SVC's probA_ / probB_, deprecated with probability=True
        warnings.filterwarnings("ignore", message=".*probability=True.*", category=FutureWarning)
        return convert(model, sample, options={id(model): {"zipmap": False}}, target_opset=17).SerializeToString()


def export(p: Params, root: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Fit, convert, check and write the classic part into ``out_dir``; returns ``classic.json``'s content."""
    import onnxruntime
    split = splits.make(p.split, p.seed, p.corpora_to_run, root, normalise_speakers=p.baseline.speaker_norm)
    model, chosen = baseline.fit_calibrated(split, p.baseline)
    graph = to_onnx(model, egemaps.NUM_FUNCTIONALS)
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    x = split.train.features.reshape(len(split.train), -1)
    got = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[1]
    gap = float(np.abs(got - model.predict_proba(x.astype(np.float64))).max())
    if gap > 1e-5:
        raise baseline.BaselineError(f"the ONNX graph's probabilities differ from scikit-learn's by {gap:.2g}")
    config = {
        "format": classic.FORMAT, "kind": classic.KIND, "feature_set": egemaps.FEATURE_SET,
        "num_functionals": egemaps.NUM_FUNCTIONALS, "sample_rate": p.audio.sample_rate,
        "classes": list(p.classes), "class_index": [int(c) for c in model.classes_],
        "speaker_norm": p.baseline.speaker_norm, "fusion_weight": p.baseline.fusion_weight,
        "model": baseline.describe(p.baseline) + " (Platt-calibrated on speaker-grouped folds)",
        "chosen": chosen, "split": splits.record(p, split), "calibration": None,
        "versions": {name: metadata.version(name) for name in ("opensmile", "scikit-learn", "skl2onnx")},
        "onnx_sha256": hashlib.sha256(graph).hexdigest(), "onnx_max_difference": gap,
    }
    if split.test is not None and len(split.test):
        predicted = baseline.probabilities(model, split.test).argmax(axis=1)
        config["test"] = scoring.scores(split.test.label, predicted, split.test.classes)["unweighted_accuracy"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / classic.CONFIG_FILE).unlink(missing_ok=True)      # an interrupted export leaves no complete-looking part
    with atomic_path(out / classic.ONNX_FILE) as tmp:
        tmp.write_bytes(graph)
    write_text(out / classic.CONFIG_FILE, json.dumps(config, indent=1, sort_keys=True) + "\n")
    return config
