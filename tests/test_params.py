"""params.yaml is validated before any work starts: one message naming the key and the allowed values."""

import copy

import pytest
import yaml

from emoaugnet import params as P


@pytest.fixture(scope="module")
def tree():
    return yaml.safe_load(open("params.yaml"))


def _with(tree, dotted, value):
    t = copy.deepcopy(tree)
    node = t
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return t


def test_project_params_give_the_papers_shapes(tree):
    p = P.from_dict(tree)
    assert p.audio.num_samples == 55125          # 2.5 s at 22,050 Hz
    assert p.num_frames == 108
    assert p.features.num_channels == 22
    assert p.num_frames * p.features.num_channels == 2376
    assert p.num_variants == 11
    assert p.augment.chain_name(0) == "original"
    assert p.augment.chain_name(3) == "pitch+noise"
    assert p.corpora_to_run == ("ravdess",)
    assert p.corpus("ravdess").label_map["calm"] is None
    assert p.corpus("iemocap").label_map["exc"] == "happy"
    assert p.split.test_speakers == ("17", "18", "19", "20")


@pytest.mark.parametrize("key, value, expected", [
    ("model.conv_activation", "gelu", "`model.conv_activation` is 'gelu'; allowed values: relu, elu"),
    ("split.protocol", "random", "`split.protocol` is 'random'; allowed values: speaker, utterance, paper"),
    ("model.input_layout", "2d", "allowed values: flat, frames"),
    ("train.precision", "fp16", "allowed values: auto, float32, mixed_bfloat16"),
    ("run.corpora", ["crema"], "`run.corpora` names 'crema'; allowed values: ravdess, iemocap, tess, cremad"),
    ("evaluate.cross_corpora", ["ravdess"], "names ['ravdess'], which `run.corpora` trains on"),
    ("evaluate.cross_corpora", ["tess", "emodb"], "missing ['tess', 'emodb']: set data.corpora=[ravdess,tess,emodb]"),
    ("train.epochs", 0, "`train.epochs` is 0; must be >= 1"),
    ("augment.workers", 1.5, "`augment.workers` is 1.5; expected an integer"),
    ("audio.duration", 0.05, "`features.frame_length` (2048 samples) is longer than the analysis window"),
])
def test_bad_values_name_the_key_and_allowed_values(tree, key, value, expected):
    with pytest.raises(P.ParamsError) as err:
        P.from_dict(_with(tree, key, value))
    assert expected in str(err.value)


def test_label_map_must_name_known_classes(tree):
    bad = _with(tree, "corpora.ravdess.label_map", {**tree["corpora"]["ravdess"]["label_map"], "calm": "relaxed"})
    with pytest.raises(P.ParamsError, match=r"`corpora.ravdess.label_map.calm` is 'relaxed'; allowed values: neutral"):
        P.from_dict(bad)


def test_unknown_transform_in_a_chain_is_named(tree):
    bad = _with(tree, "augment.variants", [["noise"], ["echo"]])
    with pytest.raises(P.ParamsError, match=r"`augment.variants\[1\]` names 'echo'"):
        P.from_dict(bad)


def test_no_test_speakers_is_the_release_split(tree):
    p = P.from_dict(_with(_with(tree, "split.test_speakers", []), "split.val_speakers", []))
    assert p.split.protocol == "speaker" and p.split.test_speakers == () and p.split.val_speakers == ()


def test_test_and_validation_speakers_must_not_overlap(tree):
    with pytest.raises(P.ParamsError, match=r"\['16'\] are in both"):
        P.from_dict(_with(_with(tree, "split.val_speakers", [15, 16]), "split.test_speakers", [16, 17]))


def test_missing_key_is_named(tree):
    t = copy.deepcopy(tree)
    del t["features"]["n_mfcc"]
    with pytest.raises(P.ParamsError, match="missing key `features.n_mfcc`"):
        P.from_dict(t)


def test_load_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(P.ParamsError, match="not found"):
        P.load(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1,\n")
    with pytest.raises(P.ParamsError, match="not valid YAML"):
        P.load(broken)


@pytest.mark.parametrize("key, value, expected", [
    ("train.epoch", 3, "unknown key `train.epoch`; did you mean `train.epochs`?"),
    ("trian", {"epochs": 3}, "unknown key `trian`; did you mean `train`?"),
    ("train.reduce_lr.patiense", 2, "unknown key `train.reduce_lr.patiense`; did you mean `train.reduce_lr.patience`?"),
    ("corpora.ravdess.sourse", "x", "unknown key `corpora.ravdess.sourse`; did you mean `corpora.ravdess.source`?"),
    ("augment.transforms.noise.scael", 0.1,
     "unknown key `augment.transforms.noise.scael`; did you mean `augment.transforms.noise.scale`?"),
    ("augment.transforms.zzz", {"wet": 0.5}, "unknown key `augment.transforms.zzz`; known keys there: clip, "
                                             "colornoise, eq, fast, gain, highpass, lowpass, mp3, noise, pitch, "
                                             "reverb, shift, slow, telephone"),
    ("cv.summary", ["everything"], "`cv.summary[0]` is 'everything'; allowed values: all"),
])
def test_unknown_keys_are_refused_naming_the_nearest_known_key(tree, key, value, expected):
    with pytest.raises(P.ParamsError) as err:
        P.from_dict(_with(tree, key, value))
    assert expected in str(err.value)


def test_free_mappings_take_any_key(tree):
    """A corpus's label map and the corpora section itself name whatever the data holds."""
    t = _with(tree, "corpora.ravdess.label_map", {**tree["corpora"]["ravdess"]["label_map"], "bored": None})
    t = _with(t, "corpora.mycorpus", {"source": None, "label_map": {"x": "sad"}})
    assert P.from_dict(t).corpus("mycorpus").label_map == {"x": "sad"}
    assert P.from_dict(_with(tree, "cv.summary", ["all"])).cv_summary == ("all",)


@pytest.mark.parametrize("edits, expected", [
    ({"baseline.cv": ["all"]}, "`baseline.cv: [all]` scores the baseline on `cv.folds`, which is empty"),
    ({"baseline.cv": ["all"], "cv.folds": [0, 1]},
     "reads the eGeMAPS functionals of ['ravdess'], which `baseline.corpora` does not store: "
     "set baseline.corpora=[ravdess]"),
    ({"baseline.loco": ["all"]}, "`baseline.loco: [all]` scores the baseline on `loco.corpora`, which is empty"),
])
def test_the_baselines_runs_name_what_they_need(tree, edits, expected):
    """baseline.cv / baseline.loco put the baseline's stages in the DAG; each refuses a run it cannot make."""
    import re
    t = tree
    for dotted, value in edits.items():
        t = _with(t, dotted, value)
    with pytest.raises(P.ParamsError, match=re.escape(expected)):
        P.from_dict(t)
    if "cv.folds" in edits:          # with its folds and its functionals stored, the run is accepted
        P.from_dict(_with(t, "baseline.corpora", ["ravdess"]))


def test_an_optional_list_absent_from_the_file_takes_its_default(tree):
    """A params.yaml written before a list param existed (baseline.cv, loco and export here) still loads."""
    for key in ("cv", "loco", "export"):
        del tree["baseline"][key]
    p = P.from_dict(tree)
    assert (p.baseline.cv, p.baseline.loco, p.baseline.export) == ((), (), ())
