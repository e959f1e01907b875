"""ONNX export and the onnxruntime predict path: export both layouts, agree with Keras on real recordings,
never import Keras or TensorFlow, the timeline table, the plot file and the Python API.

Models: params.yaml's network with its seeded initial weights, the scaler fitted on the fixtures' real
features, and the last layer x200 (:func:`helpers.featurestore.untrained_bundle`), so probabilities spread
over 0-1 and a small error in the features or the graph shows in them. Exported with the real command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoaugnet.data import audio
from emoaugnet.model import bundle
from emoaugnet import cli
from emoaugnet.store import features
from emoaugnet.inference import predictor as inference, onnx_model
from emoaugnet.inference.api import Classifier
from helpers import featurestore

pytestmark = pytest.mark.slow      # exports Keras models to ONNX

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ("frames", "flat")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for layout in LAYOUTS:
        keras_dir = featurestore.untrained_bundle(root / f"{layout}-keras", fitted_scaler=True, logit_scale=200,
                                                  **{"model.input_layout": layout})
        assert cli.main(["export", "--model", str(keras_dir), "--out", str(root / f"{layout}-onnx")]) == 0
        out[layout] = {"keras": keras_dir, "onnx": root / f"{layout}-onnx"}
    return out


def probabilities(results: list[dict], classes) -> np.ndarray:
    return np.array([[w["probabilities"][c] for c in classes] for r in results for w in r["windows"]
                     if not w["silent"]])


def test_export_folder_holds_the_model_its_features_and_the_bundle_description(models):
    for layout in LAYOUTS:
        folder = models[layout]["onnx"]
        assert sorted(p.name for p in folder.iterdir()) == ["features.npz", "model.json", "model.onnx"]
        config = json.loads((folder / "model.json").read_text())
        source = json.loads((models[layout]["keras"] / "model.json").read_text())
        assert {k: v for k, v in config.items() if k != "onnx"} == source       # the bundle's own format
        assert config["onnx"]["opset"] == 17 and config["onnx"]["max_abs_diff_vs_keras"] < 1e-4
        m = onnx_model.load(folder)
        assert m.layout == layout and m.classes == bundle.describe(models[layout]["keras"]).classes
        with pytest.raises(bundle.BundleError, match="weights not found"):     # no Keras weights in it
            bundle.load(folder)


def test_the_same_weights_export_to_the_same_bytes(models, tmp_path):
    """Exported again in this process and in a fresh one, model.onnx is byte-identical (DVC caches it)."""
    import hashlib
    sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()      # noqa: E731
    keras_dir, first = models["frames"]["keras"], models["frames"]["onnx"] / "model.onnx"
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(tmp_path / "again")]) == 0
    fresh = subprocess.run([sys.executable, "-m", "emoaugnet", "export", "--model", str(keras_dir), "--out",
                            str(tmp_path / "fresh")], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert sha(tmp_path / "again" / "model.onnx") == sha(first) == sha(tmp_path / "fresh" / "model.onnx")


def test_numpy_features_equal_librosa_features(ravdess_fixture, ravdess_48k):
    p = featurestore.params()
    files = sorted(ravdess_fixture.glob("Actor_0*/*.flac"))[::3] + sorted(ravdess_48k.glob("*.wav"))
    clips = np.stack([audio.load_clip(f, p.audio) for f in files])
    want = features.extract(clips, p.audio.sample_rate, p.features)
    got = features.extract_with(clips, features.constants(p.audio.sample_rate, p.features), p.features)
    assert got.shape == want.shape == (len(files), 108, 22) and got.dtype == np.float32
    np.testing.assert_array_equal(got[..., :2], want[..., :2])                  # ZCR and RMS: the same values
    spread = want.reshape(-1, 22).std(axis=0)
    assert np.max(np.abs(got - want).reshape(-1, 22) / spread) < 1e-4           # MFCC: float32 rounding


@pytest.mark.parametrize("layout", LAYOUTS)
def test_onnx_and_keras_probabilities_agree_on_real_recordings(models, layout, ravdess_fixture, ravdess_48k,
                                                               long_recording):
    files = sorted(ravdess_fixture.glob("Actor_0*/*.flac"))[::4] + sorted(ravdess_48k.glob("*.wav")) + [long_recording]
    keras_clf = Classifier.from_dir(models[layout]["keras"])
    onnx_clf = Classifier.from_dir(models[layout]["onnx"])
    assert (keras_clf.backend, onnx_clf.backend) == ("keras", "onnx")
    want, got = keras_clf.predict_files(files), onnx_clf.predict_files(files)
    assert [r["result"] for r in got] == [r["result"] for r in want]
    p, q = probabilities(want, keras_clf.classes), probabilities(got, onnx_clf.classes)
    assert len(p) > len(files) and p.max() > 0.9            # spread-out probabilities, every window compared
    np.testing.assert_allclose(q, p, atol=1e-4, rtol=0)


def test_predict_on_an_export_imports_neither_keras_nor_tensorflow(models, ravdess_fixture):
    path = ravdess_fixture / "Actor_03" / "03-01-06-01-02-01-03.flac"
    code = ("import json, sys; from emoaugnet.cli import main; rc = main(sys.argv[1:]); "
            "print(json.dumps({'rc': rc, 'loaded': sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('keras', 'tensorflow', 'tf2onnx', 'onnx'))}))")
    proc = subprocess.run([sys.executable, "-c", code, "predict", "--model", str(models["frames"]["onnx"]), str(path)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    result, status = map(json.loads, proc.stdout.splitlines())
    assert status == {"rc": 0, "loaded": []}, proc.stderr
    assert result["emotion"] in onnx_model.load(models["frames"]["onnx"]).classes
    clf = Classifier.from_dir(models["frames"]["keras"])
    np.testing.assert_allclose(probabilities([result], clf.classes), probabilities([clf.predict_file(path)], clf.classes),
                               atol=1e-4, rtol=0)


def test_backend_choice_and_errors(models, ravdess_fixture, capsys):
    path = str(ravdess_fixture / "Actor_01" / "03-01-05-01-01-01-01.flac")
    assert cli.main(["predict", "--backend", "onnx", "--model", str(models["flat"]["keras"]), path]) == 2
    assert "model.onnx: not found" in capsys.readouterr().err
    assert cli.main(["predict", "--backend", "keras", "--model", str(models["flat"]["onnx"]), path]) == 2
    assert "ONNX export without Keras weights" in capsys.readouterr().err
    assert cli.main(["export", "--model", str(models["flat"]["onnx"]), "--out", str(models["flat"]["onnx"])]) == 2
    assert "weights not found" in capsys.readouterr().err


def test_timeline_prints_one_row_per_window(models, long_recording, capsys):
    folder = str(models["frames"]["onnx"])
    assert cli.main(["predict", "--model", folder, str(long_recording)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert cli.main(["predict", "--model", folder, "--timeline", str(long_recording)]) == 0
    heading, header, *lines = capsys.readouterr().out.splitlines()
    classes = onnx_model.load(folder).classes
    assert heading == f"# {long_recording}: {result['result']} ({result['duration_s']} s, {len(lines)} windows)"
    assert header.split() == ["start_s", "end_s", "emotion", *classes]
    starts = inference.window_starts(result["duration_s"], 0.6, 2.5, 1.25)
    assert len(lines) == len(starts) == len(result["windows"]) > 8
    silent = 0
    for line, start, window in zip(lines, starts, result["windows"]):
        cells = line.split()
        assert float(cells[0]) == pytest.approx(start, abs=0.005)
        assert float(cells[1]) == pytest.approx(window["end_s"], abs=0.005)
        if window["silent"]:
            silent += 1
            assert cells[2:] == ["silence"]
        else:
            probs = [float(c) for c in cells[3:]]
            assert cells[2] == window["emotion"] == classes[int(np.argmax(probs))]
            assert probs == pytest.approx([window["probabilities"][c] for c in classes], abs=5e-5)
    assert silent >= 1 and float(lines[-1].split()[1]) == pytest.approx(result["duration_s"], abs=0.005)


def test_plot_draws_the_probabilities_into_a_png(models, long_recording, ravdess_fixture, tmp_path):
    from matplotlib import image
    png = tmp_path / "timeline.png"
    short = ravdess_fixture / "Actor_01" / "03-01-05-01-01-01-01.flac"
    assert cli.main(["predict", "--model", str(models["flat"]["onnx"]), "--plot", str(png),
                     str(long_recording), str(short)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    pixels = image.imread(png)[..., :3]
    assert pixels.shape[0] > 600 and pixels.shape[1] == 1200              # two panels, 12 inches at 100 dpi
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert pixels.std() > 0.05 and len(colours) > 50                      # areas, labels, a grey band: not blank
    assert not list(tmp_path.glob(".tmp-*"))
    assert cli.main(["predict", "--model", str(models["flat"]["onnx"]), "--plot", str(tmp_path / "x.png"),
                     str(tmp_path / "missing.wav")]) == 1
    assert not (tmp_path / "x.png").exists()


def test_classifier_api_files_and_arrays(models, ravdess_fixture, ravdess_48k):
    clf = Classifier.from_dir(models["frames"]["onnx"])
    path = ravdess_fixture / "Actor_04" / "03-01-03-01-02-01-04.flac"
    from_file = clf.predict_file(path)
    assert from_file == clf.predict_files([path])[0] and from_file["emotion"] in clf.classes
    y, sr = sf.read(path, dtype="float32")
    from_array = clf.predict_array(y, sr)
    assert from_array["path"] == "<array>" and from_array["duration_s"] == from_file["duration_s"]
    assert from_array["probabilities"] == from_file["probabilities"]      # the same samples, the same window
    stereo, rate = sf.read(ravdess_48k / "03-01-08-01-02-02-01.wav", dtype="float32")
    result = clf.predict_array(stereo, rate, name="stereo")
    assert (result["channels"], result["sample_rate"]) == (2, 48000) and result["emotion"] in clf.classes
    with pytest.raises(audio.AudioError, match="bad: contains NaN"):
        clf.predict_array(np.full(30000, np.nan, np.float32), 22050, name="bad")
    with pytest.raises(audio.AudioError, match=r"got shape \(0,\)"):
        clf.predict_array(np.zeros(0, np.float32), 22050)


def python_example(page: str, heading: str) -> str:
    text = (ROOT / page).read_text()
    section = text[text.index(heading):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("\n```", start)]


def test_readme_python_example_runs(models, tmp_path):
    """README's example, on a fixture recording named as in the example."""
    code = python_example("README.md", "## Classify a recording")
    (tmp_path / "export").symlink_to(models["frames"]["onnx"])
    (tmp_path / "recording.wav").symlink_to(ROOT / "tests" / "fixtures" / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**ENV, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in onnx_model.load(models["frames"]["onnx"]).classes


def test_docs_python_example_runs(models, tmp_path):
    code = python_example("docs/predict.md", "## From Python")
    (tmp_path / "export").symlink_to(models["frames"]["onnx"])       # the example's paths, from a user's folder
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**ENV, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    classes = onnx_model.load(models["frames"]["onnx"]).classes
    assert first.split()[0] in classes and "'neutral':" in first and second in classes


DELTAS_PREDICT = """
import json, sys
from emoaugnet.inference.api import Classifier
result = Classifier.from_dir(sys.argv[1]).predict_file(sys.argv[2])
print(json.dumps({"probabilities": result["probabilities"], "scipy": "scipy" in sys.modules}))
"""


def test_the_exported_temperature_is_applied_as_keras_evaluation_applies_it(ravdess_fixture, tmp_path):
    """A bundle's calibration travels into its export's model.json, and ONNX predict gives what the Keras
    bundle's network gives (evaluate's predictions.csv) with that temperature applied, p ** (1 / T)."""
    from emoaugnet.inference.predictor import PredictParams, read_windows
    from emoaugnet.model import calibration, normalisation
    # last layer x20: probabilities spread out but none underflows to 0 (at x200 the float32 tails of Keras
    # and onnxruntime differ, and any temperature magnifies them)
    keras_dir = featurestore.untrained_bundle(tmp_path / "keras", fitted_scaler=True, logit_scale=20,
                                              **{"model.input_layout": "frames"})
    config = json.loads((keras_dir / "model.json").read_text())
    config["calibration"] = {"temperature": 2.5, "min_probability": 0.4, "min_margin": 0.1, "fitted": True,
                             "fit": {"on": "validation speakers", "samples": 10}}
    (keras_dir / "model.json").write_text(json.dumps(config))
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(tmp_path / "onnx")]) == 0
    assert json.loads((tmp_path / "onnx" / "model.json").read_text())["calibration"] == config["calibration"]
    b = bundle.load(keras_dir)
    files = sorted(ravdess_fixture.glob("Actor_0*/*.flac"))[::6]
    clips = np.stack([read_windows(f, b.audio_params, PredictParams()).windows[0].samples for f in files])
    frames = normalisation.for_predict(b.extract(clips), b.model_params.normalisation, None)
    network = b.predict_frames(frames)                                      # what evaluate writes
    want = calibration.scale(network, 2.5)
    got = Classifier.from_dir(tmp_path / "onnx").predict_files(files)
    assert all(r["combined"] == "single window" and r["calibrated"] for r in got)
    q = np.array([[r["probabilities"][c] for c in b.classes] for r in got])
    np.testing.assert_allclose(q, want, atol=1e-4, rtol=0)
    assert np.abs(want - network).max() > 0.05                               # the temperature did change them


