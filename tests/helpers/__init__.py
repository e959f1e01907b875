"""Test helpers: a real feature store from the fixtures, tiny DVC projects, import-derived code deps."""
