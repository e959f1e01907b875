"""Property-based fuzzing: the audio reader and predict fed mutated real recordings and random bytes.

Every case must end in a result (finite samples / a classification or silence) or a clean error naming
the file (:class:`emoaugnet.data.audio.AudioError` / an ``error`` record), never another exception, a crash or a
hang. Mutations of a real fixture FLAC and a WAV made from it: truncations, byte flips, overwritten
header bytes, random bytes behind a RIFF/WAVE or fLaC magic, and WAV headers with random fields.
Derandomized (the same cases every run), no example database, a watchdog per case.
"""

from __future__ import annotations

import faulthandler
import io
import json
import struct
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import featurestore
from emoaugnet.data import audio
from emoaugnet.model import bundle
from emoaugnet import cli
from emoaugnet.inference import predictor as predict
from emoaugnet.inference.predictor import PredictParams

FIXTURE = featurestore.FIXTURE / "Actor_01" / "03-01-05-01-01-01-01.flac"
FLAC = FIXTURE.read_bytes()
_clip, _sr = sf.read(FIXTURE, dtype="int16", frames=int(1.5 * 22050))
_buf = io.BytesIO()
sf.write(_buf, _clip, _sr, format="WAV", subtype="PCM_16")
WAV = _buf.getvalue()                       # 1.5 s of the same recording as 16-bit WAV
CASE_TIMEOUT_S = 60                         # a case still running after this is a hang: dump and fail


def _float_wav(y: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, 22050, format="WAV", subtype="FLOAT")
    return buf.getvalue()


FLOAT_WAV = _float_wav(_clip.astype(np.float32) / 32768)     # the same 1.5 s as 32-bit float WAV
FLOAT_DATA = FLOAT_WAV.index(b"data") + 8                      # first sample byte


