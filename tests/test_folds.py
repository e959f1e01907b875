"""Speaker k-fold cross-validation folds and per-speaker normalisation, on real fixture shards."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.training import folds, splits
from emoaugnet.model import speaker_norm
from emoaugnet.params import ParamsError

RAVDESS_20 = [f"{i}" for i in range(1, 21)]


@pytest.mark.parametrize("n,k", [(20, 5), (20, 6), (4, 3), (7, 2), (5, 5)])
def test_folds_are_disjoint_cover_every_speaker_and_differ_in_size_by_at_most_one(n, k):
    speakers = [str(i) for i in range(n, 0, -1)]          # order given must not matter
    blocks = folds.speaker_folds(speakers, k)
    assert len(blocks) == k
    flat = [s for b in blocks for s in b]
    assert sorted(flat, key=int) == flat and set(flat) == set(speakers) and len(flat) == n
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1
    assert folds.speaker_folds(list(reversed(speakers)), k) == blocks


@pytest.mark.parametrize("n,k,v", [(20, 5, 2), (20, 5, 0), (20, 10, 3), (4, 3, 1), (6, 2, 2)])
def test_no_fold_trains_on_its_test_or_validation_speakers(n, k, v):
    speakers = [str(i) for i in range(1, n + 1)]
    tested = []
    for fold in range(k):
        test, val = folds.fold_roles(speakers, k, fold, v)
        train = set(speakers) - set(test) - set(val)
        assert len(val) == v and not set(test) & set(val) and train
        tested += test
    assert sorted(tested, key=int) == speakers              # every speaker tested exactly once


def test_ravdess_blocks_and_fold_4_is_the_default_single_split():
    assert folds.speaker_folds(RAVDESS_20, 5)[0] == ["1", "2", "3", "4"]
    assert folds.fold_roles(RAVDESS_20, 5, 4, 2) == (["17", "18", "19", "20"], ["15", "16"])
    assert folds.fold_roles(RAVDESS_20, 5, 0, 2) == (["1", "2", "3", "4"], ["19", "20"])   # wraps around
    assert folds.speaker_folds(["10", "2", "Ses01F"], 3) == [["2"], ["10"], ["Ses01F"]]


def test_impossible_folds_are_refused_with_the_reason():
    with pytest.raises(folds.FoldError, match="2 to 4 folds for 4 speakers"):
        folds.speaker_folds(["1", "2", "3", "4"], 5)
    with pytest.raises(folds.FoldError, match="no speaker to train on"):
        folds.fold_roles(["1", "2", "3", "4"], 2, 0, 2)
    with pytest.raises(folds.FoldError, match="must be 0..1"):
        folds.fold_roles(["1", "2", "3", "4"], 2, 2, 0)


def test_fold_params_are_checked():
    with pytest.raises(ParamsError, match=r"`split.fold` is 5; folds are 0..4"):
        featurestore.params(**{"split.fold": 5})
    with pytest.raises(ParamsError, match=r"`cv.folds\[0\]` is 0; folds are 0..4 \(`split.folds`\), each once"):
        featurestore.params(**{"cv.folds": [0, 0]})
    with pytest.raises(ParamsError, match="folds need `split.protocol: speaker`"):
        featurestore.params(**{"split.fold": 1, "split.protocol": "paper"})
    with pytest.raises(ParamsError, match="expected true or false"):
        featurestore.params(**{"model.speaker_norm": "yes"})


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return featurestore.build(tmp_path_factory.mktemp("features"), num_variants=3)


def test_split_fold_holds_out_the_fold_and_trains_on_the_rest(root):
    p = featurestore.params(**{"split.folds": 3, "cv.folds": [0, 1, 2], "split.val_per_fold": 1, "split.fold": 0,
                               "split.train_variants": [0, 2]})
    split = splits.from_params(p, root)
    assert split.test_speakers == ("1", "2") and split.val_speakers == ("4",)
    assert set(split.test.speaker) == {"1", "2"} and set(split.val.speaker) == {"4"}
    assert set(split.train.speaker) == {"3"} and set(split.train.variant) == {0, 2}
    assert split.counts() == {"train": 14 * 2, "val": 14, "test": 2 * 14}


def test_speaker_norm_standardises_each_speaker_by_its_own_originals(root):
    p = featurestore.params(**{"split.test_speakers": [4], "split.val_speakers": [3], "model.feature_norm": "speaker"})
    raw = splits.from_params(p, root, normalise_speakers=False)
    normed = splits.from_params(p, root)
    for part in ("train", "val", "test"):
        n, r = getattr(normed, part), getattr(raw, part)
        for speaker in set(n.speaker):
            rows = (n.speaker == speaker) & (n.variant == 0)
            flat = n.features[rows].reshape(-1, n.features.shape[-1]).astype(np.float64)
            np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-4)
            np.testing.assert_allclose(flat.std(axis=0), 1, atol=1e-3)
            mean, std = speaker_norm.statistics(r.features[(r.speaker == speaker) & (r.variant == 0)])
            np.testing.assert_allclose(n.features[n.speaker == speaker],
                                       (r.features[r.speaker == speaker] - mean) / std, rtol=1e-4, atol=1e-4)
    # the test speaker's features depend on the test speaker's recordings only
    alone = speaker_norm.normalise(raw.test)
    np.testing.assert_array_equal(alone.features, normed.test.features)


def test_summary_refuses_folds_that_test_the_same_speaker(tmp_path):
    from emoaugnet.evaluation import cv_summary
    classes = featurestore.params().classes
    dirs = {}
    for fold, speakers in enumerate((["1", "2"], ["2", "3"])):
        d = dirs[fold] = tmp_path / f"fold_{fold}"
        d.mkdir()
        (d / "metrics.json").write_text('{"weighted_accuracy": 1, "unweighted_accuracy": 1, "macro_f1": 1}')
        (d / "predictions.csv").write_text("corpus,utterance,speaker,variant,actual,predicted\n" + "".join(
            f"ravdess,u{s},{s},0,sad,sad\n" for s in speakers))
    assert cv_summary.summarise({0: dirs[0]}, classes, 2)["complete"] is False
    with pytest.raises(cv_summary.CVError, match="speaker ravdess/2 is tested in folds 0 and 1"):
        cv_summary.summarise(dirs, classes, 2)
