"""EmoAugNet: speech emotion recognition with signal augmentation and a Conv1D-LSTM (the library).

The DVC stage scripts in ``stages/`` read params.yaml and call these modules; the ``emoaugnet`` command
(:mod:`emoaugnet.cli`) and the tests and benchmarks import them too. README.md has the module map.
"""

__version__ = "0.3.0"
