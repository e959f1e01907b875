"""What a trained model is, shared by training, inference and evaluation: the bundle format (model.json +
weights), the network, the Keras backend, the feature scaler, the feature normalisations and the
calibration of its probabilities.

Imports :mod:`emoaugnet.store`, :mod:`emoaugnet.data` and the top; importing it (or bundle, scaler,
normalisation) imports no Keras, TensorFlow or h5py: only ``network`` and ``tensorflow_settings`` do.
"""
