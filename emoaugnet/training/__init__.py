"""Training a model: the train / validation / test split of the store and the speaker folds, batches with
on-the-fly regularisation, corpus balance, the fit loop and its live metrics.

Imports :mod:`emoaugnet.model`, :mod:`emoaugnet.store`, :mod:`emoaugnet.data` and the top; never inference.
"""
