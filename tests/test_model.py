"""The Table I network, its input preparation, the model bundle and the precision choice."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers import featurestore
from emoaugnet.model import backend, bundle, scaler
from emoaugnet.store import features
from emoaugnet.model import network as model_mod
from emoaugnet.params import ParamsError

TABLE_I = ["InputLayer", "Conv1D", "MaxPooling1D", "BatchNormalization", "Dropout",
           "Conv1D", "BatchNormalization", "MaxPooling1D", "Dropout",
           "Conv1D", "BatchNormalization", "MaxPooling1D",
           "LSTM", "Dropout", "LSTM", "Dropout",
           "Dense", "BatchNormalization", "Dense", "BatchNormalization", "Dense", "BatchNormalization",
           "Dropout", "Dense"]


def build(layout="flat", conv="relu", precision="float32"):
    p = featurestore.params(**{"model.input_layout": layout, "model.conv_activation": conv})
    return p, model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels, precision)


@pytest.mark.parametrize("conv", ["relu", "elu"])
def test_paper_layout_has_table_one_and_exactly_1149511_parameters(conv):
    p, net = build("flat", conv)
    assert net.count_params() == model_mod.PAPER_PARAMETERS == 1_149_511
    assert [type(layer).__name__ for layer in net.layers] == TABLE_I
    assert net.input_shape == (None, 2376, 1)
    assert net.output_shape == (None, 7)
    convs = [layer for layer in net.layers if isinstance(layer, keras.layers.Conv1D)]
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [(256, (5,), "same"), (512, (3,), "same"),
                                                                        (256, (3,), "same")]
    assert {c.activation.__name__ for c in convs} == {conv}
    dense = [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [128, 64, 32, 7]
    assert {d.activation.__name__ for d in dense[:3]} == {"elu"} and dense[3].activation.__name__ == "softmax"
    drops = [layer.rate for layer in net.layers if isinstance(layer, keras.layers.Dropout)]
    assert drops == [p.model.conv_dropout] * 2 + [p.model.lstm_dropout] * 2 + [p.model.dense_dropout]


def test_frames_layout_feeds_the_same_layers_a_108_by_22_sequence():
    _, net = build("frames")
    assert net.input_shape == (None, 108, 22)
    assert [type(layer).__name__ for layer in net.layers] == TABLE_I
    # only the first convolution sees 22 input channels instead of 1
    assert net.count_params() == 1_149_511 + 5 * 256 * (22 - 1)


def test_pooling_network_pools_statistics_of_the_frames_with_learnt_weights():
    p = featurestore.params(**{"model.input_layout": "frames", "model.network": "pooling"})
    net = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels)
    assert net.input_shape == (None, 108, 22) and net.output_shape == (None, 7)
    assert net.count_params() < model_mod.PAPER_PARAMETERS / 5
    pooling = net.get_layer("pooling")
    assert pooling.output.shape[-1] == 2 * net.get_layer("conv2").filters       # mean and deviation per channel
    # the pooling itself: uniform scores give each channel's plain mean and (population) deviation
    layer = type(pooling)(hidden=4)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(3, 50, 6)).astype(np.float32)
    layer.build(x.shape)
    layer.score.set_weights([np.zeros_like(w) for w in layer.score.get_weights()])
    got = np.asarray(layer(x))
    np.testing.assert_allclose(got[:, :6], x.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(got[:, 6:], x.std(axis=1), rtol=1e-3)
    # a frame scored far above the others takes all the weight: its values, the deviation at its floor
    layer.score_hidden.set_weights([np.eye(6, 4, dtype=np.float32), np.zeros(4, np.float32)])   # tanh(channel 0)
    layer.score.set_weights([np.array([[50.0], [0], [0], [0]], np.float32), np.zeros(1, np.float32)])
    x[:, :, 0] = -10.0
    x[:, 7, 0] = 10.0
    got = np.asarray(layer(x))
    np.testing.assert_allclose(got[:, :6], x[:, 7], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[:, 6:], np.sqrt(layer.eps), rtol=1e-2)


def test_pooling_needs_the_frames_layout():
    with pytest.raises(ParamsError, match="model.network: pooling"):
        featurestore.params(**{"model.input_layout": "flat", "model.network": "pooling"})


def test_mixed_precision_keeps_softmax_in_float32():
    _, net = build("frames", precision="mixed_bfloat16")
    assert net.get_layer("conv1").compute_dtype == "bfloat16"
    assert net.get_layer("conv1").kernel.dtype == "float32"          # variables stay float32
    assert net.get_layer("emotion").compute_dtype == "float32"
    out = net(np.zeros((2, 108, 22), np.float32))
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow      # imports Keras in a subprocess
def test_summary_command_prints_the_summary_for_current_params():
    done = subprocess.run([sys.executable, "-m", "emoaugnet", "summary"], capture_output=True, text=True,
                          check=True)
    p = featurestore.params()                                      # params.yaml as it is
    keras.utils.set_random_seed(p.seed)
    net = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels)
    assert f"total parameters: {net.count_params():,}" in done.stdout
    assert "lstm1" in done.stdout and f"input layout: {p.model.input_layout}" in done.stdout


def test_scaler_is_per_position_and_layouts_hold_the_same_values():
    rng = np.random.default_rng(0)
    frames = rng.normal(3.0, 2.0, size=(50, 108, 22)).astype(np.float32)
    frames[:, :, 5] = 7.0                                   # a constant channel
    mean, scale = scaler.fit_scaler(frames)
    assert mean.shape == scale.shape == (2376,)
    flat = scaler.to_inputs(frames, mean, scale, "flat")
    assert flat.shape == (50, 2376, 1)
    np.testing.assert_allclose(flat[..., 0].mean(axis=0), 0, atol=1e-5)
    constant = features.flatten(np.arange(108 * 22).reshape(1, 108, 22))[0]
    constant = np.isin(constant, np.arange(108) * 22 + 5)   # flat positions of channel 5
    assert np.all(scale[constant] == 1) and np.all(flat[:, constant, 0] == 0)
    np.testing.assert_allclose(flat[..., 0][:, ~constant].std(axis=0), 1, rtol=1e-3)
    seq = scaler.to_inputs(frames, mean, scale, "frames")
    assert seq.shape == (50, 108, 22)
    np.testing.assert_array_equal(features.flatten(seq), flat[..., 0])
    with pytest.raises(ValueError, match="empty training set"):
        scaler.fit_scaler(frames[:0])


def test_bundle_round_trip_predicts_the_same_and_writes_stable_bytes(tmp_path):
    p, net = build("frames")
    frames = np.random.default_rng(1).normal(size=(9, 108, 22)).astype(np.float32)
    mean, scale = scaler.fit_scaler(frames)
    kwargs = dict(model=net, mean=mean, scale=scale, classes=p.classes, model_params=p.model,
                  feature_params=p.features, audio_params=p.audio, num_frames=108, num_channels=22,
                  precision="float32", split={"protocol": "speaker"}, training={"epochs_run": 0})
    bundle.save(tmp_path / "a", **kwargs)
    bundle.save(tmp_path / "b", **kwargs)
    for name in (bundle.WEIGHTS_FILE, bundle.CONFIG_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    loaded = bundle.load(tmp_path / "a")
    assert loaded.classes == p.classes and loaded.layout == "frames"
    assert loaded.feature_params.hop_length == p.features.hop_length
    assert loaded.audio_params == p.audio
    np.testing.assert_array_equal(loaded.mean, mean)
    expected = np.asarray(net(scaler.to_inputs(frames, mean, scale, "frames"), training=False))
    np.testing.assert_allclose(loaded.predict_frames(frames), expected, atol=1e-6)
    with pytest.raises(bundle.BundleError, match=r"\(n, 108, 22\)"):
        loaded.predict_frames(frames[:, :100])


def test_bundle_load_names_the_missing_or_mismatched_file(tmp_path):
    with pytest.raises(bundle.BundleError, match="model.json: model bundle not found"):
        bundle.load(tmp_path)
    p, net = build("frames")
    mean, scale = np.zeros(2376, np.float32), np.ones(2376, np.float32)
    bundle.save(tmp_path, net, mean, scale, p.classes, p.model, p.features, p.audio, 108, 22, "float32")
    config = bundle.read_config(tmp_path)
    config["model"]["input_layout"] = "flat"                 # weights no longer fit the architecture
    (tmp_path / bundle.CONFIG_FILE).write_text(__import__("json").dumps(config))
    with pytest.raises(bundle.BundleError, match="model.weights.h5: cannot load weights"):
        bundle.load(tmp_path)
    (tmp_path / bundle.WEIGHTS_FILE).unlink()
    with pytest.raises(bundle.BundleError, match="model.weights.h5: weights not found"):
        bundle.load(tmp_path)


def test_precision_auto_follows_cpu_flags_and_gpu(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile\n")
    flags = backend.cpu_flags(cpuinfo)
    assert {"amx_bf16", "avx2"} <= flags
    assert backend.resolve_precision("auto", flags, gpu=False) == "mixed_bfloat16"
    assert backend.resolve_precision("auto", {"avx512_bf16"}, gpu=False) == "mixed_bfloat16"
    assert backend.resolve_precision("auto", {"avx2", "avx512f"}, gpu=False) == "float32"
    assert backend.resolve_precision("auto", set(), gpu=True) == "mixed_bfloat16"
    assert backend.resolve_precision("float32", flags, gpu=True) == "float32"
    assert backend.cpu_flags(tmp_path / "missing") == set()
