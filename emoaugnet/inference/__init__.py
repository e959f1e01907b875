"""Using a trained model: which folder holds it and opening it (model_dir, api), ensembles, windows and
results (predictor), segments of long recordings, the ONNX export and runtime, the Python API and what the predict and serve commands share.

Imports :mod:`emoaugnet.model`, :mod:`emoaugnet.store`, :mod:`emoaugnet.data` and the top; never training.
"""
