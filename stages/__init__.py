"""EmoAugNet pipeline stages: each DVC stage is a module run as ``python -m stages.NAME``."""
