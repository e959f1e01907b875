"""A WAV or AIFF file cut short: its data chunk ends before its header says. libsndfile decodes what is
there; augment's report and predict's results say so, in one wording (:meth:`Truncation.message`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import soundfile as sf


@dataclass(frozen=True)
class Truncation:
    """A WAV/AIFF whose data chunk ends before its header says: libsndfile decodes what is there."""
    announced_bytes: int
    present_bytes: int
    expected_s: float      # the length the header announces
    decoded_s: float       # the length that decodes

    def message(self, used: str) -> str:
        """One wording for every stage: ``used`` says what was done with the file."""
        return (f"truncated: the header announces {self.announced_bytes:,} bytes of audio "
                f"({self.expected_s:.3f} s), the file holds {self.present_bytes:,} ({self.decoded_s:.3f} s); "
                f"{used} what is there")


def truncation(header: sf._SoundFileInfo) -> Truncation | None:
    """The cut a header reveals, from libsndfile's log line ``data : N (should be M)`` (N announced, M
    present; ``SSND`` for AIFF); None for a whole file."""
    for line in (header.extra_info or "").splitlines():
        match = re.match(r"\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", line)
        if match and header.samplerate > 0:
            announced, present = int(match[2]), int(match[3])
            decoded = header.frames / header.samplerate
            return Truncation(announced, present, round(decoded * announced / max(present, 1), 3),
                              round(decoded, 3))
    return None
