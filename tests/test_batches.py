"""On-the-fly regularisation (emoaugnet/training/batches.py): masks, mixup, the epoch's batches, and training with
them on the real fixture feature store."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.training import batches, fit as training
from emoaugnet.model import bundle, scaler
from emoaugnet.evaluation import scoring as evaluation
from emoaugnet.params import ParamsError

TINY = {"model.input_layout": "frames", "train.epochs": 2, "train.batch_size": 16, "train.precision": "float32",
        "split.test_speakers": [4], "split.val_speakers": [3]}


def test_masks_zero_one_band_of_frames_and_one_of_channels_per_sample():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 108, 22)).astype(np.float32) + 5.0       # no value is 0 before masking
    out = batches.mask(z, 12, 4, np.random.default_rng(1))
    assert out.shape == z.shape and out.dtype == np.float32
    zero = out == 0
    kept = ~zero
    np.testing.assert_array_equal(out[kept], z[kept])               # what is not masked is untouched
    time_band = zero.all(axis=2)                                    # frames masked on every channel
    channel_band = zero.all(axis=1)                                 # channels masked on every frame
    for i in range(len(z)):
        frames, channels = np.flatnonzero(time_band[i]), np.flatnonzero(channel_band[i])
        assert len(frames) <= 12 and len(channels) <= 4
        for band in (frames, channels):                            # each band is contiguous
            assert len(band) == 0 or band[-1] - band[0] + 1 == len(band)
        # every zero lies in one of the two bands
        assert np.array_equal(zero[i], time_band[i][:, None] | channel_band[i][None, :])
    widths = time_band.sum(axis=1)
    assert widths.max() == 12 and widths.min() == 0                  # widths are drawn from 0..12
    np.testing.assert_array_equal(out, batches.mask(z, 12, 4, np.random.default_rng(1)))
    np.testing.assert_array_equal(batches.mask(z, 0, 0, rng), z)


def test_mixup_mixes_features_and_targets_with_the_same_weight():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 300)
    z = np.repeat(label[:, None, None].astype(np.float32), 108, axis=1).repeat(22, axis=2)
    y = np.eye(7, dtype=np.float32)[label]
    weights = np.where(label == 1, 3.0, 1.0).astype(np.float32)        # class 1 weighs 3, class 0 weighs 1
    mz, my, mw = batches.mixup(z, y, 0.4, np.random.default_rng(3), weights)
    np.testing.assert_allclose(my.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(my[:, 2:] == 0)                                   # only the two classes present mix
    # a sample whose own value is its label: every mixed feature equals the mixed target of class 1
    np.testing.assert_allclose(mz[:, 0, 0], my[:, 1], atol=1e-6)
    assert np.all(mz == mz[:, :1, :1])
    assert 0.2 < np.mean((my[:, 1] > 0) & (my[:, 1] < 1)) < 1        # most pairs of different labels mix
    # the loss weight is mixed like the target: each class's share carries that class's weight
    np.testing.assert_allclose(mw, 1.0 + 2.0 * my[:, 1], atol=1e-5)


def test_an_epoch_of_batches_covers_every_sample_once_and_is_repeatable():
    p = featurestore.params(**{**TINY, "train.batch_size": 7, "train.mixup": 0.0, "train.time_mask": 5})
    z = np.random.default_rng(0).normal(size=(30, 108, 22)).astype(np.float32) + 5.0
    targets = np.arange(30)                                         # one id per sample
    data = batches.TrainingBatches(z, targets, None, p.train, "frames", seed=1)
    assert len(data) == 5

    def epoch(d):
        return [d[i] for i in range(len(d))]

    first = epoch(data)
    ys = np.concatenate([y for _, y in first])
    assert sorted(ys.tolist()) == list(range(30))                  # each sample exactly once
    # the unmasked values of each batch row are that sample's own values
    xs = np.concatenate([x for x, _ in first])
    order = data.order
    kept = xs != 0
    np.testing.assert_array_equal(xs[kept], z[order][kept])
    again = batches.TrainingBatches(z, targets, None, p.train, "frames", seed=1)
    for (a, ya), (b, yb) in zip(first, epoch(again)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)
    data.on_epoch_end()                                             # a new order and new masks next epoch
    assert not np.array_equal(data.order, order)
    second = epoch(data)
    x0 = np.concatenate([x for x, _ in first])[np.argsort(order)]
    x1 = np.concatenate([x for x, _ in second])[np.argsort(data.order)]
    assert not np.array_equal(x0 == 0, x1 == 0)                    # other masks for the same samples
    flat = batches.TrainingBatches(z, targets, np.ones(30, np.float32), p.train, "flat", seed=1)
    x, y, w = flat[0]
    assert x.shape == (7, 108 * 22, 1) and w.shape == (7,)


@pytest.mark.slow      # trains
@pytest.mark.parametrize("knobs", [
    {"train.mixup": 0.2, "train.time_mask": 10, "train.channel_mask": 3, "train.label_smoothing": 0.1},
    {"train.label_smoothing": 0.1, "train.class_weight": "balanced", "model.input_layout": "flat"},
    {"train.time_mask": 10, "train.class_weight": "balanced"},
])
def test_training_with_on_the_fly_regularisation_saves_a_model_evaluate_scores(tmp_path, knobs):
    p = featurestore.params(**{**TINY, **knobs})
    features = featurestore.build(tmp_path / "features", num_variants=3)
    trained = training.train_and_save(p, features, tmp_path / "model", live_dir=None, verbose=0)
    assert trained.summary["epochs_run"] == 2
    assert set(trained.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(np.isfinite(trained.history["loss"]))
    metrics = evaluation.evaluate(p, tmp_path / "model", features, tmp_path / "reports")
    assert metrics["samples"] == {"train": 84, "val": 14, "test": 14}
    probs = bundle.load(tmp_path / "model").predict_frames(np.zeros((3, 108, 22), np.float32))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow      # trains twice
def test_regularisation_is_repeatable_with_the_same_seed_and_changes_the_training(tmp_path):
    knobs = {**TINY, "train.epochs": 2, "train.mixup": 0.3, "train.time_mask": 8}
    features = featurestore.build(tmp_path / "features", num_variants=3)
    runs = {"a": knobs, "b": knobs, "other_seed": {**knobs, "seed": 7},
            "off": {**knobs, "train.mixup": 0.0, "train.time_mask": 0}}
    for name, k in runs.items():
        training.train_and_save(featurestore.params(**k), features, tmp_path / name, live_dir=None, verbose=0)

    def weights(name):
        return (tmp_path / name / bundle.WEIGHTS_FILE).read_bytes()
    assert weights("a") == weights("b")                             # two epochs of draws, repeated exactly
    assert weights("a") != weights("other_seed") and weights("a") != weights("off")


def test_standardise_then_layout_is_what_the_model_is_fed():
    z = np.random.default_rng(0).normal(size=(4, 108, 22)).astype(np.float32)
    mean, scale = scaler.fit_scaler(z)
    for layout in ("flat", "frames"):
        np.testing.assert_array_equal(scaler.layout_inputs(scaler.standardise(z, mean, scale), layout),
                                      scaler.to_inputs(z, mean, scale, layout))


@pytest.mark.parametrize("key, value", [("train.mixup", -0.1), ("train.time_mask", 2.5),
                                        ("train.label_smoothing", 0.9), ("train.channel_mask", -1)])
def test_bad_regularisation_values_are_refused_with_their_key(key, value):
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        featurestore.params(**{key: value})
