"""Faults of the machine and the filesystem: symlinked corpora, a full disk, truncated WAVs, a kill while DVCLive writes its
summary, memory flat in the speaker's size, and two runs at once in one project.

Real stage commands and library calls on the RAVDESS fixtures in temporary projects. The disk-full
tests use a real small filesystem (a tmpfs mounted over the output folder) when this process may mount
one (root, as in a container); elsewhere they inject ENOSPC into the atomic writer's
fsync for files in that folder. The fixture returns which it used, each failure message names it, and
the assertions are the same.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import h5py
import pytest
import soundfile as sf

from emoaugnet import atomic, lock
from emoaugnet.store import augment, feature_shards
from emoaugnet.model import bundle
from emoaugnet.inference import predictor as inference
from emoaugnet.data import manifest
from emoaugnet.training import splits, fit as training
from emoaugnet.store import shards as store
from emoaugnet.data.ingest import ingest
from emoaugnet.params import from_dict
from helpers import featurestore, tiny_project
from stages import augment as augment_stage
from stages import download, evaluate, train
from test_corpora_ravdess_iemocap import iemocap_folder, iemocap_params  # noqa: F401  (a fixture and its params)

pytestmark = pytest.mark.slow      # runs real stages on temporary projects

ROOT = Path(__file__).resolve().parents[1]
TINY_TRAIN = {"model.input_layout": "frames", "train.epochs": 2, "train.batch_size": 16,
              "train.precision": "float32", "split.test_speakers": [4], "split.val_speakers": [3]}


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


# --------------------------------------------------------------------------- symlinked corpus folders

def test_symlinked_actor_folders_are_followed_once_and_counted(tmp_path, ravdess_fixture, monkeypatch):
    """Actor_01 and Actor_02 are links (shared-storage layout), Actor_03 is a real folder holding a link
    back to its parent (a loop), and a second link points at the real folder again: every file is
    listed exactly once, and the report says how many came through links."""
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    shutil.copytree(ravdess_fixture / "Actor_03", src / "real" / "Actor_03")
    (src / "real" / "Actor_03" / "again").symlink_to("..", target_is_directory=True)     # a loop
    for actor in ("Actor_01", "Actor_02"):
        (src / actor).symlink_to(ravdess_fixture / actor, target_is_directory=True)
    (src / "link_to_real").symlink_to(src / "real", target_is_directory=True)         # the same folder twice
    featurestore.write_params(tmp_path / "p" / "params.yaml", **{"corpora.ravdess.source": str(src)})
    monkeypatch.chdir(tmp_path / "p")
    assert download.main(["ravdess"]) == 0
    report = json.loads(Path("data/reports/download/ravdess.json").read_text())
    assert report["listed"] == 48 and report["bad"] == 0            # 3 actors x 16, no duplicate
    assert report["through_links"] == 32
    assert report["speakers"]["count"] == 3
    rows = manifest.read(Path("data/manifests/ravdess.csv"))
    assert sorted({r.speaker for r in rows}) == ["1", "2", "3"]
    for row in rows:                                                 # copied, not linked, into the project
        assert not Path(row.path).is_symlink() and Path(row.path).stat().st_size > 0


def test_a_symlinked_iemocap_session_is_read_and_counted(tmp_path, iemocap_folder):  # noqa: F811
    elsewhere = tmp_path / "shared-storage"
    elsewhere.mkdir()
    shutil.move(iemocap_folder / "Session2", elsewhere / "Session2")
    (iemocap_folder / "Session2").symlink_to(elsewhere / "Session2", target_is_directory=True)
    report = ingest("iemocap", iemocap_params(iemocap_folder), tmp_path / "p")
    rows = manifest.read(tmp_path / "p" / "data" / "manifests" / "iemocap.csv")
    from_session2 = [r for r in rows if r.speaker.startswith("Ses02")]
    assert from_session2 and report["through_links"] == len(from_session2)
    assert report["listed"] == len(rows) + report["bad"]


# --------------------------------------------------------------------------- disk full

@pytest.fixture
def small_disk(monkeypatch):
    """``make(folder, size)``: ``folder`` becomes a tmpfs of ``size`` (writes past it fail with ENOSPC for
    real) when this process may mount one, else ENOSPC is injected into fsync of files written under it
    by :mod:`emoaugnet.atomic`. Returns ``"tmpfs"`` or ``"injected"``."""
    mounted: list[Path] = []

    def make(folder: Path, size: str) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                capture_output=True).returncode == 0:
            mounted.append(folder)
            return "tmpfs"
        real_fsync, inside = os.fsync, str(folder.resolve())

        def fsync(fd: int) -> None:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(inside):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_fsync(fd)
        monkeypatch.setattr(atomic.os, "fsync", fsync)
        return "injected"
    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> None:
    """Use up every free byte of the filesystem ``folder`` is on."""
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while f.write(b"\0" * 4096):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def assert_clean_failure(err: str, path: str, how: str) -> None:
    assert f"{path}: cannot write: No space left on device (errno 28)" in err, (how, err)
    assert "Traceback" not in err, (how, err)


def test_disk_full_mid_shard_fails_augment_cleanly(tmp_path, ravdess_fixture, monkeypatch, capsys, small_disk):
    """A 1 MB filesystem under data/augmented: the first 3 MB shard fails halfway through its write."""
    src = tmp_path / "src"
    shutil.copytree(ravdess_fixture / "Actor_01", src / "Actor_01")
    featurestore.write_params(tmp_path / "p" / "params.yaml", **{"corpora.ravdess.source": str(src),
                                                               "augment.variants": [["noise"]]})
    monkeypatch.chdir(tmp_path / "p")
    assert download.main(["ravdess"]) == 0
    how = small_disk(Path("data/augmented/ravdess").resolve(), "1m")
    capsys.readouterr()
    assert augment_stage.main(["ravdess", "--workers", "1"]) == 1, how
    assert_clean_failure(capsys.readouterr().err, "data/augmented/ravdess/speaker_1.h5", how)
    assert os.listdir("data/augmented/ravdess") == []          # no shard, no temporary file
    assert not Path("data/reports/augment").exists()


def test_disk_full_mid_model_save_fails_train_cleanly(tmp_path, monkeypatch, capsys, small_disk):
    """A 1 MB filesystem under models/: the 4.6 MB weights file fails halfway; no bundle is left."""
    featurestore.write_params(tmp_path / "params.yaml", **{**TINY_TRAIN, "train.epochs": 1})
    featurestore.build(tmp_path / "data" / "features", num_variants=1)
    monkeypatch.chdir(tmp_path)
    how = small_disk((tmp_path / "models").resolve(), "1m")
    assert train.main([]) == 1, how
    assert_clean_failure(capsys.readouterr().err, "models/model.weights.h5", how)
    assert os.listdir("models") == []
    with pytest.raises(bundle.BundleError, match="model bundle not found"):
        bundle.load("models")
    if how == "tmpfs":      # the command itself exits 1 (HDF5 failing mid-write once crashed it at exit)
        done = subprocess.run([sys.executable, "-m", "stages.train"], cwd=tmp_path, env=env(),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr[-2000:]
        assert_clean_failure(done.stderr, "models/model.weights.h5", how)
        assert os.listdir("models") == []


def test_disk_full_mid_report_fails_evaluate_and_keeps_the_old_report(tmp_path, monkeypatch, capsys, small_disk):
    featurestore.write_params(tmp_path / "params.yaml", **TINY_TRAIN)
    root = featurestore.build(tmp_path / "data" / "features", num_variants=1)
    p = from_dict(featurestore.params_tree(**TINY_TRAIN))
    featurestore.untrained_bundle(tmp_path / "models")
    b = bundle.load(tmp_path / "models")
    bundle.save(tmp_path / "models", b.model, b.mean, b.scale, b.classes, b.model_params, b.feature_params,
                b.audio_params, b.num_frames, b.num_channels, b.precision,
                split=splits.record(p, splits.from_params(p, root)))
    reports = (tmp_path / "reports").resolve()
    how = small_disk(reports, "64k")
    old = '{"weighted_accuracy": 0.5}\n'
    (reports / "metrics.json").write_text(old)
    if how == "tmpfs":
        fill(reports)
    monkeypatch.chdir(tmp_path)
    assert evaluate.main([]) == 1, how
    assert_clean_failure(capsys.readouterr().err, "reports/per_class.csv", how)     # the first one written
    assert sorted(p.name for p in reports.iterdir() if p.name != "filler") == ["metrics.json"]
    assert (reports / "metrics.json").read_text() == old


# --------------------------------------------------------------------------- truncated WAV

def test_a_truncated_wav_is_listed_by_augment_in_predicts_words(tmp_path, ravdess_48k):
    whole = ravdess_48k / "03-01-05-01-01-01-01.wav"
    cut = tmp_path / "03-01-05-01-01-01-01.wav"
    cut.write_bytes(whole.read_bytes()[:150_000])
    rows = featurestore.fixture_rows(actors=(2,), per_actor=2)
    rows.append(manifest.Utterance(cut.stem, str(cut), "ravdess", "1", "M", "angry", "angry", 1.5, 48000, 1))
    p = featurestore.params(**{"augment.variants": [["noise"]]})
    report = augment.run("ravdess", rows, p, tmp_path / "aug", tmp_path / "aug.json", workers=1, progress=False)
    assert report["bad"] == [] and report["augmented"] == 3            # used as far as it decodes
    expected_s = round(sf.info(str(whole)).frames / 48000, 3)
    decoded_s = round(sf.info(str(cut)).frames / 48000, 3)
    assert expected_s == 3.871 and decoded_s == 1.52
    (entry,) = report["truncated"]
    assert entry["utterance"] == cut.stem and entry["path"] == str(cut)
    assert (entry["expected_s"], entry["decoded_s"]) == (expected_s, decoded_s)
    assert entry["warning"] == (f"truncated: the header announces 371,572 bytes of audio ({expected_s:.3f} s), "
                                f"the file holds 145,904 ({decoded_s:.3f} s); augmented what is there")
    assert json.loads((tmp_path / "aug.json").read_text())["truncated"] == [entry]
    rec = inference.read_windows(cut, p.audio, inference.PredictParams())
    assert rec.warning == entry["warning"].replace("augmented what", "classified what")


# --------------------------------------------------------------------------- DVCLive's metrics.json

def test_a_kill_while_dvclive_writes_its_summary_leaves_the_previous_complete_one(tmp_path, monkeypatch):
    """The second epoch's summary write dies halfway (the bytes written so far, then KeyboardInterrupt,
    as a kill would leave them): dvclive/metrics.json must still be the first epoch's complete summary."""
    root = featurestore.build(tmp_path / "features", num_variants=1)
    p = from_dict(featurestore.params_tree(**TINY_TRAIN))
    live = tmp_path / "dvclive"
    real_dump, writes = json.dump, []

    def dump(obj, fp, *args, **kwargs):
        name = Path(str(getattr(fp, "name", ""))).name        # dvclive's file, or our temporary one
        if name == "metrics.json" or name.startswith(".tmp-metrics.json."):
            writes.append(json.dumps(obj))
            if len(writes) == 2:
                text = json.dumps(obj, *args, **kwargs)
                fp.write(text[:len(text) // 2])
                fp.flush()
                raise KeyboardInterrupt
        return real_dump(obj, fp, *args, **kwargs)
    monkeypatch.setattr(json, "dump", dump)
    with pytest.raises(KeyboardInterrupt):
        training.train_and_save(p, root, tmp_path / "models", live, verbose=0)
    monkeypatch.undo()
    assert len(writes) == 2
    summary = json.loads((live / "metrics.json").read_text())      # complete, not truncated
    assert summary == json.loads(writes[0]) and summary["step"] == 0
    assert not [f.name for f in live.iterdir() if f.name.startswith(".tmp-")]


# --------------------------------------------------------------------------- memory flat in the speaker's size

def test_augment_and_features_shards_are_byte_identical_to_whole_array_writes(tmp_path):
    """The shards written piece by piece equal write_shard of the same arrays in memory (the previous
    writers: same datasets in the same order, same attributes), so streaming changed no byte of the stores."""
    p = featurestore.params(**{"augment.variants": [["noise"], ["slow"]]})
    rows = featurestore.fixture_rows(actors=(1, 2), per_actor=3)
    augment.run("ravdess", rows, p, tmp_path / "aug", tmp_path / "aug.json", workers=1, progress=False)
    feature_shards.run("ravdess", p.features, tmp_path / "aug", tmp_path / "feat", workers=1, progress=False)
    order = {"aug": ["waveform", "utterance", "variant", "chain", "label", "speaker", "transform_params"],
             "feat": ["features", "label", "utterance", "speaker", "variant", "chain"]}
    for speaker in ("1", "2"):
        name = store.shard_name(speaker)
        attrs = {"aug": augment.shard_attrs("ravdess", speaker, p),
                 "feat": feature_shards.feature_attrs(augment.shard_attrs("ravdess", speaker, p), p.features,
                                                      p.num_frames)}
        for folder in ("aug", "feat"):
            with h5py.File(tmp_path / folder / name) as f:
                arrays = {k: f[k].asstr()[:].astype(object) if f[k].dtype.kind == "O" else f[k][:]
                          for k in order[folder]}
            assert len(arrays[order[folder][0]]) == 9          # 3 utterances x 3 variants
            again = tmp_path / "again" / folder / name
            store.write_shard(again, arrays, attrs[folder])
            assert again.read_bytes() == (tmp_path / folder / name).read_bytes(), (folder, name)


def traced_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_augment_and_features_memory_does_not_grow_with_the_speakers_utterances(tmp_path):
    """Peak traced allocation (numpy arrays included; deterministic, not timed) while augmenting one
    speaker of 4 and of 14 utterances: the larger speaker may add less than one utterance's variants;
    likewise for the features of a shard of 8 and of 14 utterances.
    The figures on an IEMOCAP-shaped corpus come from bench/bench_memory.py."""
    p = featurestore.params(**{"augment.variants": [["noise"]]})
    rows = featurestore.fixture_rows(actors=(1,), per_actor=16)
    assert len(rows) == 14
    one_utterance = 2 * p.audio.num_samples * 2                 # its variants as int16
    augment.augment_speaker(rows[:1], p, tmp_path / "warm-up")   # lazy imports and caches: not traced
    small = traced_peak(lambda: augment.augment_speaker(rows[:4], p, tmp_path / "small"))
    large = traced_peak(lambda: augment.augment_speaker(rows, p, tmp_path / "large"))
    assert large - small < one_utterance, (small, large)
    # features of an 8- and the 14-utterance shard (16 and 28 samples: both past one full batch, so the
    # extraction's own buffers are the same): the larger may not hold its 12 extra samples' features
    augment.augment_speaker(rows[:8], p, tmp_path / "eight")
    one_sample = p.num_frames * p.features.num_channels * 4
    feature_shards.feature_speaker(tmp_path / "warm-up" / "speaker_1.h5", tmp_path / "fw", p.features)
    small = traced_peak(lambda: feature_shards.feature_speaker(tmp_path / "eight" / "speaker_1.h5",
                                                               tmp_path / "fs", p.features))
    large = traced_peak(lambda: feature_shards.feature_speaker(tmp_path / "large" / "speaker_1.h5",
                                                               tmp_path / "fl", p.features))
    assert large - small < 4 * one_sample, (small, large)


# --------------------------------------------------------------------------- two runs at once

def test_a_stage_started_while_another_holds_the_project_refuses(tmp_path):
    featurestore.write_params(tmp_path / "params.yaml")
    with lock.project_lock(tmp_path):
        done = subprocess.run([sys.executable, "-m", "stages.augment", "ravdess"], cwd=tmp_path, env=env(),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert (f"augment: another EmoAugNet stage (pid {os.getpid()}) is running in this project"
            in done.stderr), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()
    with lock.project_lock(tmp_path):          # released: taken again at once
        pass


def test_every_stage_takes_the_lock_and_reports_with_one_runner(tmp_path, monkeypatch, capsys):
    """Every stage goes through emoaugnet.stage.run_stage (a fold or LOCO stage is train / evaluate with
    another setup): export too refuses a locked project, and a write that fails mid-export is one line
    naming the file, not a traceback."""
    from emoaugnet.data import audio
    from emoaugnet.evaluation import baseline, cv_summary
    from emoaugnet import errors, stage
    from emoaugnet.training import folds
    from emoaugnet.params import ParamsError
    from stages import export
    featurestore.write_params(tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    with lock.project_lock(tmp_path):
        assert export.main([]) == 1
    assert f"export: another EmoAugNet stage (pid {os.getpid()}) is running" in capsys.readouterr().err
    featurestore.untrained_bundle(tmp_path / "models")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    assert export.main([]) == 1
    err = capsys.readouterr().err
    assert "export: export/model.onnx: cannot write: No space left on device (errno 28)" in err, err
    assert "Traceback" not in err and not (tmp_path / "export" / "model.json").exists()
    for path in sorted(set((ROOT / "stages").glob("*.py")) - {ROOT / "stages" / "__init__.py"}):
        code = path.read_text()
        assert "run_stage(" in code or "raise SystemExit(" in code and ".main(name=" in code, path.name
        assert "except" not in code and "project_lock" not in code, path.name
    for cls in (atomic.WriteError, lock.LockError, bundle.BundleError, store.StoreError, splits.SplitError,
                augment.AugmentError, audio.AudioError, ParamsError, baseline.BaselineError, cv_summary.CVError,
                folds.FoldError):
        assert issubclass(cls, errors.EmoAugNetError), cls
    assert stage.run_stage.__module__ == "emoaugnet.stage"


def test_a_second_dvc_repro_or_stage_during_dvc_repro_is_refused(tmp_path):
    """A real ``dvc repro`` of a tiny project; while its train stage runs, a stage started by hand is
    refused by our lock and a second ``dvc repro`` by DVC's own (.dvc/tmp/rwlock); the first run then
    completes."""
    repo = tiny_project.build(tmp_path)
    first = subprocess.Popen(tiny_project.DVC + ["repro"], cwd=repo, env=tiny_project.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock_file = repo / lock.LOCK_FILE
    began = time.monotonic()
    while "stages.train" not in holder(lock_file):      # the longest stage (imports TensorFlow, trains)
        assert first.poll() is None and time.monotonic() - began < 240, first.stdout.read()[-3000:]
        time.sleep(0.02)
    by_hand = subprocess.run([sys.executable, "-m", "stages.download", "ravdess"], cwd=repo,
                             env=tiny_project.env(), capture_output=True, text=True, timeout=120)
    second = subprocess.run(tiny_project.DVC + ["repro"], cwd=repo, env=tiny_project.env(),
                            capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second ones could try"
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out[-3000:]
    assert by_hand.returncode == 1 and "Traceback" not in by_hand.stderr
    assert "download: another EmoAugNet stage (pid " in by_hand.stderr, by_hand.stderr[-2000:]
    assert second.returncode != 0
    # DVC's refusal: the stage outputs the first run holds are "busy" (its .dvc/tmp/rwlock)
    assert "is busy, it is being blocked by" in second.stderr and "rwlock" in second.stderr, second.stderr[-2000:]
    assert json.loads((repo / "reports" / "metrics.json").read_text())["protocol"] == "speaker"


def holder(lock_file: Path) -> str:
    """The command line of the live process whose pid the lock file holds ("" if none)."""
    try:
        pid = int(lock_file.read_text().strip())
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return ""
