"""Write tests/fixtures/cremad and tests/fixtures/savee: real RAVDESS fixture recordings renamed to the
CREMA-D and SAVEE naming schemes (neither corpus can be redistributed here).

Each file is the RAVDESS fixture's first 3.1 s (the analysis window ends at 3.1 s), resampled with soxr
to 16 kHz 16-bit mono WAV (CREMA-D's own format; SAVEE's is 44.1 kHz, kept smaller here). The speech
is RAVDESS's: only the names and the rate are the other corpus's. Run from the project root:
``python tests/helpers/renamed_fixtures.py`` (the committed fixtures were written by it).
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[2]
RAVDESS = ROOT / "tests" / "fixtures" / "ravdess"
RATE = 16000
#: RAVDESS emotion code -> CREMA-D code (no calm, no surprise in CREMA-D) and SAVEE code (no calm).
CREMAD = {"01": "NEU", "03": "HAP", "04": "SAD", "05": "ANG", "06": "FEA", "07": "DIS"}
SAVEE = {"01": "n", "03": "h", "04": "sa", "05": "a", "06": "f", "07": "d", "08": "su"}
#: RAVDESS actor -> CREMA-D actor (01 male, 02 female, as 1001 and 1002 in CREMA-D's demographics).
CREMAD_ACTORS = {"01": "1001", "02": "1002"}
#: RAVDESS actor (both male, as every SAVEE speaker) -> SAVEE speaker and layout: DC flat, JE a folder.
SAVEE_ACTORS = {"01": ("DC", "DC_{code}01.wav"), "03": ("JE", "JE/{code}01.wav")}
DEMOGRAPHICS = "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n" \
               "1002,21,Female,Caucasian,Not Hispanic\n"


def convert(src: Path, dst: Path) -> None:
    y, sr = sf.read(str(src), frames=int(3.1 * 22050), dtype="float32")
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), soxr.resample(y, sr, RATE), RATE, subtype="PCM_16")


def build(out: Path = ROOT / "tests" / "fixtures") -> None:
    """Statement 01, repetition 01, normal intensity of each mapped emotion and actor."""
    for actor, cremad_actor in CREMAD_ACTORS.items():
        for code, emotion in CREMAD.items():
            convert(RAVDESS / f"Actor_{actor}" / f"03-01-{code}-01-01-01-{actor}.flac",
                    out / "cremad" / "AudioWAV" / f"{cremad_actor}_DFA_{emotion}_XX.wav")
    (out / "cremad" / "VideoDemographics.csv").write_text(DEMOGRAPHICS)
    for actor, (_, pattern) in SAVEE_ACTORS.items():
        for code, emotion in SAVEE.items():
            convert(RAVDESS / f"Actor_{actor}" / f"03-01-{code}-01-01-01-{actor}.flac",
                    out / "savee" / pattern.format(code=emotion))


if __name__ == "__main__":
    build()
