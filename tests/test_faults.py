"""Bad input, interruptions and faults: bad params, unusable audio, SIGKILL mid-stage, crafted files.

Real stage commands on the RAVDESS fixtures in temporary projects (a tmp folder with its own
params.yaml and data/), shrunk through params rather than mocked.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf

from emoaugnet.store import augment, feature_shards
from emoaugnet.model import bundle
from emoaugnet import cli
from emoaugnet.data import manifest
from emoaugnet.training import splits, fit as training
from emoaugnet.store import shards as store
from emoaugnet.data.fetch import DownloadError
from emoaugnet.data.ingest import ingest
from emoaugnet.params import ParamsError, from_dict
from helpers import featurestore
from stages import augment as augment_stage
from stages import download, evaluate, train
from stages import features as features_stage

pytestmark = pytest.mark.slow      # runs real stages on temporary projects and kills them

ROOT = Path(__file__).resolve().parents[1]
SR = 22050


def write_params(project: Path, **overrides) -> Path:
    """A project folder holding params.yaml with ``overrides``; returns the folder."""
    featurestore.write_params(project / "params.yaml", **overrides)
    return project


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


# --------------------------------------------------------------------------- params

BAD_PARAMS = [
    ({"model.conv_activation": "swish"}, "`model.conv_activation` is 'swish'; allowed values: relu, elu"),
    ({"split.protocol": "kfold"}, "`split.protocol` is 'kfold'; allowed values: speaker, utterance, paper"),
    ({"corpora.ravdess.label_map.calm": "calmness"},
     "`corpora.ravdess.label_map.calm` is 'calmness'; allowed values: neutral, surprise"),
    ({"features.frame_length": 100_000}, "`features.frame_length` (100000 samples) is longer than the analysis "
                                         "window `audio.duration` (2.5 s = 55125 samples)"),
]
STAGES = [(download, ["ravdess"]), (augment_stage, ["ravdess"]), (features_stage, ["ravdess"]), (train, []), (evaluate, [])]


@pytest.mark.parametrize("overrides, message", BAD_PARAMS, ids=lambda v: next(iter(v)) if isinstance(v, dict) else "")
def test_every_stage_names_the_bad_key_and_exits_non_zero_before_any_work(tmp_path, monkeypatch, capsys,
                                                                        overrides, message):
    write_params(tmp_path, **overrides)
    monkeypatch.chdir(tmp_path)
    for module, argv in STAGES:
        assert module.main(argv) == 1, module.__name__
        err = capsys.readouterr().err
        assert message in err, (module.__name__, err)
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]     # nothing started


def test_predict_names_a_bad_setting_and_exits_2(tmp_path, capsys, untrained_bundle):
    assert cli.main(["predict", "--model", str(untrained_bundle), "--hop", "-1", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--hop must be > 0" in err and "Traceback" not in err


def test_test_speakers_that_select_nobody_stop_train_before_training(tmp_path, monkeypatch, capsys):
    """One line naming the key and the speakers there are; nothing trained, nothing written."""
    featurestore.build(tmp_path / "data" / "features", num_variants=1)
    write_params(tmp_path, **{"split.test_speakers": [17, 18], "split.val_speakers": [3]})
    monkeypatch.chdir(tmp_path)
    assert train.main([]) == 1
    err = capsys.readouterr().err
    assert "split.test_speakers ['17', '18'] not in the feature store" in err
    assert "speakers present: 1, 2, 3, 4" in err and "Traceback" not in err
    assert not (tmp_path / "models").exists() and not (tmp_path / "dvclive").exists()


def test_a_store_of_other_classes_is_refused_by_train(tmp_path):
    root = featurestore.build(tmp_path / "features", num_variants=1)
    p = from_dict(featurestore.params_tree(classes=["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"],
                       **{"split.test_speakers": [4], "split.val_speakers": [3]}))
    split = splits.from_params(p, root)
    with pytest.raises(ParamsError, match="feature store holds classes .* params.yaml `classes` is"):
        training.check_store(split.train.attrs, p)


# --------------------------------------------------------------------------- unusable audio

def wav_bytes(y: np.ndarray, subtype: str = "PCM_16") -> bytes:
    import io
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="WAV", subtype=subtype)
    return buf.getvalue()


def unknown_codec_wav() -> bytes:
    data = bytearray(wav_bytes(np.full(SR * 3, 0.1, np.float32)))
    fmt = data.find(b"fmt ")
    data[fmt + 8:fmt + 10] = struct.pack("<H", 0x1234)      # a format tag libsndfile has no decoder for
    return bytes(data)


def float_wav(value: float, seconds: float = 3.0) -> bytes:
    y = np.sin(np.arange(int(SR * seconds), dtype=np.float32) / 7).astype(np.float32) * 0.3
    y[SR:SR + 50] = value
    return wav_bytes(y, "FLOAT")


def bad_kinds(fixture_file: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """``(refused by download, refused by augment)``: name -> file bytes for each kind of bad audio."""
    real = fixture_file.read_bytes()
    at_download = {
        "empty": b"",
        "truncated in the header": real[:40],
        "not audio": b"<html><body>404 Not Found</body></html>\n" * 30,
        "unsupported codec": unknown_codec_wav(),
    }
    at_augment = {
        "truncated in the data": real[:len(real) // 2],
        "all-zero": wav_bytes(np.zeros(SR * 3, np.float32)),
        "shorter than a frame": wav_bytes(np.full(int(SR * 0.65), 0.1, np.float32)),   # 0.05 s after 0.6 s
        "shorter than the offset": wav_bytes(np.full(SR // 10, 0.1, np.float32)),
        "NaN samples": float_wav(np.nan),
        "inf samples": float_wav(np.inf),
        "absurd float samples": float_wav(1e30),
    }
    return at_download, at_augment


REASONS = {
    "empty": "empty file (0 bytes)", "truncated in the header": "not a readable audio file",
    "not audio": "not a readable audio file", "unsupported codec": "not a readable audio file",
    "truncated in the data": "cannot decode audio", "all-zero": "all samples are zero",
    "shorter than a frame": "shorter than one analysis frame (1102 < 2048 samples)",
    "shorter than the offset": "than the offset 0.6 s", "NaN samples": "NaN or infinite",
    "inf samples": "NaN or infinite", "absurd float samples": "far outside the [-1, 1] range",
}


def test_each_kind_of_bad_audio_is_reported_excluded_and_counted(tmp_path, ravdess_fixture, monkeypatch, capsys):
    """download then augment then features commands on actors 1-2 with 11 of their 28 kept files broken."""
    src = tmp_path / "src"
    for actor in ("Actor_01", "Actor_02"):
        shutil.copytree(ravdess_fixture / actor, src / actor)
    at_download, at_augment = bad_kinds(ravdess_fixture / "Actor_01" / "03-01-05-01-01-01-01.flac")
    kept_files = [p for p in sorted(src.rglob("*.flac")) if p.name.split("-")[2] != "02"]   # 02 = calm, dropped
    broken = {}
    for (kind, data), victim in zip([*at_download.items(), *at_augment.items()], kept_files[::2]):
        victim.unlink()
        target = victim.with_suffix(".wav" if data[:4] == b"RIFF" else ".flac")
        target.write_bytes(data)
        broken[kind] = target
    project = write_params(tmp_path / "p", **{"corpora.ravdess.source": str(src),
                                              "augment.variants": [["noise"]], "quality.max_bad_fraction": 0.4})
    monkeypatch.chdir(project)

    assert download.main(["ravdess"]) == 0
    rep = json.loads((project / "data/reports/download/ravdess.json").read_text())
    assert rep["listed"] == 32 and rep["bad"] == len(at_download) and rep["kept"] == 28 - len(at_download)
    reasons = {b["file"]: b["reason"] for b in rep["bad_files"]}
    for kind in at_download:
        name = broken[kind].relative_to(src).as_posix()
        assert REASONS[kind] in reasons[name], (kind, reasons[name])

    assert augment_stage.main(["ravdess", "--workers", "1"]) == 0
    rep = json.loads((project / "data/reports/augment/ravdess.json").read_text())
    assert rep["utterances"] == 28 - len(at_download) and len(rep["bad"]) == len(at_augment)
    assert rep["augmented"] == 28 - len(at_download) - len(at_augment)
    reasons = {Path(b["path"]).name: b["reason"] for b in rep["bad"]}
    for kind in at_augment:
        assert REASONS[kind] in reasons[broken[kind].name], (kind, reasons[broken[kind].name])
    assert features_stage.main(["ravdess", "--workers", "1"]) == 0
    samples = store.load_features(project / "data/features", ["ravdess"])
    assert len(samples) == 2 * rep["augmented"] and np.all(np.isfinite(samples.features))
    bad_utts = {p.stem for p in broken.values()}
    assert not bad_utts & set(samples.utterance)
    capsys.readouterr()

    # the same files under the default-like threshold: each stage fails, names files and the key
    write_params(project, **{"corpora.ravdess.source": str(src), "augment.variants": [["noise"]],
                             "quality.max_bad_fraction": 0.1})
    assert download.main(["ravdess"]) == 1                     # 4 of 32 = 12.5 %
    err = capsys.readouterr().err
    assert "4 of 32 files are unusable" in err and "max_bad_fraction" in err and "Traceback" not in err
    assert augment_stage.main(["ravdess", "--workers", "1"]) == 1    # 7 of 24 = 29 %
    err = capsys.readouterr().err
    assert "7 of 24 files cannot be used" in err and "quality.max_bad_fraction" in err


def test_nan_or_inf_never_reaches_a_shard(tmp_path):
    good = np.zeros((3, 4), np.float32)
    for value in (np.nan, np.inf, -np.inf):
        bad = good.copy()
        bad[1, 2] = value
        with pytest.raises(store.StoreError, match="NaN or inf values in 1 samples; shard not written"):
            store.write_shard(tmp_path / "speaker_1.h5", {"features": bad, "label": np.arange(3)}, {})
        assert list(tmp_path.iterdir()) == []          # neither the shard nor a temporary file


# --------------------------------------------------------------------------- archives (gaps of test_download)

def test_a_cut_off_archive_without_md5_and_an_absolute_member_are_refused(tmp_path, ravdess_fixture):
    import zipfile
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as zf:
        for f in sorted(ravdess_fixture.glob("Actor_01/*.flac")):
            zf.write(f, f.relative_to(ravdess_fixture).as_posix())
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])        # a transfer that stopped halfway
    p = from_dict(featurestore.params_tree(**{"corpora.ravdess.source": str(cut), "corpora.ravdess.md5": None}))
    with pytest.raises(DownloadError, match="cut.zip: not a valid zip archive"):
        ingest("ravdess", p, tmp_path / "p1")
    absolute = tmp_path / "absolute.zip"
    shutil.copy(whole, absolute)
    with zipfile.ZipFile(absolute, "a") as zf:
        zf.writestr(zipfile.ZipInfo("/tmp/escaped.txt"), b"owned")
    p = from_dict(featurestore.params_tree(**{"corpora.ravdess.source": str(absolute), "corpora.ravdess.md5": None}))
    with pytest.raises(DownloadError, match="'/tmp/escaped.txt' would land outside"):
        ingest("ravdess", p, tmp_path / "p2")
    for project in ("p1", "p2"):
        raw = tmp_path / project / "data" / "raw"
        assert not list(raw.iterdir()) and not (tmp_path / project / "data" / "manifests").exists()


# --------------------------------------------------------------------------- interruptions

def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_when(args: list[str], cwd: Path, moment, timeout: float = 240) -> bool:
    """Start ``args``, SIGKILL its whole process group once ``moment(elapsed)`` holds; True if it was
    still running then (False: it finished first, which must then be a success)."""
    proc = start(args, cwd)
    began = time.monotonic()
    while proc.poll() is None:
        elapsed = time.monotonic() - began
        if moment(elapsed):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            return True
        assert elapsed < timeout, f"{args} still running after {timeout} s"
        time.sleep(0.005)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == 0, err[-3000:]
    return False


def run_to_end(args: list[str], cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def after(seconds: float):
    return lambda elapsed: elapsed >= seconds


def appears(folder: Path, pattern: str):
    return lambda elapsed: any(folder.glob(pattern))


def assert_complete_feature_shards(folder: Path, sources: Path) -> None:
    """Every final-named shard opens and holds every row of its source with all datasets."""
    for path in folder.glob("speaker_*.h5"):
        with h5py.File(sources / path.name) as src:
            n = len(src["waveform"])
        with h5py.File(path) as f:
            assert f["features"].shape == (n, 108, 22) and np.all(np.isfinite(f["features"][:]))
            for name in ("label", "utterance", "speaker", "variant", "chain"):
                assert len(f[name]) == n, (path, name)
            assert f.attrs["num_frames"] == 108


@pytest.fixture(scope="module")
def augmented(tmp_path_factory, ravdess_fixture) -> Path:
    """A project with augmented shards of the 4 fixture actors (original + noise variant)."""
    project = write_params(tmp_path_factory.mktemp("kill-features"), **{
        "augment.variants": [["noise"]], "features.workers": 2})
    from emoaugnet.data.corpora import ravdess
    p = from_dict(featurestore.params_tree(**{"augment.variants": [["noise"]]}))
    rows = []
    for path in sorted(ravdess_fixture.glob("Actor_*/*.flac")):
        actor, emotion = ravdess.parse_name(path.stem)
        label = p.corpus("ravdess").label_map[emotion]
        if label:
            rows.append(manifest.Utterance(path.stem, str(path), "ravdess", str(actor), "F", emotion, label,
                                           3.0, SR, 1))
    augment.run("ravdess", rows, p, project / "data/augmented/ravdess", project / "aug.json", workers=1,
                progress=False)
    return project


def test_features_stage_killed_at_any_moment_then_rerun_gives_identical_shards(augmented, tmp_path):
    # uninterrupted reference, in this process on 1 worker (the killed runs use 2: same bytes by design)
    reference = tmp_path / "reference"
    feature_shards.run("ravdess", from_dict(featurestore.params_tree()).features, augmented / "data/augmented/ravdess", reference,
                 workers=1, progress=False)
    expected = {p.name: p.read_bytes() for p in reference.glob("*")}
    assert sorted(expected) == [f"speaker_{i}.h5" for i in range(1, 5)]

    project = tmp_path / "killed"
    shutil.copytree(augmented, project)
    out, sources = project / "data/features/ravdess", project / "data/augmented/ravdess"
    killed = []
    for moment in (after(1.0), appears(out, ".tmp-speaker_*"), appears(out, "speaker_*.h5")):
        killed.append(kill_when(["stages.features", "ravdess"], project, moment))
        assert_complete_feature_shards(out, sources)
    assert any(killed), "every run finished before it could be killed"
    # a half-written temporary shard, as a kill during a write leaves: never a shard, removed on rerun
    out.mkdir(parents=True, exist_ok=True)
    (out / ".tmp-speaker_2.h5.x1y2z3").write_bytes(expected["speaker_2.h5"][:5000])
    run_to_end(["stages.features", "ravdess"], project)
    # every file of the folder is a complete shard, byte for byte the uninterrupted run's: the half-written
    # temporary file and those of the killed runs are gone, and none was taken for a shard
    assert {p.name: p.read_bytes() for p in out.glob("*")} == expected
    assert [p.name for p in store.shards(project / "data/features", ["ravdess"])] == sorted(expected)


@pytest.fixture(scope="module")
def train_project(tmp_path_factory) -> Path:
    project = write_params(tmp_path_factory.mktemp("kill-train"), **{
        "model.input_layout": "frames", "train.epochs": 2, "train.batch_size": 16, "train.precision": "float32",
        "split.test_speakers": [4], "split.val_speakers": [3]})
    featurestore.build(project / "data/features", num_variants=1)
    return project


def bundle_files(models: Path) -> dict[str, bytes]:
    return {name: (models / name).read_bytes() for name in (bundle.WEIGHTS_FILE, bundle.CONFIG_FILE)}


def test_train_stage_killed_at_any_moment_leaves_no_bundle_or_a_complete_one(train_project, tmp_path):
    """Killed mid-training and mid-save, then rerun: models/ never holds a partial or mixed bundle, and the
    rerun's bundle is byte for byte that of an uninterrupted run, as is any whole bundle a kill left."""
    reference = tmp_path / "reference"
    shutil.copytree(train_project, reference, ignore=shutil.ignore_patterns("models", "dvclive", "reports"))
    run_to_end(["stages.train"], reference)
    expected = bundle_files(reference / "models")
    models = train_project / "models"
    seen = []
    killed = []
    for moment in (appears(train_project / "dvclive", "metrics.json"), appears(models, "*")):
        killed.append(kill_when(["stages.train"], train_project, moment))
        final = [p for p in models.glob("*") if not p.name.startswith(".tmp-")] if models.exists() else []
        if (models / bundle.CONFIG_FILE).exists():          # a bundle is there: it must be whole
            bundle.load(models)
            seen.append(bundle_files(models))
        elif final:
            with pytest.raises(bundle.BundleError, match="model bundle not found"):
                bundle.load(models)
        for weights in final:                               # a final-named weights file is a whole HDF5 file
            if weights.suffix == ".h5":
                with h5py.File(weights):
                    pass
    assert any(killed), "every run finished before it could be killed"
    run_to_end(["stages.train"], train_project)
    bundle.load(models)
    assert bundle_files(models) == expected                       # seeded: the same bundle every time
    assert all(state == expected for state in seen)
    assert not [p.name for p in models.iterdir() if p.name.startswith(".tmp-")]


