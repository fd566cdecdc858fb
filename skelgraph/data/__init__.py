"""Readers, preprocessing, HDF5 storage and the PyG dataset."""
