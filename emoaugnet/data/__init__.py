"""The corpora coming in: fetching and unpacking a corpus, its utterance table (manifest), licences, and
reading audio files (:mod:`emoaugnet.data.audio`, the one way audio enters the pipeline).

Imports only the shared modules at the top of the package (params, errors, atomic, ...).
"""
