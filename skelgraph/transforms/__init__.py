"""Masking, sampling and augmentation transforms (PyG BaseTransform) and their functional twins."""
