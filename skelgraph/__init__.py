"""skelgraph: self-supervised skeleton action recognition on PyTorch Geometric (SkeletonMAE + STRL)."""
__version__ = "0.1.0"


def predict(run, sequence_or_path, **kwargs):
    r"""Classifies a recording with a fine-tuning run: a path (any file or folder ``skelgraph
    preprocess`` reads; returns one prediction per sample) or an in-memory ``[M, T, V, C]`` /
    ``[T, V, C]`` array (returns one), preprocessed as the run's training data was. See
    :func:`skelgraph.train.predict.predict` (imported here on first use, so ``import skelgraph``
    stays light)."""
    from skelgraph.train.predict import predict as _predict

    return _predict(run, sequence_or_path, **kwargs)


def embed(run, data, split=None, **kwargs):
    r"""Pooled features of every sample of ``split`` of the ``.h5`` file ``data``, computed by a
    pre-training or fine-tuning run; ``out="features.npz"`` (or ``.h5``) also writes them. See
    :func:`skelgraph.train.embed.embed`."""
    from skelgraph.train.embed import embed as _embed

    return _embed(run, data, split, **kwargs)