# Explicit: no deadline (timings on a shared 2-core CI box vary; the watchdog bounds hangs instead),
# the same examples every run, nothing written to a database in the repository.
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def watchdog(seconds: float = CASE_TIMEOUT_S):
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of one damaged or made-up recording."""
    base, suffix = draw(st.sampled_from([(FLAC, ".flac"), (WAV, ".wav")]))
    kind = draw(st.sampled_from(["truncate", "flip", "header", "riff", "flac", "wav-fields", "samples"]))
    if kind == "samples":       # a float WAV whose samples are overwritten by any float32: NaN, inf, 1e38...
        data = bytearray(FLOAT_WAV)
        for index, value in draw(st.lists(st.tuples(st.integers(0, (len(data) - FLOAT_DATA) // 4 - 1),
                                                    st.floats(width=32)), min_size=1, max_size=8)):
            data[FLOAT_DATA + 4 * index:FLOAT_DATA + 4 * index + 4] = struct.pack("<f", value)
        return ".wav", bytes(data)
    if kind == "truncate":
        return suffix, base[:draw(st.integers(0, len(base)))]
    if kind == "flip":
        data = bytearray(base)
        for pos, mask in draw(st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(1, 255)),
                                       min_size=1, max_size=16)):
            data[pos] ^= mask
        return suffix, bytes(data)
    if kind == "header":
        data = bytearray(base)
        start = draw(st.integers(0, 63))
        patch = draw(st.binary(min_size=1, max_size=16))
        data[start:start + len(patch)] = patch
        return suffix, bytes(data)
    body = draw(st.binary(max_size=4096))
    if kind == "riff":
        return ".wav", b"RIFF" + struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + b"WAVE" + body
    if kind == "flac":
        return ".flac", b"fLaC" + body
    # a well-formed WAV header with random field values before random sample bytes
    tag = draw(st.sampled_from([1, 3, 6, 7, 0xFFFE, draw(st.integers(0, 0xFFFF))]))
    channels = draw(st.integers(0, 300))
    rate = draw(st.sampled_from([0, 1, 8000, 22050, 48000, 2**31 - 1, draw(st.integers(0, 2**32 - 1))]))
    bits = draw(st.sampled_from([0, 8, 16, 24, 32, 64, draw(st.integers(0, 0xFFFF))]))
    align = max(1, channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * align) & 0xFFFFFFFF, align, bits)
    size = draw(st.sampled_from([len(body), 0, 2**32 - 1, draw(st.integers(0, 2**32 - 1))]))
    return ".wav", (b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
                    + b"data" + struct.pack("<I", size) + body)


@settings(FUZZ, max_examples=80)
@given(case=mutated())
def test_audio_reader_returns_finite_samples_or_a_clean_error(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp, watchdog():
        path = Path(tmp) / f"case{suffix}"
        path.write_bytes(data)
        for window in ((0.6, 2.5), (0.0, None)):          # the training clip, then the whole file
            try:
                y = audio.read(path, 22050, *window)
            except audio.AudioError as exc:
                assert str(path) in str(exc) and exc.reason
                continue
            assert y.dtype == np.float32 and y.ndim == 1 and len(y) > 0
            assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= audio.MAX_ABS


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> predict.Predictor:
    b = bundle.load(featurestore.untrained_bundle(tmp_path_factory.mktemp("bundle") / "models"))
    return predict.Predictor(b, PredictParams(hop=1.25, silence_rms=0.001))


def check_results(results: list[dict], paths: list[Path], classes) -> None:
    assert [r["path"] for r in results] == [str(p) for p in paths]     # one record per file, in order
    for r in results:
        assert r["result"] in (*classes, "silence", "too_short", "error"), r
        if r["result"] == "error":
            assert isinstance(r["error"], str) and r["error"]
        elif r["result"] in classes:
            probs = np.array(list(r["probabilities"].values()))
            assert np.all(np.isfinite(probs)) and abs(probs.sum() - 1) < 1e-3, r
        json.dumps(r, allow_nan=False)                                  # valid JSON: no NaN anywhere


@settings(FUZZ, max_examples=25)
@given(batch=st.lists(mutated(), min_size=1, max_size=4))
def test_predict_gives_every_mutated_file_a_result_or_an_error_record(predictor, batch):
    with tempfile.TemporaryDirectory() as tmp, watchdog():
        paths = []
        for i, (suffix, data) in enumerate(batch):
            paths.append(Path(tmp) / f"{i:02d}{suffix}")
            paths[-1].write_bytes(data)
        results = list(predictor.classify(predict.expand([tmp])))
        check_results(results, paths, predictor.bundle.classes)


def test_predict_command_on_a_folder_of_damaged_files(tmp_path, capsys):
    """The CLI: exit status 1 (some files unreadable), one JSON line per file, the real file classified."""
    models = featurestore.untrained_bundle(tmp_path / "models")
    folder = tmp_path / "in"
    folder.mkdir()
    cases = {"a_real.flac": FLAC, "b_cut.wav": WAV[:len(WAV) // 3], "c_header.flac": FLAC[:4] + b"\xff" * 60 + FLAC[64:],
             "d_riff.wav": b"RIFF\x10\x00\x00\x00WAVE" + bytes(range(256)) * 4, "e_empty.wav": b"",
             "f_flipped.wav": bytes(b ^ 0x55 if 40 <= i < 48 else b for i, b in enumerate(WAV)),
             "g_absurd_float.wav": _float_wav(np.full(3 * 22050, 1e30, np.float32))}   # squares overflow
    for name, data in cases.items():
        (folder / name).write_bytes(data)
    with watchdog():
        status = cli.main(["predict", "--model", str(models), str(folder)])
    out = capsys.readouterr()
    results = [json.loads(line) for line in out.out.splitlines()]
    check_results(results, sorted(folder.iterdir()), bundle.load(models).classes)
    by_name = {Path(r["path"]).name: r for r in results}
    assert by_name["a_real.flac"]["result"] != "error"
    assert by_name["e_empty.wav"]["error"] == "empty file (0 bytes)"
    assert "far outside the [-1, 1] range" in by_name["g_absurd_float.wav"]["error"]
    assert status == 1 and "Traceback" not in out.err


@settings(FUZZ, max_examples=40)
@given(case=mutated())
def test_bytes_in_memory_get_what_the_file_gets_or_the_same_clean_error(classifier, case):
    """Classifier.predict_bytes (what the service classifies an upload with) against predict_file on the
    same mutated bytes: the same result, or an AudioError with the same reason, naming the upload."""
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp, watchdog():
        path = Path(tmp) / f"case{suffix}"
        path.write_bytes(data)
        try:
            want = classifier.predict_file(path)
        except audio.AudioError as exc:
            with pytest.raises(audio.AudioError) as caught:
                classifier.predict_bytes(data, f"upload{suffix}")
            assert str(caught.value).startswith(f"upload{suffix}: ") and tmp not in str(caught.value)
            assert caught.value.reason.replace("<_io.BytesIO", "") == caught.value.reason
            assert caught.value.reason.split(" (")[0] == exc.reason.split(" (")[0]
            return
        assert classifier.predict_bytes(data, f"upload{suffix}") == {**want, "path": f"upload{suffix}"}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    from emoaugnet.inference.api import Classifier
    return Classifier.from_dir(featurestore.untrained_bundle(tmp_path_factory.mktemp("api") / "models",
                                                             **{"model.input_layout": "frames"}))


DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "complex64", "bool"]


@st.composite
def arrays(draw) -> tuple[object, object]:
    """``(samples, rate)`` of any shape, sample type and rate a caller might pass, scaled to the type's range."""
    length = draw(st.sampled_from([0, 1, 7, 100, 5000, 20000, 60000]))
    shape = draw(st.sampled_from([(), (length,), (length, 1), (length, 2), (2, length), (length, 9), (3, 4, length)]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    scale = draw(st.sampled_from([0.0, 1e-4, 0.5, 1.0, 3.0, 1e6, np.nan, np.inf]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.standard_normal(shape) * scale
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.nan_to_num(values * info.max, nan=0, posinf=info.max, neginf=info.min)
        values = np.clip(values, info.min, info.max)
    samples = values.astype(dtype)
    rate = draw(st.sampled_from([22050, 16000, 44100, 8000, 384000, 44.1, 8, 0, -1, 22050.0, 1e12, np.nan,
                                 np.int64(48000), "16000", None, True]))
    return samples, rate


@settings(FUZZ, max_examples=60)
@given(case=arrays())
def test_predict_array_gives_a_result_or_a_clear_error_for_any_shape_dtype_and_rate(classifier, case):
    samples, rate = case
    with watchdog():
        try:
            result = classifier.predict_array(samples, rate)
        except (TypeError, ValueError) as exc:        # AudioError is a ValueError
            message = str(exc)
            assert message and "Traceback" not in message
            assert type(exc).__module__ != "numpy" and not message.startswith(("operands could not", "axis "))
            return
    assert result["result"] in (*classifier.classes, "silence", "too_short"), result
    if result["result"] in classifier.classes:
        probs = np.array(list(result["probabilities"].values()))
        assert np.all(np.isfinite(probs)) and abs(probs.sum() - 1) < 1e-3
    json.dumps(result, allow_nan=False)
