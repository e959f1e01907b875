"""The PNG figures: confusion matrix, per-class recall, training curves, and an utterance's augmented variants.

Figures are checked by what they are made of (the counts, the shares, the titles drawn from a real augment
shard) and by their pixels: a figure that drew nothing is almost all white.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.image import imread
from sklearn.metrics import confusion_matrix

from emoaugnet.store import augment
from emoaugnet.evaluation import figures
from emoaugnet.store.augment_figures import describe, read_variants, utterance_figure
from emoaugnet.store.shards import StoreError
from helpers import browser
from helpers.featurestore import ROOT, fixture_rows, params

P = params()
CLASSES = P.classes


def inked(png: Path) -> float:
    return browser.inked(imread(png)[..., :3])


def test_confusion_counts_and_row_shares():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 6, 200)              # class 6 never occurs in this test set
    y_pred = np.where(rng.random(200) < 0.5, y_true, rng.integers(0, 7, 200))
    counts = figures.confusion_counts(y_true, y_pred, 7)
    np.testing.assert_array_equal(counts, confusion_matrix(y_true, y_pred, labels=range(7)))
    share = figures.row_normalised(counts)
    np.testing.assert_allclose(share[:6].sum(axis=1), 1.0)
    assert not share[6].any()                      # an empty row stays 0, no division by zero


def test_report_figures_are_drawn_and_reproducible(tmp_path):
    y_true = np.repeat(np.arange(7), 5)
    y_pred = y_true.copy()
    y_pred[::3] = 2                                # some mistakes, all into `disgust`
    history = {"loss": [1.9, 1.5, 1.2, 1.0], "val_loss": [1.8, 1.6, 1.7, 1.9],
               "accuracy": [0.2, 0.4, 0.55, 0.7], "val_accuracy": [0.25, 0.4, 0.35, 0.3]}
    training = {"history": history, "best_epoch": 2, "monitor": "val_accuracy"}
    paths = figures.write_report_figures(tmp_path / "a", y_true, y_pred, CLASSES, training, title="test run")
    assert [p.name for p in paths] == ["confusion.png", "recall.png", "training_curves.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 0.02 < inked(path) < 0.6, path.name
    assert browser.dark_blue(imread(paths[0])[..., :3]) > 1000              # the (nearly) full diagonal cells
    # same inputs, same bytes (no timestamp or version in the PNG), so DVC sees no change
    again = figures.write_report_figures(tmp_path / "b", y_true, y_pred, CLASSES, training, title="test run")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    # another history draws another picture; a model without one still gets a figure that says so
    other = figures.write_report_figures(tmp_path / "c", y_true, y_pred, CLASSES,
                                         {**training, "best_epoch": 4}, title="test run")
    assert other[2].read_bytes() != paths[2].read_bytes() and other[0].read_bytes() == paths[0].read_bytes()
    bare = figures.write_report_figures(tmp_path / "d", y_true, y_pred, CLASSES, {})
    assert inked(bare[2]) < inked(paths[2])


def test_recall_bars_take_one_or_several_series(tmp_path):
    folds = np.array([[0.5, 0.2, 0.9, 0.1, 0.4, 0.6, 0.8], [0.6, np.nan, 0.7, 0.3, 0.5, 0.5, 0.9]])
    one = figures.save_png(figures.recall_figure(folds[0], CLASSES), tmp_path / "one.png")
    two = figures.save_png(figures.recall_figure(folds, CLASSES, series=["fold 1", "fold 2"]), tmp_path / "two.png")
    assert inked(one) > 0.02 and inked(two) > inked(one) * 0.9
    with pytest.raises(ValueError, match="6 recall values for 7 classes"):
        figures.recall_figure(folds[0, :6], CLASSES)
    with pytest.raises(ValueError, match="2 series"):
        figures.recall_figure(folds, CLASSES, series=["only one"])
    with pytest.raises(ValueError, match="shape"):
        figures.confusion_figure(np.zeros((3, 3)), CLASSES)


@pytest.fixture(scope="module")
def augment_shard(tmp_path_factory, ravdess_fixture) -> Path:
    """A real augment shard (actor 1, two utterances, the original plus params.yaml's ten chains)."""
    tmp = tmp_path_factory.mktemp("augment")
    augment.run("ravdess", fixture_rows(ravdess_fixture, actors=(1,), per_actor=2), P, tmp / "aug",
                tmp / "report.json", workers=1, progress=False)
    return tmp / "aug" / "speaker_1.h5"


def test_variants_of_an_utterance_come_from_the_shard(augment_shard):
    with h5py.File(augment_shard) as f:
        second = sorted(set(f["utterance"].asstr()[:]))[1]
        rows = np.flatnonzero(f["utterance"].asstr()[:] == second)
        stored = f["waveform"][rows[0]:rows[-1] + 1]
        drawn = [json.loads(t) for t in f["transform_params"].asstr()[rows[0]:rows[-1] + 1]]
    v = read_variants(augment_shard, second)
    assert v.utterance == second and v.speaker == "1" and v.sample_rate == P.audio.sample_rate
    assert v.chains == ["original"] + ["+".join(c) for c in P.augment.variants]
    np.testing.assert_array_equal(np.round(v.waveforms * 32768).astype(np.int16), stored)
    assert v.drawn == drawn and v.label in CLASSES
    assert read_variants(augment_shard).utterance < second           # default: the shard's first
    # the titles say what each chain drew
    pitch = describe(v.drawn[v.chains.index("pitch+shift")], v.sample_rate)
    semitones, shift = v.drawn[v.chains.index("pitch+shift")][0]["num_semitones"], \
        v.drawn[v.chains.index("pitch+shift")][1]["shift_amount"]
    assert pitch == f"pitch {semitones:+.2f} st, shift {shift:+d} ({1000 * shift / v.sample_rate:+.0f} ms)"
    assert describe(v.drawn[v.chains.index("slow")], v.sample_rate).startswith("rate x0.")
    with pytest.raises(StoreError, match="no utterance 'nope'"):
        read_variants(augment_shard, "nope")


@pytest.mark.slow      # runs the command in a subprocess
def test_show_augment_command_writes_the_figure(augment_shard, tmp_path):
    out = tmp_path / "augment.png"
    done = subprocess.run([sys.executable, "-m", "emoaugnet", "show-augment", "--shard", str(augment_shard),
                           "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert inked(out) > 0.25                      # eleven spectrograms fill most of it
    assert out.stat().st_size < 200_000           # a 128-colour palette keeps it small enough for README
    height, width = imread(out).shape[:2]
    assert width > height > 500                   # 4 rows of 3 panels
    fig = utterance_figure(augment_shard)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 11 and titles[0].startswith("0 original") and titles[3].startswith("3 pitch+noise: pitch ")

    missing = subprocess.run([sys.executable, "-m", "emoaugnet", "show-augment", "--shard", str(tmp_path / "x.h5")],
                             cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 2 and "x.h5: shard not found" in missing.stderr
