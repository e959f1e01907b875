"""EmoAugNet: speech emotion recognition with signal augmentation and a Conv1D-LSTM (the library).

The DVC stage scripts in ``stages/`` read params.yaml and call these modules; the ``emoaugnet`` command
(:mod:`emoaugnet.cli`) and the tests and benchmarks import them too. One folder per part of the data's journey
(data, store, model, training, inference, evaluation, release, serve), each importing only the parts below it;
docs/pipeline.md has the module map.
``from emoaugnet import Classifier`` is :class:`emoaugnet.inference.api.Classifier`, imported on first use so that
``import emoaugnet`` stays cheap.
"""

__version__ = "0.4.0"


def __getattr__(name: str):
    if name == "Classifier":
        # importlib, not an import statement: tests/helpers/imports.py reads import statements as a stage's
        # code deps, and no stage uses this name (it would make every stage depend on the inference API)
        import importlib
        return importlib.import_module("emoaugnet.inference.api").Classifier
    raise AttributeError(f"module 'emoaugnet' has no attribute {name!r}")
