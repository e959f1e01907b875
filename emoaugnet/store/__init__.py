"""The sample store: augmenting clips into shards of waveforms, the frame-level features computed from
them (feature shards), eGeMAPS functionals, and the worker pool that fills them.

Imports :mod:`emoaugnet.data` and the shared modules at the top; nothing that trains or scores a model.
"""
