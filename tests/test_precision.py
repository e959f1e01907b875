"""Precision and thread policy of the train stage, on real CPU descriptions and real fixture features.

``train.precision: auto`` must give float32 on a CPU without bfloat16 units (this project's 2-core
AMD EPYC, Zen 3, whose ``/proc/cpuinfo`` is quoted below) and mixed_bfloat16 only where AMX / AVX-512
BF16 is listed; a model trained under mixed_bfloat16 must keep float32 outputs and learn without NaN.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from emoaugnet.model import backend, scaler
from emoaugnet.training import splits, fit as training
from emoaugnet.model import network as model_mod
from helpers import featurestore

# The flags line of /proc/cpuinfo on the machine this project was developed on (AMD EPYC, family 25
# model 1, under KVM): AVX2 and FMA, no AVX-512, no AMX.
EPYC_ZEN3_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
    "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid "
    "extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt "
    "tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a "
    "misalignsse 3dnowprefetch osvw topoext ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep "
    "bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero "
    "xsaveerptr wbnoinvd arat umip pku ospke vaes vpclmulqdq rdpid fsrm")
CPUINFO = Path("/proc/cpuinfo")


def cpuinfo_text(flags: str, processors: int = 2) -> str:
    return "".join(f"processor\t: {i}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
                   f"model name\t: AMD EPYC\nflags\t\t: {flags}\n\n" for i in range(processors))


def test_auto_is_float32_on_the_epyc_zen3_and_bf16_only_with_amx_or_avx512_bf16(tmp_path):
    plain = tmp_path / "epyc"
    plain.write_text(cpuinfo_text(EPYC_ZEN3_FLAGS))
    flags = backend.cpu_flags(plain)
    assert {"avx2", "fma"} <= flags and not any("avx512" in f or f.startswith("amx") for f in flags)
    assert backend.resolve_precision("auto", flags, gpu=False) == "float32"

    amx = tmp_path / "sapphire"
    amx.write_text(cpuinfo_text(EPYC_ZEN3_FLAGS + " avx512f avx512bw amx_tile amx_bf16 amx_int8"))
    assert backend.resolve_precision("auto", backend.cpu_flags(amx), gpu=False) == "mixed_bfloat16"
    # AVX-512 without its BF16 extension is not enough
    no_bf16 = tmp_path / "skylake"
    no_bf16.write_text(cpuinfo_text(EPYC_ZEN3_FLAGS + " avx512f avx512bw avx512vl"))
    assert backend.resolve_precision("auto", backend.cpu_flags(no_bf16), gpu=False) == "float32"


def test_auto_follows_this_machines_real_cpuinfo(tmp_path):
    # The live file where there is one (Linux), else the recorded EPYC text.
    text = CPUINFO.read_text() if CPUINFO.is_file() else cpuinfo_text(EPYC_ZEN3_FLAGS)
    real = tmp_path / "cpuinfo"
    real.write_text(text)
    flags = backend.cpu_flags(real)
    assert "sse2" in flags  # parsed the flags lines of a real x86-64 description
    has_bf16 = bool(flags & {"amx_bf16", "avx512_bf16"})
    assert backend.resolve_precision("auto", flags, gpu=False) == ("mixed_bfloat16" if has_bf16 else "float32")
    # the same text with the bf16 units removed / added flips the choice
    stripped = tmp_path / "stripped"
    stripped.write_text(text.replace(" amx_bf16", "").replace(" avx512_bf16", ""))
    assert backend.resolve_precision("auto", backend.cpu_flags(stripped), gpu=False) == "float32"
    added = tmp_path / "added"
    added.write_text("\n".join(line + " amx_bf16" if line.startswith("flags") else line
                               for line in text.splitlines()))
    assert backend.resolve_precision("auto", backend.cpu_flags(added), gpu=False) == "mixed_bfloat16"


@pytest.mark.slow      # trains in two precisions
def test_mixed_bfloat16_trains_on_real_features_with_float32_outputs(tmp_path):
    root = featurestore.build(tmp_path / "features", num_variants=1)
    p = featurestore.params(**{"model.input_layout": "frames", "train.epochs": 1, "train.batch_size": 16,
                               "split.test_speakers": [4], "split.val_speakers": [3], "train.label_smoothing": 0.0,
                               "train.mixup": 0.0, "train.time_mask": 0, "train.channel_mask": 0})
    split = splits.from_params(p, root)
    losses = {}
    for precision in ("float32", "mixed_bfloat16"):
        done = training.fit(p, split, precision, verbose=0)
        net = done.model
        assert net.get_layer("conv2").compute_dtype == ("bfloat16" if precision == "mixed_bfloat16" else "float32")
        assert all(w.dtype == "float32" for w in net.weights)          # master weights stay float32
        assert net.get_layer("emotion").compute_dtype == "float32"     # softmax and loss in float32
        losses[precision] = done.history["loss"]
        assert np.all(np.isfinite(done.history["loss"])) and np.all(np.isfinite(done.history["val_loss"]))
        assert all(np.all(np.isfinite(w.numpy())) for w in net.weights)
        x = scaler.to_inputs(split.val.features, done.mean, done.scale, "frames")
        out = net(x, training=False)
        assert out.dtype == "float32"
        np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)
        # it learned: weights moved away from the same-seed initialisation
        keras.utils.set_random_seed(p.seed)
        init = model_mod.build(p.model, len(p.classes), p.num_frames, p.features.num_channels, precision)
        moved = [np.abs(a.numpy() - b.numpy()).max()
                 for a, b in zip(init.get_layer("conv1").weights, net.get_layer("conv1").weights)]
        assert max(moved) > 1e-4
    # same seed, same split: bfloat16 tracks float32 (first epoch, before the runs can drift apart)
    assert abs(losses["mixed_bfloat16"][0] - losses["float32"][0]) < 0.1 * losses["float32"][0]


@pytest.mark.slow      # imports TensorFlow in a subprocess
def test_configure_sizes_tf_thread_pools_to_the_cores():
    # A fresh interpreter: thread pools can only be set before TensorFlow starts.
    code = ("from emoaugnet.model import backend; import tensorflow as tf; t = backend.configure(7); "
            "print(t, tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout.split()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert [int(v) for v in out[-3:]] == [cores, cores, min(cores, 2)]
