"""Long recordings as segments: the ``segments`` of predict's JSON, ``--segments`` and the ``--plot`` picture.

Model: a copy of the ONNX model shipped in the package (onnxruntime, no Keras). Recording: 60 s of real
RAVDESS fixture utterances, two of one emotion, then two of the next, 2 s of silence between blocks
(``tools/long_recording.py``, the maker of docs/figures/timeline-10min.png's recording).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoaugnet import cli
from emoaugnet.inference import segments
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.model_dir import SHIPPED

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import long_recording  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """The shipped model without its card and speaker-adapted member: one model, or the models it averages."""
    folder = tmp_path_factory.mktemp("shipped-copy") / "model"
    shutil.copytree(SHIPPED, folder, ignore=shutil.ignore_patterns("speaker", "card.json", "*.py", "__pycache__"))
    return folder


@pytest.fixture(scope="module")
def minute(tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    y, rate, blocks = long_recording.build(60, per_emotion=2)
    path = tmp_path_factory.mktemp("minute") / "minute.wav"
    sf.write(path, y, rate, subtype="PCM_16")
    return path, blocks


def test_segments_tile_the_recording_and_follow_its_silences(model, minute):
    path, blocks = minute
    clf = Classifier.from_dir(model)
    result = clf.predict_file(path)
    segs, windows = result["segments"], result["windows"]
    assert 3 < len(segs) < len(windows) / 2
    assert segs[0]["start_s"] == windows[0]["start_s"] and segs[-1]["end_s"] == windows[-1]["end_s"]
    assert all(a["end_s"] == b["start_s"] and a["label"] != b["label"] for a, b in zip(segs, segs[1:]))
    labels = {s["label"] for s in segs}
    assert labels <= {*clf.classes, "silence", "uncertain"} and "silence" in labels
    # every 2 s gap between blocks lies in a silence segment; no spoken segment is shorter than the minimum
    # unless silence bounds it on both sides
    silences = [(s["start_s"], s["end_s"]) for s in segs if s["label"] == "silence"]
    for (_, end, _), (start, _, _) in zip(blocks, blocks[1:]):
        middle = (end + start) / 2
        assert any(a <= middle <= b for a, b in silences), (middle, silences)
    for k, s in enumerate(segs):
        if s["label"] != "silence" and s["end_s"] - s["start_s"] < segments.MIN_SECONDS:
            assert all(segs[j]["label"] == "silence" for j in (k - 1, k + 1) if 0 <= j < len(segs))
    # a segment's probability is the mean of its windows' smoothed probabilities of its emotion
    centres = [(w["start_s"] + w["end_s"]) / 2 for w in windows]
    probs = [np.array([w["probabilities"][c] for c in clf.classes]) if not w["silent"] else None for w in windows]
    smoothed = segments.smooth(centres, probs)
    first = 0
    for s in segs:
        mine = smoothed[first:first + s["windows"]]
        first += s["windows"]
        if s["label"] == "silence":
            assert s["probability"] is None and all(p is None for p in mine)
        else:
            mean = np.mean([p for p in mine if p is not None], axis=0)
            # an emotion's segment: its mean probability; a "not sure" one: its leading candidate's
            top = s["label"] if s["label"] in clf.classes else s["candidates"][0]["emotion"]
            assert top == clf.classes[int(np.argmax(mean))] or s["label"] in clf.classes
            assert s["probability"] == pytest.approx(mean[clf.classes.index(top)], abs=2e-6)
            assert list(s["probabilities"].values()) == pytest.approx(mean, abs=2e-6)
    assert first == len(windows)


def test_cli_prints_the_segments_readably(model, minute, capsys):
    path, _ = minute
    assert cli.main(["predict", "--model", str(model), str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert cli.main(["predict", "--model", str(model), "--segments", str(path)]) == 0
    heading, *lines = capsys.readouterr().out.splitlines()
    assert heading == f"# {path}: {result['answer']} ({result['duration_s']} s, {len(result['segments'])} segments)"
    assert len(lines) == len(result["segments"])
    for line, seg in zip(lines, result["segments"]):
        start, dash, end, *words = line.split()
        assert (start, dash, end) == (segments.clock(seg["start_s"]), "-", segments.clock(seg["end_s"]))
        if seg["label"] == "uncertain":
            assert " ".join(words) == "not sure: " + " or ".join(c["emotion"] for c in seg["candidates"])
        else:
            assert " ".join(words) == (seg["label"] if seg["label"] == "silence" else
                                       f"{seg['label']} ({seg['probability']:.2f})")


def test_plot_marks_the_segments_over_the_stacked_probabilities(model, minute, tmp_path):
    from matplotlib import image
    path, _ = minute
    png = tmp_path / "minute.png"
    assert cli.main(["predict", "--model", str(model), "--plot", str(png), str(path)]) == 0
    pixels = image.imread(png)[..., :3]
    assert pixels.shape[1] == 1200 and pixels.shape[0] > 300
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert pixels.std() > 0.1 and len(colours) > 50
