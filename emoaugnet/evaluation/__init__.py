"""Scoring trained models: test-set metrics and figures, cross-corpus scores, cross-validation and
leave-one-corpus-out summaries and sweeps, and the eGeMAPS + SVM baseline.

Imports :mod:`emoaugnet.training`, :mod:`emoaugnet.inference` and every part below them.
"""
