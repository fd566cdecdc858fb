r"""Graph convolutions over skeleton tracks: ``MessagePassing`` layers whose node features are
``[N, T, F]`` (a node is one person's joint, its feature a track of ``T`` frames).

``node_dim=0`` makes one propagation serve every frame: messages move between joints, never
between frames, so the weights are shared over time by construction.

Every layer has three interchangeable computations of the same function:

- **fused** (``fused=True``, the default): the layer builds, once per ``edge_index`` and then
  from a cache, a ``torch.sparse_csr`` adjacency (transposed: row = target) holding the
  normalisation, and :meth:`message_and_aggregate` does one sparse-dense product over the
  ``[N, T*F]`` view of the features. On CPU the product is ``torch.sparse.mm(adj_t, x, "sum")``,
  PyTorch's vectorised CSR kernel, which is 2-3x faster here than the reduce-less
  ``torch.sparse.mm`` that ``torch_geometric.utils.spmm`` calls for ``"sum"``; on other devices
  it is :func:`torch_geometric.utils.spmm`. GAT's coefficients differ per frame and head: its
  fused path is one block CSR product over ``[N*T*heads, F]`` (:func:`attention_product`; CPU,
  float32/float64; elsewhere GAT runs its plain path).
- **plain** (``fused=False``): :meth:`message` on ``[E, T, F]`` edge tensors, then a scatter-sum.
- **dense reference** (:meth:`dense_forward`, a method of every layer): ``conv.dense_forward(x,
  adj, hop=None)`` with a floating ``[V, V]`` adjacency (``adj[target, source] = 1`` for a bone,
  no self loops; :func:`dense_adjacency`) runs an einsum-style batched matrix product over
  ``[N / V, V, T*F]`` blocks with the same weights. It needs every graph of the batch to be the
  same ``V``-joint layout, node ``n`` being joint ``n % V`` (the order of ``skeleton_to_data``);
  it is what peers' dense code computes, kept for tests and benchmarks. ``forward`` refuses a
  float adjacency (``TypeError``) rather than guessing from the argument's type.

All layers share the call ``conv(x, edge_index, hop=None)``; only :class:`SkeletonSTGCNConv`
reads ``hop`` (``[N]`` long, bones from the centre joint). :func:`make_conv` builds one by name.

Where things are (one conv per file, as in PyG):

=================  ===================================================================
``gin.py``         :class:`SkeletonGINConv`, :func:`gin_adjacency`
``gcn.py``         :class:`SkeletonGCNConv`
``gat.py``         :class:`SkeletonGATConv`
``stgcn.py``       :class:`SkeletonSTGCNConv` (partition: :func:`skelgraph.graph.edges.stgcn_partition`)
``sparse.py``      the fused path's CSR products: :func:`csr_adjacency`, :func:`sparse_matmul`,
                   :func:`transpose_csr`, :class:`FusedProductMixin`
``block_sparse.py`` :class:`BlockCSR`, :func:`block_csr`, GAT's :func:`attention_product`
``cache.py``       :class:`AdjacencyCache` (what a layer builds once per graph)
``dense.py``       the dense reference's helpers: :func:`dense_adjacency`, :func:`dense_blocks`
=================  ===================================================================

:data:`CONV_CLASSES` is the one table of convs: the config's and CLI's ``conv`` choices
(:data:`CONV_NAMES`), :data:`CONVS` and :func:`make_conv` derive from it. Adding a conv is one
file here plus one line in that table. This package and :mod:`skelgraph.nn` load their modules
on first use, so the config and the CLI read the names without importing torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from skelgraph.nn._lazy import lazy_exports

# The one table of convs: name (= module of this package) -> class. Torch-free on purpose.
CONV_CLASSES: dict[str, str] = {
    "gin": "SkeletonGINConv",
    "gcn": "SkeletonGCNConv",
    "gat": "SkeletonGATConv",
    "stgcn": "SkeletonSTGCNConv",
}
CONV_NAMES: tuple[str, ...] = tuple(CONV_CLASSES)

# every public name of the package -> the module that defines it (loaded on first use)
_EXPORTS: dict[str, str] = {
    **{cls: f"skelgraph.nn.conv.{name}" for name, cls in CONV_CLASSES.items()},
    "gin_adjacency": "skelgraph.nn.conv.gin",
    "AdjacencyCache": "skelgraph.nn.conv.cache",
    "FusedProductMixin": "skelgraph.nn.conv.sparse",
    "csr_adjacency": "skelgraph.nn.conv.sparse",
    "sparse_matmul": "skelgraph.nn.conv.sparse",
    "transpose_csr": "skelgraph.nn.conv.sparse",
    "BlockCSR": "skelgraph.nn.conv.block_sparse",
    "block_csr": "skelgraph.nn.conv.block_sparse",
    "attention_patterns": "skelgraph.nn.conv.block_sparse",
    "attention_product": "skelgraph.nn.conv.block_sparse",
    "_ATTENTION_PATTERNS": "skelgraph.nn.conv.block_sparse",
    "dense_adjacency": "skelgraph.nn.conv.dense",
    "dense_blocks": "skelgraph.nn.conv.dense",
    "stgcn_partition": "skelgraph.graph.edges",
    "ROOT": "skelgraph.graph.edges",
    "CENTRIPETAL": "skelgraph.graph.edges",
    "CENTRIFUGAL": "skelgraph.graph.edges",
    "make_conv": "skelgraph.nn.conv.build",
    "CONVS": "skelgraph.nn.conv.build",
}

__all__ = ["CONV_CLASSES", "CONV_NAMES", *(name for name in _EXPORTS if not name.startswith("_"))]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them
    from skelgraph.graph.edges import stgcn_partition  # noqa: F401
    from skelgraph.nn.conv.block_sparse import BlockCSR, attention_patterns, attention_product, block_csr  # noqa: F401
    from skelgraph.nn.conv.build import CONVS, make_conv  # noqa: F401
    from skelgraph.nn.conv.cache import AdjacencyCache  # noqa: F401
    from skelgraph.nn.conv.dense import dense_adjacency, dense_blocks  # noqa: F401
    from skelgraph.nn.conv.gat import SkeletonGATConv  # noqa: F401
    from skelgraph.nn.conv.gcn import SkeletonGCNConv  # noqa: F401
    from skelgraph.nn.conv.gin import SkeletonGINConv, gin_adjacency  # noqa: F401
    from skelgraph.nn.conv.sparse import FusedProductMixin, csr_adjacency, sparse_matmul, transpose_csr  # noqa: F401
    from skelgraph.nn.conv.stgcn import SkeletonSTGCNConv  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
