"""Corpus parsers: RAVDESS file names, and an IEMOCAP-shaped folder with the real label-line format."""

import copy
import json
import os
from pathlib import Path

import pytest
import soundfile as sf
import soxr
import yaml

from emoaugnet.data import audio, manifest
from emoaugnet.data.ingest import ingest
from emoaugnet.data.corpora import CorpusError, iemocap, ravdess
from emoaugnet.data.fetch import DownloadError
from emoaugnet.params import from_dict

BASE = yaml.safe_load(Path("params.yaml").read_text())
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 64


# ------------------------------------------------------------------ RAVDESS

@pytest.mark.parametrize("code, emotion", sorted(ravdess.EMOTIONS.items()))
def test_ravdess_emotion_codes(code, emotion):
    assert ravdess.parse_name(f"03-01-{code}-01-01-01-12") == (12, emotion)


@pytest.mark.parametrize("stem, reason", [
    ("03-02-01-01-01-01-12", "not audio-only speech"),     # song
    ("01-01-01-01-01-01-12", "not audio-only speech"),     # video
    ("03-01-09-01-01-01-12", "unknown emotion code 09"),
    ("03-01-01-01-01-01-25", "out of range"),
    ("03-01-01-01-01-01", "not a RAVDESS file name"),
])
def test_ravdess_bad_names(stem, reason):
    with pytest.raises(ValueError, match=reason):
        ravdess.parse_name(stem)


def test_ravdess_scan_of_the_fixture(ravdess_fixture):
    scan = ravdess.scan(ravdess_fixture)
    flacs = sorted(ravdess_fixture.rglob("*.flac"))
    assert len(scan.files) == len(flacs) and scan.bad == []
    for item in scan.files:
        actor = int(item.utterance[-2:])
        assert item.dest == f"Actor_{actor:02d}/{item.utterance}.flac"
        assert item.speaker == str(actor) and item.gender == "MF"[1 - actor % 2]
        assert item.emotion == ravdess.EMOTIONS[item.utterance.split("-")[2]]


def test_ravdess_scan_of_a_folder_without_speech(tmp_path):
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "03-02-01-01-01-01-01.wav").write_bytes(b"song")
    with pytest.raises(CorpusError, match="no RAVDESS speech files.*corpora.ravdess.source"):
        ravdess.scan(tmp_path)


# ------------------------------------------------------------------ IEMOCAP

# (session, label file, utterance, label): real id shapes, incl. a script dialog and a session-2
# dialog led by a male speaker whose female utterances must still count for Ses02F.
LABELS = [
    (1, "Ses01F_impro01", "Ses01F_impro01_F000", "neu"),
    (1, "Ses01F_impro01", "Ses01F_impro01_F001", "exc"),
    (1, "Ses01F_impro01", "Ses01F_impro01_M000", "fru"),
    (1, "Ses01F_impro01", "Ses01F_impro01_M001", "ang"),
    (1, "Ses01F_script01_1", "Ses01F_script01_1_F000", "xxx"),
    (1, "Ses01F_script01_1", "Ses01F_script01_1_M000", "sad"),
    (1, "Ses01F_script01_1", "Ses01F_script01_1_F001", "hap"),
    (2, "Ses02M_impro02", "Ses02M_impro02_F000", "neu"),
    (2, "Ses02M_impro02", "Ses02M_impro02_M000", "exc"),
    (2, "Ses02M_impro02", "Ses02M_impro02_M001", "sur"),
    (2, "Ses02M_impro02", "Ses02M_impro02_F001", "fea"),
]


def write_wav(src: Path, dst: Path, seconds: float = 1.0) -> None:
    """A short real 16 kHz mono wav (IEMOCAP's format) cut from a fixture recording."""
    y, sr = sf.read(str(src), start=int(0.6 * 22050), frames=int(seconds * 22050), dtype="float32")
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), soxr.resample(y, sr, 16000), 16000, subtype="PCM_16")


@pytest.fixture
def iemocap_folder(tmp_path, ravdess_fixture) -> Path:
    root = tmp_path / "IEMOCAP_full_release"
    flacs = sorted(ravdess_fixture.rglob("*.flac"))
    texts: dict[Path, list[str]] = {}
    for i, (session, dialog, utt, label) in enumerate(LABELS):
        sess = root / f"Session{session}"
        txt = sess / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        start = 6.2901 + 4 * i
        texts.setdefault(txt, ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]).extend([
            f"[{start:.4f} - {start + 1.9456:.4f}]\t{utt}\t{label}\t[2.5000, 2.5000, 2.5000]",
            "C-E2:\tNeutral state;\t()", "C-E3:\tNeutral state;\t()", "A-E3:\tval 3; act 2; dom  2;\t()", ""])
        write_wav(flacs[i], sess / "sentences" / "wav" / dialog / f"{utt}.wav")
    for txt, lines in texts.items():
        txt.parent.mkdir(parents=True, exist_ok=True)
        txt.write_text("\n".join(lines) + "\n")
    emo = root / "Session1" / "dialog" / "EmoEvaluation"
    (emo / "._Ses01F_impro01.txt").write_bytes(APPLEDOUBLE)
    (emo / "Categorical").mkdir()
    (emo / "Categorical" / "Ses01F_impro01_e2_cat.txt").write_text("Ses01F_impro01_F000 :Neutral state; ()\n")
    wavs = root / "Session1" / "sentences" / "wav" / "Ses01F_impro01"
    (wavs / "._Ses01F_impro01_F000.wav").write_bytes(APPLEDOUBLE)
    write_wav(flacs[20], wavs / "Ses01F_impro01_F099.wav")       # audio without a label line
    align = root / "Session1" / "sentences" / "ForcedAlignment" / "Ses01F_impro01"
    align.mkdir(parents=True)
    (align / "Ses01F_impro01_F000.wdseg").write_text("SFrm EFrm SegAScr Word\n")
    (root / "._Session1").write_bytes(APPLEDOUBLE)
    (root / "Documentation").mkdir()
    return root


