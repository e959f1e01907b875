"""Releasing a model: copying a checked export into the package (``emoaugnet/shipped``) with its card.

Imports :mod:`emoaugnet.inference`, :mod:`emoaugnet.model`, :mod:`emoaugnet.data` and the top.
"""
