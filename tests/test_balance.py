"""Multi-corpus sample weights (`train.balance`, emoaugnet/training/balance.py) on a real split of two corpora.

The store holds the RAVDESS fixture features twice, as corpora `ravdess` and `tess`; RAVDESS actors 3 and 4
are held out, so 2 RAVDESS speakers and 4 `tess` speakers train: the corpora are unbalanced 1:2.
"""

from __future__ import annotations

import numpy as np
import pytest

from emoaugnet.training import balance, batches, splits
from emoaugnet.params import TrainParams
from helpers import featurestore


@pytest.fixture(scope="module")
def train(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-corpora")
    featurestore.build(root, num_variants=2, corpus="ravdess")
    featurestore.build(root, num_variants=2, corpus="tess")
    p = featurestore.params(**{"run.corpora": ["ravdess", "tess"], "data.corpora": ["ravdess", "tess"],
                               "split.test_speakers": ["ravdess:4"], "split.val_speakers": ["ravdess:3"]})
    split = splits.from_params(p, root)
    assert (split.train.corpus == "tess").sum() == 2 * (split.train.corpus == "ravdess").sum()
    return split.train, p.train


def totals(keys: np.ndarray, w: np.ndarray) -> dict[str, float]:
    return {k: float(w[keys == k].sum()) for k in np.unique(keys)}


def with_(tp: TrainParams, **changes) -> TrainParams:
    from dataclasses import replace
    return replace(tp, **changes)


def test_off_by_default_gives_no_weights(train):
    samples, tp = train
    assert tp.balance == "none" and balance.sample_weights(samples.corpus, samples.label, tp) is None


def test_corpus_balance_gives_each_corpus_the_same_total_weight(train):
    samples, tp = train
    w = balance.sample_weights(samples.corpus, samples.label, with_(tp, balance="corpus"))
    assert w.mean() == pytest.approx(1.0, abs=1e-6)
    t = totals(samples.corpus, w)
    assert t["ravdess"] == pytest.approx(t["tess"], rel=1e-6) == pytest.approx(len(samples) / 2, rel=1e-6)
    # within a corpus every sample weighs the same; a RAVDESS sample twice a tess one (half as many of them)
    assert np.ptp(w[samples.corpus == "ravdess"]) == 0 and np.ptp(w[samples.corpus == "tess"]) == 0
    assert w[samples.corpus == "ravdess"][0] == pytest.approx(2 * w[samples.corpus == "tess"][0], rel=1e-6)


def test_corpus_class_balance_shares_each_corpus_equally_among_its_classes(train):
    samples, tp = train
    # drop every tess surprise, as EmoDB has none: tess's share goes to its six classes
    keep = ~((samples.corpus == "tess") & (samples.label == samples.classes.index("surprise")))
    corpus, label = samples.corpus[keep], samples.label[keep]
    w = balance.sample_weights(corpus, label, with_(tp, balance="corpus_class"))
    assert w.mean() == pytest.approx(1.0, abs=1e-6)
    t = totals(corpus, w)
    assert t["ravdess"] == pytest.approx(t["tess"], rel=1e-6)
    for c, n_classes in (("ravdess", 7), ("tess", 6)):
        per_class = totals(label[corpus == c].astype(str), w[corpus == c])
        assert len(per_class) == n_classes
        assert np.allclose(list(per_class.values()), t[c] / n_classes, rtol=1e-6)


def test_class_weight_on_top_equalises_the_classes(train):
    samples, tp = train
    keep = ~((samples.corpus == "tess") & (samples.label == samples.classes.index("surprise")))
    corpus, label = samples.corpus[keep], samples.label[keep]
    w = balance.sample_weights(corpus, label, with_(tp, balance="corpus", class_weight="balanced"))
    per_class = totals(label.astype(str), w)
    assert np.allclose(list(per_class.values()), len(label) / 7, rtol=1e-6) and w.mean() == pytest.approx(1, abs=1e-6)
    # class weighting alone is scikit-learn's "balanced" rule, as training's class_weights dict
    from emoaugnet.training.fit import class_weights
    alone = balance.sample_weights(corpus, label, with_(tp, class_weight="balanced"))
    cw = class_weights(label, 7)
    assert np.allclose(alone, [cw[c] for c in label], rtol=1e-6)


def test_mixup_mixes_the_balance_weights_like_the_targets(train):
    samples, tp = train
    tp = with_(tp, balance="corpus", mixup=0.4, batch_size=16, label_smoothing=0.0, time_mask=0, channel_mask=0)
    w = balance.sample_weights(samples.corpus, samples.label, tp)
    z = samples.features.astype(np.float32)
    y = np.eye(7, dtype=np.float32)[samples.label]
    data = batches.TrainingBatches(z, y, w, tp, "frames", seed=3)
    x, targets, got = data[0]
    rows = data.order[:16]
    assert len(set(samples.corpus[rows])) == 2 and len(set(w[rows])) == 2     # both corpora, two weights
    # Each output row is lam * sample i + (1 - lam) * a partner j of the same batch, for some lam in [0, 1].
    # Find j and lam from the features alone (least squares), then the weight and target must be mixed alike.
    z_rows, y_rows, w_rows = z[rows].reshape(16, -1), y[rows], w[rows]
    mixed_pairs = 0
    for r in range(16):
        out = x[r].reshape(-1)
        best = None
        for j in range(16):
            d = z_rows[r] - z_rows[j]
            lam = 1.0 if not d.any() else float(np.clip(np.dot(out - z_rows[j], d) / np.dot(d, d), 0, 1))
            err = np.abs(out - (lam * z_rows[r] + (1 - lam) * z_rows[j])).max()
            if best is None or err < best[0]:
                best = (err, j, lam)
        err, j, lam = best
        assert err < 1e-4, f"row {r} is no mix of its sample and a partner"
        assert got[r] == pytest.approx(lam * w_rows[r] + (1 - lam) * w_rows[j], rel=1e-4)
        np.testing.assert_allclose(targets[r], lam * y_rows[r] + (1 - lam) * y_rows[j], atol=1e-4)
        mixed_pairs += w_rows[r] != w_rows[j] and 0.01 < lam < 0.99
    assert mixed_pairs >= 2, "no pair of different weights was mixed: the check saw no mixing"


@pytest.mark.slow
@pytest.mark.parametrize("mixup", [0.0, 0.4])
def test_a_balanced_model_trains_with_and_without_mixup(train, tmp_path, mixup):
    """One epoch through emoaugnet.training.fit.fit with corpus_class weights (Keras sample weights, or the
    on-the-fly batches when mixup is on): the weighted loss is finite."""
    from emoaugnet.training import fit as training
    samples, _ = train
    p = featurestore.params(**{"run.corpora": ["ravdess", "tess"], "data.corpora": ["ravdess", "tess"],
                               "model.input_layout": "frames", "train.epochs": 1, "train.batch_size": 32,
                               "train.precision": "float32", "train.balance": "corpus_class",
                               "train.class_weight": "balanced", "train.mixup": mixup})
    split = splits.Split("speaker", samples, None, samples.subset(np.arange(4)))
    trained = training.fit(p, split, verbose=0)
    assert trained.summary["epochs_run"] == 1 and np.isfinite(trained.history["loss"][0])