def iemocap_params(source, **quality):
    tree = copy.deepcopy(BASE)
    tree["corpora"]["iemocap"]["source"] = None if source is None else str(source)
    tree["quality"].update(quality)
    return from_dict(tree)


def test_iemocap_label_line_format():
    line = "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]"
    assert iemocap.parse_line(line) == ("Ses01F_impro01_F000", "F", "neu")
    assert iemocap.parse_line("[1.0 - 2.0]\tSes05M_script02_2_M041\texc\t[3.0, 3.5, 3.0]") == (
        "Ses05M_script02_2_M041", "M", "exc")
    for other in ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", "C-E2:\tNeutral state;\t()",
                  "Ses01F_impro01_F000 :Neutral state; ()", "", "A-E3:\tval 3; act 2; dom  2;\t()"]:
        assert iemocap.parse_line(other) is None


def test_iemocap_ingest_counts_classes_and_speakers(tmp_path, iemocap_folder):
    project = tmp_path / "project"
    report = ingest("iemocap", iemocap_params(iemocap_folder), project)
    assert (report["listed"], report["kept"], report["dropped"], report["bad"]) == (11, 9, 2, 0)
    assert report["dropped_per_label"] == {"fru": 1, "xxx": 1}
    assert report["per_label"]["exc"] == {"listed": 2, "kept": 2, "class": "happy"}
    assert report["per_class"] == {"neutral": 2, "surprise": 1, "disgust": 0, "fear": 1, "sad": 1,
                                   "happy": 3, "angry": 1}
    assert report["speakers"]["kept_per_speaker"] == {
        "Ses01F": {"gender": "F", "kept": 3}, "Ses01M": {"gender": "M", "kept": 2},
        "Ses02F": {"gender": "F", "kept": 2}, "Ses02M": {"gender": "M", "kept": 2}}
    assert "Session1/dialog/EmoEvaluation/._Ses01F_impro01.txt" in report["ignored"]["files"]
    assert "Session1/dialog/EmoEvaluation/Categorical" in report["ignored"]["files"]

    rows = manifest.read(project / "data" / "manifests" / "iemocap.csv")
    assert sorted(r.utterance for r in rows) == sorted(utt for _, _, utt, _ in LABELS)
    for r in rows:
        assert r.speaker == r.utterance[:5] + r.utterance.rsplit("_", 1)[1][0] == r.utterance[:5] + r.gender
        assert (r.sample_rate, r.channels) == (16000, 1) and r.duration == pytest.approx(1.0)
        assert audio.info(project / r.path).frames == 16000
    # only the labelled sentence wavs are brought in, each the same file as the source (hardlink or copy)
    raw = project / "data" / "raw" / "iemocap"
    brought = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file())
    assert brought == sorted(r.path.removeprefix("data/raw/iemocap/") for r in rows)
    for rel in brought:
        assert (raw / rel).read_bytes() == (iemocap_folder / rel).read_bytes()
    saved = json.loads((project / "data" / "reports" / "download" / "iemocap.json").read_text())
    assert saved["status"] == "ok" and saved["per_class"] == report["per_class"]


def test_iemocap_missing_or_undecodable_wav_is_reported(tmp_path, iemocap_folder):
    wavs = iemocap_folder / "Session2" / "sentences" / "wav" / "Ses02M_impro02"
    (wavs / "Ses02M_impro02_M001.wav").unlink()
    (wavs / "Ses02M_impro02_F001.wav").write_bytes(APPLEDOUBLE)
    report = ingest("iemocap", iemocap_params(iemocap_folder, max_bad_fraction=0.2), tmp_path)
    assert (report["listed"], report["kept"], report["bad"]) == (11, 7, 2)
    reasons = {b["file"].rsplit("/", 1)[1]: b["reason"] for b in report["bad_files"]}
    assert reasons["Ses02M_impro02_M001.wav"] == "no such file"
    assert "not a readable audio file" in reasons["Ses02M_impro02_F001.wav"]
    assert report["per_class"]["surprise"] == 0 and report["per_class"]["fear"] == 0


def test_iemocap_without_a_source_explains_how_to_get_it(tmp_path):
    with pytest.raises(DownloadError, match=r"`corpora.iemocap.source` is not set.*no public download"):
        ingest("iemocap", iemocap_params(None), tmp_path)
    with pytest.raises(CorpusError, match=r"no such folder.*no public download.*corpora.iemocap.source"):
        ingest("iemocap", iemocap_params(tmp_path / "nowhere"), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no SessionN/ folders"):
        ingest("iemocap", iemocap_params(tmp_path / "empty"), tmp_path)
    assert not (tmp_path / "data" / "manifests").exists()
    assert os.listdir(tmp_path / "data" / "raw") == []
