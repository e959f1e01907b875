"""The model shipped inside the package (emoaugnet/shipped/, put there by `emoaugnet release`).

These tests read the real packaged model, so they fail until one is released (docs/release.md): a checkout
without one cannot do what README promises (`emoaugnet predict recording.wav` right after install).
The params-drift test fails when params.yaml's defaults and the shipped card's params differ: then either
the defaults changed without a new model, or a model was released from other params.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from emoaugnet.release import card as card_mod
from emoaugnet.inference import model_dir
from emoaugnet.release import release
from helpers.answers import answered

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "fixtures" / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac"
#: What predict with an ONNX model must not import (start-up under 1 s: numpy, onnxruntime, soundfile).
HEAVY = {"keras", "tensorflow", "jax", "h5py", "librosa", "scipy", "sklearn", "matplotlib", "numba", "torch"}


def test_params_yaml_defaults_are_the_shipped_models_params():
    card = card_mod.read(model_dir.SHIPPED)
    tree = yaml.safe_load((ROOT / "params.yaml").read_text())
    differ = card_mod.drift(card["params"], tree)
    assert differ == [], ("params.yaml and the shipped model's card (emoaugnet/shipped/card.json) differ; "
                          "release a model trained at these params (docs/release.md) or restore them:\n"
                          + "\n".join(differ))


def test_the_shipped_model_is_whole_speaker_independent_and_fits_the_wheel():
    card = card_mod.read(model_dir.SHIPPED)
    assert model_dir.is_exports(model_dir.SHIPPED)        # one model, or the models it averages
    total = 0
    for name, recorded in card["files"].items():
        data = (model_dir.SHIPPED / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (recorded["bytes"], recorded["sha256"]), name
        total += len(data)
    member = card.get("speaker_model")
    if member is not None:                  # the speaker-adapted member, whole and as its card says
        folder = model_dir.SHIPPED / member["folder"]
        assert model_dir.is_exports(folder)
        for name, recorded in member["files"].items():
            data = (folder / name).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (recorded["bytes"], recorded["sha256"]), name
            total += len(data)
        for model in member["models"]:          # one model, or each model the member averages
            assert json.loads((model_dir.SHIPPED / model["folder"] / "model.json").read_text())["model"][
                "feature_norm"] == "speaker"
        assert member["min_recordings"] == model_dir.speaker_min_recordings()
    parts = [card["classic"], *([member["classic"]] if member else [])]   # the eGeMAPS + SVMs averaged in
    assert [p["folder"] for p in parts] == ["classic", "speaker/classic"][:len(parts)]
    for part in parts:                                                    # whole and as the card says
        for name, recorded in part["files"].items():
            data = (model_dir.SHIPPED / part["folder"] / name).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (recorded["bytes"], recorded["sha256"]), name
            total += len(data)
    assert total <= release.MAX_BYTES
    assert card["input"]["feature_norm"] in ("none", "utterance")
    assert not any(c["derived_works"] == "forbidden" for c in card["corpora"])
    # the card's params name the data it was trained on, as its corpora table does
    assert card["params"]["run"]["corpora"] == [c["name"] for c in card["corpora"]]
    tested = [s for c in card["corpora"] for s in c["speakers"]["test"]]
    assert [str(s) for s in card["params"]["split"]["test_speakers"]] == tested


PREDICT = """
import json, sys
from emoaugnet import cli
code = cli.main(["predict", sys.argv[1]])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
raise SystemExit(code)
"""


def test_predict_in_an_empty_folder_uses_the_shipped_model_and_only_the_core_runtime(tmp_path):
    done = subprocess.run([sys.executable, "-c", PREDICT, str(CLIP)], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    card = card_mod.read(model_dir.SHIPPED)
    assert f"predict: model: the shipped model {card['name']}" in done.stderr
    result = json.loads(done.stdout)
    assert answered(result, card["classes"]) and abs(sum(result["probabilities"].values()) - 1) < 1e-3
    weight = card["classic"]["fusion_weight"]          # each file's answer averages the classic part's in
    assert result["combined"].endswith(f", averaged with the eGeMAPS + SVM's ({weight:g} x network + {1 - weight:g} "
                                       "x SVM; its training speakers' statistics)")
    imported = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "onnxruntime" in imported and not HEAVY & imported, sorted(HEAVY & imported)


ADAPTED = """
import json, sys
from emoaugnet import cli
code = cli.main(["predict", "--speaker-norm", *sys.argv[1:]])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
raise SystemExit(code)
"""


def test_recordings_of_one_speaker_get_the_speaker_adapted_member_from_its_minimum_and_only_the_core_runtime(tmp_path):
    card = card_mod.read(model_dir.SHIPPED)
    assert "speaker_model" in card, "the shipped model has no speaker-adapted member (docs/release.md)"
    needed = card["speaker_model"]["min_recordings"]
    files = sorted(str(p) for p in (CLIP.parent).glob("*.flac"))
    assert len(files) > needed

    def predict(paths: list[str]) -> tuple[list[dict], str, set[str]]:
        done = subprocess.run([sys.executable, "-c", ADAPTED, *paths], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert done.returncode == 0, done.stderr
        return ([json.loads(line) for line in done.stdout.splitlines()], done.stderr,
                set(json.loads(done.stderr.strip().splitlines()[-1])))
    results, err, imported = predict(files[:needed])
    assert f"predict: model: the shipped model {card['name']}, its speaker-adapted member" in err
    assert all(answered(r, card["classes"]) for r in results) and len(results) == needed
    weight = card["speaker_model"]["classic"]["fusion_weight"]
    from emoaugnet.inference.classic import MIN_RECORDINGS        # the classic part judges from this many
    if needed < MIN_RECORDINGS:                                    # the member's networks alone, saying why
        assert all(f"the eGeMAPS + SVM could not judge it (it standardises by the speaker's own functionals, from at "
                   f"least {MIN_RECORDINGS} of their voiced recordings; {needed} gave them)" in r["combined"]
                   for r in results)
        results = predict(files[:MIN_RECORDINGS])[0]
    assert all(f"averaged with the eGeMAPS + SVM's ({weight:g} x network + {1 - weight:g} x SVM; the speaker's "
               f"statistics from {max(needed, MIN_RECORDINGS)} recordings)" in r["combined"] for r in results)
    assert "onnxruntime" in imported and not HEAVY & imported, sorted(HEAVY & imported)
    fewer, err, _ = predict(files[:needed - 1])
    assert f"{needed - 1} recording" in err and f"needs at least {needed}" in err
    assert f"predict: model: the shipped model {card['name']} (see" in err
    plain = subprocess.run([sys.executable, "-c", PREDICT.replace('["predict", sys.argv[1]]', '["predict", *sys.argv[1:]]'),
                            *files[:needed - 1]], cwd=tmp_path, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert [json.loads(line) for line in plain.stdout.splitlines()] == fewer   # fewer: the single-file model's answers


def test_a_session_on_one_onnxruntime_thread_gives_the_results_of_the_default_pool():
    """``emoaugnet serve`` opens its model with one onnxruntime thread per worker (its threads are the
    parallelism); predict uses onnxruntime's default pool. Both answer the same."""
    from emoaugnet.inference.api import Classifier
    choice = model_dir.resolve(model_dir.SHIPPED)
    one, default = Classifier.open_choice(choice, threads=1), Classifier.open_choice(choice)
    assert one.model.session.get_session_options().intra_op_num_threads == 1
    assert default.model.session.get_session_options().intra_op_num_threads == 0     # onnxruntime's default
    assert one.predict_file(CLIP) == default.predict_file(CLIP)
