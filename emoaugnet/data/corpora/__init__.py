"""One module per corpus: parse its layout into utterance-table rows; :data:`REGISTRY` lists them.

What a parser finds and the walk over a source folder are :mod:`emoaugnet.data.corpora.sources`'s
(named here too, as before).
"""

from __future__ import annotations

from emoaugnet.data.corpora.sources import (AUDIO_SUFFIXES, CorpusError, Scan, SourceFile, through_link, walk,
                                            walk_files)

# The registry: the one list of corpora the project knows. Each module provides ``NAME``, ``scan(folder)``,
# ``HOW_TO_GET`` (what to set when the source is missing) and ``LINK_LOCAL`` (hard-link, rather than
# copy, the files of a local source folder: DVC caches hard links too; used for large licensed copies).
# Adding a corpus: one module here, one entry in this tuple, one `corpora.<name>` section in params.yaml.
from emoaugnet.data.corpora import cremad, emodb, iemocap, ravdess, savee, tess

REGISTRY = {module.NAME: module for module in (ravdess, iemocap, tess, cremad, emodb, savee)}

__all__ = ["AUDIO_SUFFIXES", "REGISTRY", "CorpusError", "Scan", "SourceFile", "through_link", "walk", "walk_files"]
