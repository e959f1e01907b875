"""Shared test setup: tests run from the project root, on the committed real fixtures."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

os.chdir(ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def ravdess_fixture() -> Path:
    """64 real RAVDESS FLACs, actors 01-04, laid out like the official archive."""
    return FIXTURES / "ravdess"


@pytest.fixture(scope="session")
def ravdess_48k() -> Path:
    """Two official 48 kHz WAVs from Actor_01; 03-01-08-01-02-02-01.wav is stereo."""
    return FIXTURES / "ravdess-48k" / "Actor_01"