def test_an_export_with_mfcc_deltas_predicts_like_keras_without_scipy(tmp_path, ravdess_fixture):
    """40 MFCCs + deltas: the export carries the delta filter (features.npz), and predicting with it imports
    no SciPy, giving the Keras bundle's probabilities."""
    keras_dir = featurestore.untrained_bundle(tmp_path / "keras", logit_scale=200, **{
        "model.input_layout": "frames", "features.n_mfcc": 40, "features.deltas": 1})
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(tmp_path / "onnx")]) == 0
    with np.load(tmp_path / "onnx" / "features.npz") as npz:
        assert npz["delta1"].shape == (108, 108) and "delta2" not in npz
    clip = sorted(ravdess_fixture.glob("Actor_03/*.flac"))[5]
    done = subprocess.run([sys.executable, "-c", DELTAS_PREDICT, str(tmp_path / "onnx"), str(clip)], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["scipy"] is False
    want = Classifier.from_dir(keras_dir).predict_file(str(clip))["probabilities"]
    np.testing.assert_allclose([got["probabilities"][c] for c in want], list(want.values()), atol=2e-3)


def test_an_export_of_logmel_features_predicts_like_keras(tmp_path, ravdess_fixture):
    """features.spectrum: logmel (64 bands): the export's matrices give the Keras bundle's probabilities."""
    keras_dir = featurestore.untrained_bundle(tmp_path / "keras", logit_scale=200, **{   # per-utterance CMVN
        "model.input_layout": "frames", "features.spectrum": "logmel", "features.n_mels": 64,
        "model.feature_norm": "utterance"})
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(tmp_path / "onnx")]) == 0
    with np.load(tmp_path / "onnx" / "features.npz") as npz:
        assert npz["mel"].shape == (64, 1025) and npz["dct"].shape == (64, 64)
    files = sorted(ravdess_fixture.glob("Actor_0*/*.flac"))[::8]
    keras_clf, onnx_clf = Classifier.from_dir(keras_dir), Classifier.from_dir(tmp_path / "onnx")
    p, q = (probabilities(c.predict_files(files), c.classes) for c in (keras_clf, onnx_clf))
    assert p.max() > 0.9
    np.testing.assert_allclose(q, p, atol=1e-4, rtol=0)