def test_a_save_interrupted_between_weights_and_description_leaves_no_bundle(tmp_path, monkeypatch,
                                                                             untrained_bundle):
    """The old bundle's model.json must not describe the new weights: it is removed before they are written."""
    models = tmp_path / "models"
    shutil.copytree(untrained_bundle, models)
    b = bundle.load(models)

    def killed(*_):
        raise KeyboardInterrupt
    monkeypatch.setattr(bundle, "write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        bundle.save(models, b.model, b.mean, b.scale, b.classes, b.model_params, b.feature_params,
                    b.audio_params, b.num_frames, b.num_channels, b.precision)
    assert sorted(p.name for p in models.iterdir()) == [bundle.WEIGHTS_FILE]
    with pytest.raises(bundle.BundleError, match="model bundle not found"):
        bundle.load(models)


# --------------------------------------------------------------------------- nothing runs code from a file

class _Payload:
    """Unpickling this runs ``open(SENTINEL, "w")``: proof that something was unpickled."""

    def __init__(self, sentinel: Path):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


@pytest.fixture(scope="module")
def untrained_bundle(tmp_path_factory) -> Path:
    return featurestore.untrained_bundle(tmp_path_factory.mktemp("bundle") / "models")


def test_a_shard_carrying_a_pickle_payload_is_refused_without_running_it(tmp_path):
    sentinel = tmp_path / "PWNED"
    payload = pickle.dumps(_Payload(sentinel))
    root = featurestore.build(tmp_path / "features", num_variants=1)
    shard = root / "ravdess" / "speaker_1.h5"
    cases = {
        "classes attribute": lambda f: f.attrs.__setitem__("classes", np.void(payload)),
        "utterance as opaque bytes": lambda f: (f.__delitem__("utterance"),
                                                f.create_dataset("utterance", data=np.array(
                                                    [np.void(payload)] * len(f["label"])))),
        "label as bytes": lambda f: (f.__delitem__("label"),
                                     f.create_dataset("label", data=np.array([payload.replace(b"\0", b"")]
                                                                             * len(f["variant"])))),
    }
    original = shard.read_bytes()
    for name, craft in cases.items():
        shard.write_bytes(original)
        with h5py.File(shard, "a") as f:
            craft(f)
        with pytest.raises(store.StoreError, match="speaker_1.h5: not a valid feature shard"):
            store.load_features(root, ["ravdess"])
        assert not sentinel.exists(), name


