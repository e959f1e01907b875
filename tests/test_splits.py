"""The three split protocols on a real feature store built from the RAVDESS fixtures (actors 1-4)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.store import shards as store
from emoaugnet.training import splits

VARIANTS = 3


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return featurestore.build(tmp_path_factory.mktemp("features"), num_variants=VARIANTS)


def split_for(root, parts=splits.PARTS, **overrides):
    return splits.from_params(featurestore.params(**overrides), root, parts)


def utterances(samples):
    return set(splits.keys(samples))


def test_speaker_protocol_holds_out_speakers_and_keeps_variants_in_training(root):
    split = split_for(root, **{"split.test_speakers": [4], "split.val_speakers": [3]})
    assert set(split.test.speaker) == {"4"}
    assert set(split.val.speaker) == {"3"}
    assert set(split.train.speaker) == {"1", "2"}
    assert not utterances(split.train) & utterances(split.test)
    assert not utterances(split.train) & utterances(split.val)
    # originals only outside training; training keeps every variant of its speakers
    assert set(split.test.variant) == {0} and set(split.val.variant) == {0}
    assert set(split.train.variant) == set(range(VARIANTS))
    assert split.counts() == {"train": 2 * 14 * VARIANTS, "val": 14, "test": 14}
    assert split.leakage is None
    assert splits.overlap(split)["test_utterances_in_train"] == 0
    assert splits.overlap(split)["test_speakers_in_train"] == 0


def test_speaker_protocol_reads_only_the_shards_it_needs(root, tmp_path):
    # Copy the store and break the training speakers' shards: a test-only split must not open them.
    for shard in store.shards(root, ["ravdess"]):
        (tmp_path / "ravdess").mkdir(exist_ok=True)
        target = tmp_path / "ravdess" / shard.name
        target.write_bytes(b"not hdf5" if shard.name in ("speaker_1.h5", "speaker_2.h5") else shard.read_bytes())
    overrides = {"split.test_speakers": [4], "split.val_speakers": [3]}
    test_only = split_for(tmp_path, parts=("test",), **overrides)
    assert test_only.train is None and test_only.val is None
    assert set(test_only.test.speaker) == {"4"} and len(test_only.test) == 14
    with pytest.raises(store.StoreError, match="speaker_1.h5"):
        split_for(tmp_path, **overrides)


def test_speaker_protocol_without_val_speakers_carves_validation_by_utterance(root):
    split = split_for(root, **{"split.test_speakers": [4], "split.val_speakers": [], "split.val_fraction": 0.25})
    assert set(split.train.speaker) == set(split.val.speaker) == {"1", "2", "3"}
    assert not utterances(split.train) & utterances(split.val)
    assert set(split.val.variant) == {0}
    assert len(split.val) == round(42 * 0.25)
    assert len(split.train) == (42 - len(split.val)) * VARIANTS


def test_unknown_test_speaker_is_named(root):
    with pytest.raises(splits.SplitError, match=r"test_speakers \['17'\].*speakers present: 1, 2, 3, 4"):
        split_for(root, **{"split.test_speakers": [17], "split.val_speakers": [3]})


def test_utterance_protocol_keeps_utterances_and_their_variants_on_one_side(root):
    split = split_for(root, **{"split.protocol": "utterance", "split.test_fraction": 0.25,
                               "split.val_fraction": 0.2, "split.train_variants": []})
    train, val, test = (utterances(s) for s in (split.train, split.val, split.test))
    assert not train & test and not train & val and not val & test
    assert len(train | val | test) == 56
    assert set(split.test.variant) == {0} and set(split.val.variant) == {0}
    assert set(split.train.variant) == set(range(VARIANTS))
    assert len(split.train) == len(train) * VARIANTS
    assert len(test) == 14
    # stratified: each of the 7 classes (8 originals each) gives 2 test utterances
    assert np.bincount(split.test.label, minlength=7).tolist() == [2] * 7
    assert split.leakage is None
    again = split_for(root, **{"split.protocol": "utterance", "split.test_fraction": 0.25,
                               "split.val_fraction": 0.2, "split.train_variants": []})
    assert utterances(again.test) == test
    other = split_for(root, **{"split.protocol": "utterance", "split.test_fraction": 0.25,
                               "split.val_fraction": 0.2, "split.train_variants": [], "seed": 7})
    assert utterances(other.test) != test


def test_paper_protocol_mixes_variants_of_one_utterance_and_says_so(root):
    split = split_for(root, **{"split.protocol": "paper", "split.test_fraction": 0.2, "split.val_fraction": 0.1,
                               "split.train_variants": []})
    total = 56 * VARIANTS
    assert sum(split.counts().values()) == total
    assert len(split.test) == round(total * 0.2)
    assert set(split.test.variant) == set(range(VARIANTS))      # augmented samples are tested on
    leak = splits.overlap(split)
    assert leak["test_utterances_in_train"] > 0                  # variants on both sides
    assert leak["test_speakers_in_train"] == leak["test_speakers"] == 4
    assert "paper protocol" in split.leakage and "both sides" in split.leakage
    rows = [tuple(r) for r in zip(splits.keys(split.train), split.train.variant)] + \
           [tuple(r) for r in zip(splits.keys(split.test), split.test.variant)] + \
           [tuple(r) for r in zip(splits.keys(split.val), split.val.variant)]
    assert len(set(rows)) == total                               # each sample exactly once


def test_stratified_pick_shares_out_exactly():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), [1, 2, 3, 10, 31])
    for fraction in (0.0, 0.1, 0.2, 0.5, 0.9, 1.0):
        picked = splits.stratified_pick(labels, fraction, rng)
        assert picked.sum() == round(len(labels) * fraction)
        counts = np.bincount(labels[picked], minlength=5)
        assert np.all(np.abs(counts - np.bincount(labels) * fraction) < 1 + 1e-9)


# ------------------------------------------------------------------ several corpora

@pytest.fixture(scope="module")
def two_corpora(tmp_path_factory):
    """The fixture store written twice, as corpora ``ravdess`` and ``tess``: the same speaker ids 1-4
    in both, as happens across real corpora (RAVDESS actor 3, a CREMA-D or EmoDB speaker ...)."""
    root = tmp_path_factory.mktemp("two")
    featurestore.build(root, num_variants=2, corpus="ravdess")
    return featurestore.build(root, num_variants=2, corpus="tess")


def two_corpus_split(root, test, val):
    sp = featurestore.params(**{"split.test_speakers": test, "split.val_speakers": val}).split
    return splits.make(sp, 42, ["ravdess", "tess"], root)


def test_speaker_ids_are_qualified_by_corpus_when_two_corpora_share_them(two_corpora):
    with pytest.raises(splits.SplitError, match=r"speaker '4' is in corpora ravdess, tess; write it as "
                                                r"ravdess:4 or tess:4"):
        two_corpus_split(two_corpora, [4], [])
    with pytest.raises(splits.SplitError, match=r"'emodb:4' names corpus 'emodb', which is not in run.corpora"):
        two_corpus_split(two_corpora, ["emodb:4"], [])
    with pytest.raises(splits.SplitError, match=r"\['tess:9'\] not in the feature store.*1, 2, 3, 4 \(tess\)"):
        two_corpus_split(two_corpora, ["tess:9"], [])


def test_speaker_independent_within_each_corpus(two_corpora):
    split = two_corpus_split(two_corpora, ["ravdess:4", "tess:4"], ["ravdess:3"])
    qualified = {part: set(splits.speaker_keys(getattr(split, part))) for part in splits.PARTS}
    assert qualified == {"test": {"ravdess:4", "tess:4"}, "val": {"ravdess:3"},
                         "train": {"ravdess:1", "ravdess:2", "tess:1", "tess:2", "tess:3"}}
    assert split.counts() == {"train": 5 * 14 * 2, "val": 14, "test": 2 * 14}
    assert splits.overlap(split)["test_speakers_in_train"] == 0
    assert splits.overlap(split)["test_utterances_in_train"] == 0


def test_one_corpus_tested_the_other_trained_on_whole(two_corpora):
    """Holding out RAVDESS speakers only: every TESS speaker trains, including TESS's own speaker "4",
    which is another person than RAVDESS's "4" and so no leak (overlap counts qualified ids)."""
    split = two_corpus_split(two_corpora, ["ravdess:4"], ["ravdess:3"])
    assert set(splits.speaker_keys(split.test)) == {"ravdess:4"}
    assert "tess:4" in set(splits.speaker_keys(split.train))
    assert splits.overlap(split) == {"test_utterances_in_train": 0, "test_utterances": 14,
                                     "test_speakers_in_train": 0, "test_speakers": 1}
