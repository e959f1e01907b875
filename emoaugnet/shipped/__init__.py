"""The model shipped inside the package: ``model.onnx``, ``features.npz``, ``model.json`` and ``card.json``.

Put here by ``emoaugnet release`` (:mod:`emoaugnet.release.release`, docs/release.md), never by hand. With no
``--model`` and no ``export/`` or ``models/`` in the working folder, ``emoaugnet predict``, ``emoaugnet
serve`` and ``Classifier()`` use it (:func:`emoaugnet.inference.model_dir.resolve`); ``emoaugnet info`` prints its card.
"""
