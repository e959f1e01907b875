"""TESS, CREMA-D, EmoDB and SAVEE through the download stage's ingest(), on committed fixtures.

TESS and EmoDB fixtures are real files of those corpora (tests/fixtures/README.md). The CREMA-D and
SAVEE fixtures are NOT recordings of those corpora: they are real RAVDESS recordings renamed to their
naming schemes (tests/helpers/renamed_fixtures.py), which is what a parser and the ingestion path see.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from emoaugnet.data import audio, manifest
from emoaugnet.data.corpora import REGISTRY, CorpusError, cremad, emodb, savee, tess
from emoaugnet.data.ingest import ingest
from helpers.featurestore import params

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TESS_DATA = "TESS_Toronto_emotional_speech_set_data"
CLASSES = ("neutral", "surprise", "disgust", "fear", "sad", "happy", "angry")
LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 51244\n")


def run_ingest(corpus: str, source: Path, project: Path, **quality) -> dict:
    p = params(**{f"corpora.{corpus}.source": str(source), f"corpora.{corpus}.md5": None,
                  **{f"quality.{k}": v for k, v in quality.items()}})
    return ingest(corpus, p, project)


def per_class(**counts: int) -> dict[str, int]:
    return {c: counts.get(c, 0) for c in CLASSES}


def speakers(report: dict) -> dict[str, tuple[str, int]]:
    return {s: (v["gender"], v["kept"]) for s, v in report["speakers"]["kept_per_speaker"].items()}


def assert_brought_in(project: Path, corpus: str, report: dict) -> list[manifest.Utterance]:
    """Every manifest row points at a readable file under data/raw/<corpus>/; the saved report matches."""
    rows = manifest.read(project / "data" / "manifests" / f"{corpus}.csv")
    assert len(rows) == report["listed"] - report["bad"]
    for r in rows:
        assert r.path.startswith(f"data/raw/{corpus}/") and audio.info(project / r.path).frames > 0
    saved = json.loads((project / "data" / "reports" / "download" / f"{corpus}.json").read_text())
    assert saved["status"] == "ok" and saved["per_class"] == report["per_class"]
    return rows


def test_every_corpus_is_registered_with_a_params_section():
    p = params()
    assert set(REGISTRY) == {"ravdess", "iemocap", "tess", "cremad", "emodb", "savee"}
    for name, module in REGISTRY.items():
        assert module.NAME == name and callable(module.scan) and module.HOW_TO_GET
        assert f"corpora.{name}.source" in module.HOW_TO_GET
        p.corpus(name)


# ------------------------------------------------------------------ TESS

@pytest.mark.parametrize("stem, expected", [
    ("OAF_back_angry", ("OAF", "back", "angry")),
    ("YAF_dog_ps", ("YAF", "dog", "pleasant_surprise")),
    ("OAF_bite_pleasant_surprise", ("OAF", "bite", "pleasant_surprise")),
    ("YAF_date_Pleasant_surprised", ("YAF", "date", "pleasant_surprise")),
    ("oaf_Back_Fear", ("OAF", "back", "fear")),
])
def test_tess_names_and_spellings(stem, expected):
    assert tess.parse_name(stem) == expected


@pytest.mark.parametrize("stem, reason", [("MAF_back_angry", "unknown TESS speaker"),
                                          ("OAF_back_bored", "unknown TESS emotion"),
                                          ("OAF-back-angry", "not a TESS file name")])
def test_tess_bad_names(stem, reason):
    with pytest.raises(ValueError, match=reason):
        tess.parse_name(stem)


def test_tess_fixture_ingested(tmp_path):
    report = run_ingest("tess", FIXTURES / "tess", tmp_path)
    assert (report["listed"], report["kept"], report["dropped"], report["bad"]) == (14, 14, 0, 0)
    assert report["per_class"] == per_class(**{c: 2 for c in CLASSES})
    assert report["per_label"]["pleasant_surprise"] == {"listed": 2, "kept": 2, "class": "surprise"}
    assert speakers(report) == {"OAF": ("F", 7), "YAF": ("F", 7)}
    rows = assert_brought_in(tmp_path, "tess", report)
    assert "OAF_dog_ps" in {r.utterance for r in rows}
    assert {r.sample_rate for r in rows} == {24414}
    assert (tmp_path / "data" / "raw" / "tess" / "OAF_pleasant_surprise" / "OAF_dog_ps.wav").is_file()


def test_tess_redistributed_copy_quirks(tmp_path):
    """The whole set nested twice under another spelling, a 44.1 kHz float WAV (as in the common
    redistributed copy), FLAC bytes under a .wav name, an unknown emotion, stray files, and a Git LFS
    pointer in the outer copy whose audio the nested copy has."""
    src = tmp_path / "src" / "TESS Toronto emotional speech set data"
    shutil.copytree(FIXTURES / "tess" / TESS_DATA, src)
    twice = shutil.copytree(FIXTURES / "tess" / TESS_DATA, src / "TESS Toronto emotional speech set data")
    ps = twice / "OAF_pleasant_surprise"
    ps.rename(twice / "OAF_Pleasant_surprise")
    (twice / "OAF_Pleasant_surprise" / "OAF_dog_ps.wav").rename(twice / "OAF_Pleasant_surprise" /
                                                                 "OAF_dog_pleasant_surprise.wav")
    y, sr = sf.read(str(src / "YAF_angry" / "YAF_dog_angry.wav"), dtype="float32")
    sf.write(str(src / "YAF_angry" / "YAF_dog_angry.wav"), soxr.resample(y, sr, 44100), 44100, subtype="FLOAT")
    y, sr = sf.read(str(src / "OAF_sad" / "OAF_dog_sad.wav"), dtype="float32")
    sf.write(str(src / "OAF_sad" / "OAF_dog_sad.wav"), y, sr, format="FLAC")        # FLAC named .wav
    (src / "OAF_sad" / "OAF_dog_bored.wav").write_bytes(b"RIFF")
    (src / ".DS_Store").write_bytes(b"\0\0")
    (src / "README.txt").write_text("TESS\n")
    (src / "YAF_neutral" / "YAF_dog_neutral.wav").write_bytes(LFS_POINTER)   # the nested copy has the audio

    report = run_ingest("tess", tmp_path / "src", tmp_path / "p", max_bad_fraction=0.1)
    assert (report["listed"], report["kept"], report["bad"]) == (15, 14, 1)
    assert report["bad_files"] == [{"file": f"{src.name}/YAF_neutral/YAF_dog_neutral.wav",
                                    "reason": report["bad_files"][0]["reason"]}]
    assert "Git LFS pointer" in report["bad_files"][0]["reason"]
    assert report["per_class"] == per_class(**{c: 2 for c in CLASSES})
    assert speakers(report) == {"OAF": ("F", 7), "YAF": ("F", 7)}
    dups = {d["file"]: d["same_utterance_as"] for d in report["duplicates"]["files"]}
    assert report["duplicates"]["count"] == 13 and len(dups) == 13
    inner = f"{src.name}/{twice.name}"
    assert dups[f"{inner}/OAF_Pleasant_surprise/OAF_dog_pleasant_surprise.wav"] == \
        f"{src.name}/OAF_pleasant_surprise/OAF_dog_ps.wav"
    ignored = report["ignored"]["files"]
    assert f"{src.name}/OAF_sad/OAF_dog_bored.wav (unknown TESS emotion 'bored')" in ignored
    assert f"{src.name}/.DS_Store" in ignored and f"{src.name}/README.txt" in ignored

    rows = {r.utterance: r for r in assert_brought_in(tmp_path / "p", "tess", report)}
    kept = tmp_path / "p" / rows["YAF_dog_neutral"].path
    assert kept.read_bytes() == (twice / "YAF_neutral" / "YAF_dog_neutral.wav").read_bytes()
    assert (rows["YAF_dog_angry"].sample_rate, rows["OAF_dog_sad"].sample_rate) == (44100, 24414)
    p = params()
    for utt in ("YAF_dog_angry", "OAF_dog_sad"):            # both decode to the analysis window
        clip = audio.load_clip(tmp_path / "p" / rows[utt].path, p.audio)
        assert clip.shape == (p.audio.num_samples,) and np.all(np.isfinite(clip)) and np.abs(clip).max() > 0.01


# ------------------------------------------------------------------ EmoDB

@pytest.mark.parametrize("code, label", sorted(emodb.EMOTIONS.items()))
def test_emodb_emotion_codes(code, label):
    assert emodb.parse_name(f"03a01{code}a") == ("03", label)


@pytest.mark.parametrize("stem, reason", [("04a01Fa", "unknown EmoDB speaker 04"),
                                          ("03a01Xa", "unknown EmoDB emotion code X"),
                                          ("03a01Fa_x", "not an EmoDB file name")])
def test_emodb_bad_names(stem, reason):
    with pytest.raises(ValueError, match=reason):
        emodb.parse_name(stem)


def emodb_expectations(report: dict) -> None:
    assert (report["listed"], report["kept"], report["dropped"], report["bad"]) == (14, 12, 2, 0)
    assert report["dropped_per_label"] == {"boredom": 2}
    assert report["per_class"] == per_class(angry=2, disgust=2, fear=2, happy=2, neutral=2, sad=2)
    assert speakers(report) == {"03": ("M", 6), "08": ("F", 5), "09": ("F", 1)}


def test_emodb_fixture_ingested(tmp_path):
    report = run_ingest("emodb", FIXTURES / "emodb", tmp_path)
    emodb_expectations(report)
    rows = assert_brought_in(tmp_path, "emodb", report)
    assert {r.utterance for r in rows if r.kept} >= {"03a01Wa", "09a01Ea", "08a02Tb"}
    assert all(r.label == "" for r in rows if r.emotion == "boredom")


def test_emodb_archive_laid_out_like_download_zip(tmp_path):
    """The official zip: wav/ plus label folders and text files, which are ignored."""
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((FIXTURES / "emodb" / "wav").glob("*.wav")):
            zf.write(f, f"wav/{f.name}")
        zf.writestr("lablaut/03a01Fa.lab", "#\n0.1 ? a\n")
        zf.writestr("erkennung.txt", "Erkennungsraten\n")
    report = run_ingest("emodb", archive, tmp_path / "p")
    emodb_expectations(report)
    assert set(report["ignored"]["files"]) == {"lablaut/03a01Fa.lab", "erkennung.txt"}
    assert_brought_in(tmp_path / "p", "emodb", report)


# ------------------------------------------------------------------ CREMA-D (RAVDESS audio, CREMA-D names)

def test_cremad_names():
    assert cremad.parse_name("1091_TSI_NEU_XX") == ("1091", "NEU")
    for stem, reason in [("1092_DFA_ANG_XX", "out of range"), ("1001_DFA_SUR_XX", "unknown CREMA-D emotion"),
                         ("1001-DFA-ANG-XX", "not a CREMA-D file name")]:
        with pytest.raises(ValueError, match=reason):
            cremad.parse_name(stem)


def test_cremad_renamed_fixture_ingested(tmp_path):
    report = run_ingest("cremad", FIXTURES / "cremad", tmp_path)
    assert (report["listed"], report["kept"], report["dropped"], report["bad"]) == (12, 12, 0, 0)
    assert report["per_class"] == per_class(angry=2, disgust=2, fear=2, happy=2, neutral=2, sad=2)
    assert speakers(report) == {"1001": ("M", 6), "1002": ("F", 6)}
    assert report["ignored"]["files"] == ["VideoDemographics.csv"]
    rows = assert_brought_in(tmp_path, "cremad", report)
    assert {r.sample_rate for r in rows} == {16000}


def test_cremad_clone_without_lfs_and_without_demographics(tmp_path):
    """A clone made without Git LFS holds pointer files: reported by name as bad, not read as audio.
    From the AudioWAV/ folder alone (no VideoDemographics.csv beside it) gender is left empty."""
    src = shutil.copytree(FIXTURES / "cremad" / "AudioWAV", tmp_path / "AudioWAV")
    (src / "1002_IEO_HAP_HI.wav").write_bytes(LFS_POINTER)
    (tmp_path / "AudioMP3").mkdir()
    (tmp_path / "AudioMP3" / "1001_DFA_ANG_XX.mp3").write_bytes(b"ID3")
    report = run_ingest("cremad", src, tmp_path / "p", max_bad_fraction=0.1)
    assert (report["listed"], report["kept"], report["bad"]) == (13, 12, 1)
    assert report["bad_files"][0]["file"] == "1002_IEO_HAP_HI.wav"
    assert "git lfs pull" in report["bad_files"][0]["reason"]
    assert speakers(report) == {"1001": ("", 6), "1002": ("", 6)}


# ------------------------------------------------------------------ SAVEE (RAVDESS audio, SAVEE names)

@pytest.mark.parametrize("stem, folder, expected", [("DC_a01", "", ("DC", "a", "01")),
                                                    ("sa15", "KL", ("KL", "sa", "15")),
                                                    ("su03", "JK", ("JK", "su", "03"))])
def test_savee_names(stem, folder, expected):
    assert savee.parse_name(stem, folder) == expected


def test_savee_renamed_fixture_ingested(tmp_path):
    report = run_ingest("savee", FIXTURES / "savee", tmp_path)
    assert (report["listed"], report["kept"], report["dropped"], report["bad"]) == (14, 14, 0, 0)
    assert report["per_class"] == per_class(**{c: 2 for c in CLASSES})
    assert speakers(report) == {"DC": ("M", 7), "JE": ("M", 7)}
    rows = assert_brought_in(tmp_path, "savee", report)
    assert sorted(r.utterance for r in rows if r.speaker == "JE") == [
        "JE_a01", "JE_d01", "JE_f01", "JE_h01", "JE_n01", "JE_sa01", "JE_su01"]


def test_savee_without_a_source_explains_registration(tmp_path):
    with pytest.raises(Exception, match=r"`corpora.savee.source` is not set.*registration"):
        ingest("savee", params(), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no SAVEE files .* found.*corpora.savee.source"):
        run_ingest("savee", tmp_path / "empty", tmp_path)