def test_the_pooling_network_exports_and_predicts_like_keras(tmp_path, ravdess_fixture, ravdess_48k):
    """model.network: pooling (a custom pooling layer) goes through the same export, and onnxruntime gives
    Keras's probabilities for every window of real recordings."""
    keras_dir = featurestore.untrained_bundle(tmp_path / "keras", fitted_scaler=True, logit_scale=200, **{
        "model.input_layout": "frames", "model.network": "pooling", "model.feature_norm": "utterance"})
    assert json.loads((keras_dir / "model.json").read_text())["model"]["network"] == "pooling"
    assert cli.main(["export", "--model", str(keras_dir), "--out", str(tmp_path / "onnx")]) == 0
    files = sorted(ravdess_fixture.glob("Actor_0*/*.flac"))[::6] + sorted(ravdess_48k.glob("*.wav"))
    keras_clf, onnx_clf = Classifier.from_dir(keras_dir), Classifier.from_dir(tmp_path / "onnx")
    want, got = keras_clf.predict_files(files), onnx_clf.predict_files(files)
    p, q = probabilities(want, keras_clf.classes), probabilities(got, onnx_clf.classes)
    assert len(p) >= len(files) and p.max() > 0.9
    np.testing.assert_allclose(q, p, atol=1e-4, rtol=0)
