"""A program a test needs is missing: under CI=true that fails the test, elsewhere it is skipped with the reason."""

from __future__ import annotations

import os

import pytest


def missing(message: str) -> None:
    """Fail (CI=true) or skip the calling test, saying what to install."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
