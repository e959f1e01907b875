"""The speaker-adapted member of a release: its checks, and the card section that says what it is.

``emoaugnet release --speaker-export DIR --speaker-models DIR --adaptation FILE`` ships, beside the single-file
model, a model trained with per-speaker normalisation (``model.feature_norm: speaker``) in the folder
:data:`emoaugnet.inference.model_dir.SPEAKER_FOLDER`; :func:`adaptation_curve` reads its configuration's
cross-validation UA against the number of a speaker's recordings (``tools/adaptation_curve.py``) and
finds ``min_recordings``, from which :mod:`emoaugnet.inference.model_dir` lets it answer.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from emoaugnet.inference import model_dir
from emoaugnet.release.provenance import FIGURES, ReleaseError, files, speakers, training_command


def adaptation_curve(path: Path, single_file: float | None) -> dict[str, Any]:
    """The speaker-adapted member's figures from ``tools/adaptation_curve.py``'s JSON: mean +- sd of the
    cross-validation UA per number of the speaker's recordings, and ``min_recordings``, the fewest whose
    mean beats ``single_file`` (the single-file model's cross-validation UA; None: 1)."""
    try:
        curve = json.loads(path.read_text())["recordings_per_speaker"]
        rows = {str(n): [float(v) for v in values] for n, values in curve.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReleaseError(f"{path}: not an adaptation curve of tools/adaptation_curve.py ({exc})") from None
    figures = {n: {"unweighted_accuracy": round(statistics.fmean(v), 6),
                   "sd": round(statistics.stdev(v), 6) if len(v) > 1 else None, "runs": len(v)}
               for n, v in rows.items()}
    counts = sorted(int(n) for n in rows if n.isdigit())
    wins = [n for n in counts if single_file is None or figures[str(n)]["unweighted_accuracy"] > single_file]
    if not wins:
        raise ReleaseError(f"{path}: the speaker-adapted model beats the single-file model's cross-validation "
                           f"UA ({single_file}) at no number of recordings; release it without the member")
    return {"file": str(path), "recordings": figures, "min_recordings": wins[0],
            "single_file_unweighted_accuracy": single_file}


def check_member(config: dict[str, Any], main: dict[str, Any], export: Path) -> None:
    """Refuse a speaker-adapted member whose classes or audio window differ from the single-file model's."""
    for key in ("classes", "audio"):
        if config.get(key) != main.get(key):
            raise ReleaseError(f"{export}: its {key} ({json.dumps(config.get(key))}) differ from the single-file "
                               f"model's ({json.dumps(main.get(key))}); both members answer the same question")


def speaker_section(export: Path, config: dict[str, Any], adaptation: Path, main_card: dict[str, Any],
                    manifests: Path) -> dict[str, Any]:
    """The card's ``speaker_model``: what the speaker-adapted member is, how it was trained, its figures."""
    cv_figure = next((f for f in main_card["figures"] if f["what"] == FIGURES[1][1]), None)   # its CV
    curve = adaptation_curve(adaptation, None if cv_figure is None else cv_figure["unweighted_accuracy"])
    split, training = config.get("split", {}), config.get("training", {})
    differs = {f"{section}.{k}": v for section in ("model", "features") for k, v in (config.get(section) or {}).items()
               if v != (main_card["params"].get(section) or {}).get(k)}
    extra = "".join(f" -S {k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(differs.items()))
    return {"folder": model_dir.SPEAKER_FOLDER, "feature_norm": "speaker", "trained_by": training_command(split, extra),
            "model": config.get("model"), "features": config.get("features"),
            "corpora": [{"name": c, "speakers": speakers(split, c, manifests)} for c in split.get("corpora", [])],
            "split": {k: split.get(k) for k in ("protocol", "counts")},
            "training": {k: training.get(k) for k in ("epochs_run", "best_epoch", "parameters", "precision")},
            "adaptation": curve, "min_recordings": curve["min_recordings"], "calibration": config.get("calibration"),
            "bundle_sha256": config.get("onnx", {}).get("bundle_sha256"), "files": files(export)}