def test_a_crafted_bundle_is_refused_without_running_anything(tmp_path, untrained_bundle):
    sentinel = tmp_path / "PWNED"
    good = json.loads((untrained_bundle / bundle.CONFIG_FILE).read_text())
    crafted = {
        "activation naming a function": {**good, "model": {**good["model"], "conv_activation": "os.system"}},
        "layout naming a class": {**good, "model": {**good["model"], "input_layout": "keras.layers.Lambda"}},
        "unexpected model key": {**good, "model": {**good["model"], "__reduce__": ["os.system", "touch"]}},
        "keras config instead of params": {**good, "model": {"class_name": "Lambda", "module": "keras.layers",
                                                             "config": {"function": "os.system"}}},
    }
    for name, config in crafted.items():
        models = tmp_path / name.replace(" ", "_")
        shutil.copytree(untrained_bundle, models)
        (models / bundle.CONFIG_FILE).write_text(json.dumps(config))
        with pytest.raises(bundle.BundleError, match="missing or invalid entry"):
            bundle.load(models)
    models = tmp_path / "pickled_weights"
    shutil.copytree(untrained_bundle, models)
    (models / bundle.WEIGHTS_FILE).write_bytes(pickle.dumps(_Payload(sentinel)))
    with pytest.raises(bundle.BundleError, match="cannot load weights"):
        bundle.load(models)
    assert not sentinel.exists()


def test_loading_a_bundle_and_a_store_never_unpickles(tmp_path, monkeypatch, untrained_bundle):
    root = featurestore.build(tmp_path / "features", num_variants=1)

    def refuse(*_, **__):
        raise AssertionError("something was unpickled")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(np, "load", refuse)
    b = bundle.load(untrained_bundle)
    samples = store.load_features(root, ["ravdess"])
    assert b.predict_frames(samples.features[:2]).shape == (2, 7)
