"""The classic baseline's parts: eGeMAPS functionals of real recordings, and an SVM that never trains on a
test speaker (the baseline's DVC stages run in tests/test_loco.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoaugnet.data import audio
from emoaugnet.evaluation import baseline
from emoaugnet.store import egemaps, shards
from emoaugnet.training import splits
from emoaugnet.params import BaselineParams
from helpers import featurestore

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted((FIXTURES / "emodb").rglob("*.wav")) + sorted((FIXTURES / "tess").rglob("*.wav"))[:6] \
    + sorted((FIXTURES / "ravdess").rglob("*.flac"))[:6]


def test_each_recording_gives_88_finite_functionals():
    values = egemaps.compute(FILES, 22050)
    assert values.shape == (len(FILES), 88) and np.all(np.isfinite(values))
    assert len({tuple(v) for v in values}) == len(FILES)          # every recording its own description
    assert len(egemaps.names()) == 88 and egemaps.names()[0].startswith("F0semitone")


def test_opensmile_runs_beside_tensorflow():
    """openSMILE's library corrupts the heap of a process that has loaded TensorFlow; it runs in its own."""
    import keras  # noqa: F401  (the test session may have loaded it already; this makes sure)
    assert egemaps.file_functionals(FILES[0], 22050).shape == (88,)


def test_functionals_follow_the_signal():
    """Louder speech gives higher loudness functionals; the same signal, the same numbers."""
    y = audio.read(FILES[0], 22050)
    quiet, loud = egemaps.functionals(0.2 * y, 22050), egemaps.functionals(y, 22050)
    loudness = egemaps.names().index("loudness_sma3_amean")
    assert loud[loudness] > quiet[loudness] > 0
    assert np.array_equal(loud, egemaps.functionals(y, 22050))


def test_an_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEfmt nothing")
    with pytest.raises(audio.AudioError, match="broken.wav"):
        egemaps.file_functionals(bad, 22050)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Functionals-shaped store: the fixtures' features averaged over frames (n, 1, 22), RAVDESS actors 1-4."""
    src = featurestore.build(tmp_path_factory.mktemp("features"), num_variants=1)
    return featurestore.functionals_store(src, tmp_path_factory.mktemp("functionals"))


def test_svm_fold_reports_are_well_formed_and_chosen_on_validation(store, tmp_path):
    p = featurestore.params(**{"split.test_speakers": [4], "split.val_speakers": [3]})
    split = splits.from_params(p, store, normalise_speakers=True)
    bp = BaselineParams(C=(1.0, 10.0), gamma=(0.01, 0.1), speaker_norm=True, corpora=(), cross_corpora=())
    m = baseline.score(split, bp, tmp_path / "fold")
    assert m["chosen"]["grid"] == 4 and m["chosen"]["val"] == len(split.val) > 0
    assert m["leakage"]["test_speakers_in_train"] == 0 and 0 <= m["unweighted_accuracy"] <= 1
    assert {f.name for f in (tmp_path / "fold").iterdir()} == {"metrics.json", "per_class.csv", "confusion.csv",
                                                              "predictions.csv"}


def test_a_test_speaker_in_training_is_refused(store, tmp_path):
    p = featurestore.params(**{"split.test_speakers": [4], "split.val_speakers": [3]})
    split = splits.from_params(p, store)
    split.train = shards.concat([split.train, split.test])
    bp = BaselineParams(C=(1.0,), gamma=(0.01,), speaker_norm=False, corpora=(), cross_corpora=())
    with pytest.raises(baseline.BaselineError, match=r"test speakers \['ravdess:4'\] are in the training part"):
        baseline.score(split, bp, tmp_path / "leak")
    assert not (tmp_path / "leak").exists()
