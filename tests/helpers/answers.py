"""What counts as an answer of a model's result (tests/test_shipped.py, test_core_install.py, test_release.py)."""

from __future__ import annotations


def answered(result: dict, classes: list[str]) -> bool:
    """An emotion of the model's classes, or "not sure" between two of them (the calibrated model's doubt)."""
    if result["result"] == "uncertain":
        return result["emotion"] is None and {c["emotion"] for c in result["candidates"]} <= set(classes)
    return result["emotion"] in classes and result["result"] == result["emotion"]
