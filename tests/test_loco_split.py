"""Leave-one-corpus-out's params and split, without training (the DVC run is tests/test_loco.py).

The store holds the RAVDESS fixture features three times, as corpora `ravdess`, `tess` and `emodb`
(actors 1-4 each); only the roles and counts are tested here.
"""

from __future__ import annotations

import numpy as np
import pytest

from emoaugnet.evaluation import loco
from emoaugnet.model import normalisation
from emoaugnet.training import splits
from emoaugnet.params import ParamsError
from helpers import featurestore

CORPORA = ["ravdess", "tess", "emodb"]
LOCO = {"data.corpora": CORPORA, "loco.corpora": CORPORA}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("three")
    for corpus in CORPORA:
        featurestore.build(root, num_variants=2, corpus=corpus)
    return root


def test_params_refuse_a_list_that_cannot_be_left_one_out():
    with pytest.raises(ParamsError, match="at least two distinct corpora"):
        featurestore.params(**{**LOCO, "loco.corpora": ["ravdess"]})
    with pytest.raises(ParamsError, match="at least two distinct corpora"):
        featurestore.params(**{**LOCO, "loco.corpora": ["ravdess", "ravdess"]})
    with pytest.raises(ParamsError, match=r"`loco.corpora` names \['emodb'\].*data.corpora=\[ravdess,tess,emodb\]"):
        featurestore.params(**{**LOCO, "data.corpora": ["ravdess", "tess"]})
    with pytest.raises(ParamsError, match=r"'savee' is not in `loco.corpora`"):
        loco.parse_corpus(["savee"], "train_loco", featurestore.params(**LOCO))


@pytest.mark.parametrize("held_out", CORPORA)
def test_the_held_out_corpus_is_the_whole_test_set_and_validation_comes_from_the_others(store, held_out):
    p = featurestore.params(**LOCO, **{"split.val_per_fold": 1})
    split = loco.split(p, held_out, store)
    others = [c for c in CORPORA if c != held_out]
    assert set(split.test.corpus) == {held_out} and len(split.test) == 56 and set(split.test.variant) == {0}
    assert set(split.train.corpus) == set(others) and set(split.val.corpus) == set(others)
    assert set(splits.speaker_keys(split.val)) == {f"{c}:4" for c in others}
    assert len(split.train) == 2 * 3 * 14 * 2         # 2 corpora x 3 speakers x 14 kept x 2 variants
    assert splits.overlap(split)["test_speakers_in_train"] == 0
    assert loco.loco_params(p, held_out).corpora_to_run == tuple(others)


def test_a_corpus_too_small_to_spare_a_validation_speaker_gives_none(store):
    p = featurestore.params(**LOCO, **{"split.val_per_fold": 4})      # every corpus has only 4 speakers
    test, val = loco.roles(p, "emodb", store)
    assert val == [] and len(test) == 4
    split = loco.split(p, "emodb", store)          # validation then carved from the training utterances
    assert len(split.val) == round(0.1 * 2 * 4 * 14) and set(split.val.variant) == {0}
    assert not set(splits.keys(split.val)) & set(splits.keys(split.train))


def test_training_on_the_held_out_corpus_is_refused(store):
    p = featurestore.params(**LOCO)
    with pytest.raises(ParamsError, match="cannot be held out and trained on"):
        loco.split(p, "tess", store, train_on=["ravdess", "tess"])


@pytest.mark.parametrize("norm", ["utterance", "speaker"])
def test_the_split_train_loco_trains_on_is_normalised_as_model_feature_norm_says(store, norm):
    """`model.feature_norm` holds in leave-one-corpus-out as in every other split: the training split of
    stage train_loco (its setup's) is the store normalised by emoaugnet.model.normalisation, the same figures as
    the speaker protocol's split of the same speakers."""
    p = featurestore.params(**LOCO, **{"model.feature_norm": norm})
    run = loco.stage_setup(p, ["emodb"], "train_loco")
    split = run.split(store)
    assert run.held_out == "emodb" and run.dirs["models"].parts[-2:] == ("models", "emodb")
    raw = loco.split(p, "emodb", store, normalise_speakers="none")
    for name in splits.PARTS:
        part, plain = getattr(split, name), getattr(raw, name)
        assert np.array_equal(part.utterance, plain.utterance) and np.array_equal(part.variant, plain.variant)
        assert not np.allclose(part.features, plain.features), name
        np.testing.assert_allclose(part.features, normalisation.normalise(plain, norm).features, atol=1e-5)
    if norm == "utterance":          # each clip standardised per channel by its own frames (CMVN)
        frames = split.train.features
        np.testing.assert_allclose(frames.mean(axis=1), 0, atol=1e-4)
        np.testing.assert_allclose(frames.std(axis=1), 1, atol=1e-3)
