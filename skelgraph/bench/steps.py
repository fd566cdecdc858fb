r"""The steps a bench times: seeded models and batches, every path of every conv (fused, plain,
dense, PyG's dense layers), and the float64 check that the paths agree."""
from __future__ import annotations

import contextlib
import copy
from dataclasses import replace
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Identity, Module
from torch_geometric.data import Batch

from skelgraph.bench.config import MODES, NUM_CLASSES, BenchConfig
from skelgraph.bench.environment import torch_scatter_disabled, torch_scatter_version
from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import Layout, get_layout
from skelgraph.nn.conv import (AdjacencyCache, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, csr_adjacency,
                               dense_adjacency)
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import STRLClassifier
from skelgraph.transforms.masking import BodyPartMask


def make_batch(config: BenchConfig, layout: Layout | None = None, seed: int | None = None) -> Batch:
    r"""``config.batch`` random skeleton graphs (``M`` persons, ``T`` frames, ``V`` joints) with
    labels ``y`` and a SkeletonMAE body-part mask (2 parts per person, :class:`BodyPartMask`);
    ``seed`` (default ``config.seed``) picks the data and the mask."""
    layout = layout or get_layout(config.layout_name)
    seed = config.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    graphs = [skeleton_to_data(rng.standard_normal((config.persons, config.frames, layout.num_joints,
                                                    config.channels)).astype(np.float32),
                               layout, label=int(rng.integers(NUM_CLASSES)))
              for _ in range(config.batch)]
    batch = Batch.from_data_list(graphs)
    return BodyPartMask(2, generator=torch.Generator().manual_seed(seed))(batch)


def make_batches(config: BenchConfig, count: int, device: torch.device | str = "cpu") -> list[Batch]:
    r"""``count`` different batches (:func:`make_batch` with seeds ``seed, seed + 1, ...``), each
    with its own tensors (equal ``edge_index`` values, as a training loop's batches of one size)."""
    layout = get_layout(config.layout_name)
    return [make_batch(config, layout, config.seed + i).to(device) for i in range(count)]


class PyGDenseConv(Module):
    r"""A PyG dense layer (``DenseGINConv``, ``DenseGCNConv``, ``DenseGATConv``) called like our convs.

    PyG's dense layers take ``x`` ``[B, V, F]`` and a ``[V, V]`` (or ``[B, V, V]``) adjacency. Our
    features are ``[N, T, F]`` with ``N = B*M*V`` (node ``n`` is joint ``n % V``), and a spatial
    conv treats every (sample, person, frame) as its own ``V``-joint graph, so the layout that
    fits every dense layer is ``[B*M*T, V, F]``: ``x.view(B*M, V, T, F).transpose(1, 2)`` (one
    copy in, one out per layer), with the ``[V, V]`` adjacency broadcast over the batch. GIN and
    GCN alone could use ``[B*M, V, T*F]`` (no copy), but GAT's attention is per frame and
    DenseGCNConv's weight acts on the last axis, so T must sit in the batch axis.

    Shapes:
        - input: x ``[N, T, F_in]``, adj ``[V, V]`` float (``adj[target, source] = 1``), hop ignored
        - output: ``[N, T, F_out]``
    """

    def __init__(self, layer: Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        n, t, f = x.shape
        v = adj.size(-1)
        blocks = x.view(n // v, v, t, f).transpose(1, 2).reshape(-1, v, f)  # [B*M*T, V, F]
        out = self.layer(blocks, adj)
        return out.view(n // v, t, v, -1).transpose(1, 2).reshape(n, t, -1)

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""What the models call on their convs for the dense path (``adj=``): :meth:`forward`."""
        return self(x, adj, hop)


def to_pyg_dense(conv: Module) -> Module | None:
    r"""PyG's dense layer computing what ``conv`` computes, sharing its weights (copied), or
    ``None`` where PyG has none (ST-GCN's partitioned conv)."""
    from torch_geometric.nn import DenseGATConv, DenseGCNConv, DenseGINConv

    if isinstance(conv, SkeletonGINConv):
        dense = DenseGINConv(copy.deepcopy(conv.mlp), eps=conv.eps)
        dense.nn.load_state_dict(conv.mlp.state_dict())  # DenseGINConv re-initialises its nn
        return dense
    if isinstance(conv, SkeletonGCNConv):
        dense = DenseGCNConv(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
        with torch.no_grad():
            dense.lin.weight.copy_(conv.lin.weight)
            if conv.bias is not None:
                dense.bias.copy_(conv.bias)
        return dense
    if isinstance(conv, SkeletonGATConv):
        dense = DenseGATConv(conv.in_channels, conv.out_channels, heads=conv.heads, concat=conv.concat,
                             negative_slope=conv.negative_slope, dropout=conv.dropout, bias=conv.bias is not None)
        with torch.no_grad():
            dense.lin.weight.copy_(conv.lin.weight)
            dense.att_src.copy_(conv.att_src.view_as(dense.att_src))
            dense.att_dst.copy_(conv.att_dst.view_as(dense.att_dst))
            if conv.bias is not None:
                dense.bias.copy_(conv.bias)
        return dense
    return None


def pyg_dense_model(model: Module) -> Module | None:
    r"""A copy of ``model`` whose convs (in ``encoder``/``decoder``) are PyG dense layers with the
    same weights; call it with ``adj=`` the ``[V, V]`` adjacency. ``None`` if a conv has no
    PyG dense twin."""
    twin = copy.deepcopy(model)
    for name in ("encoder", "decoder"):
        layers = getattr(twin, name, None)
        for i, conv in enumerate(layers or []):
            dense = to_pyg_dense(conv)
            if dense is None:
                return None
            layers[i] = PyGDenseConv(dense)
    return twin


def set_fused(model: Module, fused: bool) -> None:
    for module in model.modules():
        if hasattr(module, "fused") and module is not model:
            module.fused = fused


def build_models(conv: str, config: BenchConfig) -> dict[str, Module]:
    r"""Seeded SkeletonMAE (3 encoder convs, 1 decoder conv) and STRLClassifier (3 encoder convs,
    3 STRL layers) of width ``config.width``; ``conv`` picks the conv of both."""
    torch.manual_seed(config.seed)
    mae = SkeletonMAE(config.channels, config.width, enc_layers=3, dec_layers=1, conv=conv)
    torch.manual_seed(config.seed)
    strl = STRLClassifier(config.channels, NUM_CLASSES, config.width, enc_layers=3, conv=conv, strl_layers=3,
                          max_frames=config.frames)
    for norm in strl.strl_norm:  # zero at init makes every STRL layer the identity, hiding the encoder
        torch.nn.init.ones_(norm.weight)
    return {"mae": mae, "strl": strl}


PATHS = ("fused", "plain", "dense", "pyg-dense", "fused-noscatter", "plain-noscatter")


def paths_for(conv: str, only: tuple[str, ...] = ()) -> list[str]:
    r"""The paths measured: ``only`` (plus ``dense``, the reference) or all; the ``-noscatter``
    paths only when torch-scatter is installed."""
    paths = [p for p in PATHS if not only or p in only or p == "dense"]
    return [p for p in paths if not p.endswith("-noscatter") or torch_scatter_version() is not None]


Step = Callable[[int], Tensor]


def make_step(model_name: str, model: Module, twin: Module | None, batches: Batch | list[Batch], adj: Tensor,
              path: str, mode: str) -> Step | None:
    r"""``step(i)``: one call of ``model`` on batch ``i`` (modulo the list) through ``path`` in
    ``mode``; returns the output (STRL: logits; MAE: the loss, and in ``fwd`` mode the loss
    followed by the flattened ``x_hat``); in ``fwd+bwd`` mode the parameters' ``.grad`` hold
    this call's gradients afterwards. ``None`` if the path does not exist."""
    batches = batches if isinstance(batches, list) else [batches]
    train = mode == "fwd+bwd"
    target = twin if path == "pyg-dense" else model
    if target is None:
        return None
    dense = path in ("dense", "pyg-dense")
    scatter_off = path.endswith("-noscatter")
    fused = path.startswith("fused")

    def forward(batch: Batch) -> Tensor:
        if model_name == "mae":
            out = target(batch, adj=adj if dense else None)
            return out["loss"] if train else torch.cat([out["loss"].view(1), out["x_hat"].flatten()])
        return target(batch, adj=adj if dense else None)

    def step(i: int = 0) -> Tensor:
        batch = batches[i % len(batches)]
        if not dense:
            set_fused(target, fused)
        target.train(train)
        with torch_scatter_disabled() if scatter_off else contextlib.nullcontext():
            if not train:
                with torch.no_grad():
                    return forward(batch)
            target.zero_grad(set_to_none=True)
            out = forward(batch)
            loss = out if model_name == "mae" else F.cross_entropy(out, batch.y.view(-1))
            loss.backward()
            return out.detach()

    return step


def make_aggregate_step(batches: Batch | list[Batch], adj: Tensor, width: int, path: str,
                        mode: str) -> Step | None:
    r"""One GIN neighbour sum over ``[N, T, width]`` (no MLP): the part of a layer each path
    implements differently. The fused path gets its CSR adjacency from each batch's
    ``edge_index`` inside the step through an :class:`~skelgraph.nn.conv.AdjacencyCache`, as a
    layer does (built once per graph structure)."""
    from torch_geometric.nn import DenseGINConv

    batches = batches if isinstance(batches, list) else [batches]
    conv = SkeletonGINConv(width, width).to(adj.device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    first = batches[0]
    xs = [torch.randn(b.num_nodes, first.x.size(1), width, generator=gen).to(adj.device) for b in batches]
    dense_sum = PyGDenseConv(DenseGINConv(Identity(), eps=-1.0))  # (1 + eps) x + A x = A x

    cache = AdjacencyCache()

    def fused_sum(batch: Batch, x: Tensor) -> Tensor:
        n = batch.num_nodes
        adj_t = cache.get((batch.edge_index, n, x.dtype),
                          lambda: csr_adjacency(batch.edge_index, None, (n, n), x.dtype))
        return conv.propagate(adj_t, x=x)

    runs: dict[str, Callable[[Batch, Tensor], Tensor]] = {
        "fused": fused_sum, "plain": lambda b, x: conv.propagate(b.edge_index, x=x),
        "dense": lambda b, x: conv.dense_aggregate(x, adj, eps=-1.0),  # (1 + eps) I + A = A
        "pyg-dense": lambda b, x: dense_sum(x, adj)}
    if path.endswith("-noscatter"):
        base = runs.get(path.removesuffix("-noscatter"))
        if base is not None:
            runs[path] = lambda b, x: _without_scatter(lambda: base(b, x))
    if path not in runs:
        return None
    run = runs[path]

    def step(i: int = 0) -> Tensor:
        batch, x = batches[i % len(batches)], xs[i % len(xs)]
        if mode == "fwd":
            with torch.no_grad():
                return run(batch, x)
        x.requires_grad_(True)
        x.grad = None
        out = run(batch, x)
        out.sum().backward()
        return out.detach()

    return step


def _without_scatter(run: Callable[[], Tensor]) -> Tensor:
    with torch_scatter_disabled():
        return run()


def _gradients(model: Module) -> list[Tensor]:
    r"""Every parameter's gradient, flattened, in registration order (zeros where unused): the
    order is the same in a model and its PyG-dense twin (whose convs wrap the same layers)."""
    return [p.grad.flatten() if p.grad is not None else torch.zeros(p.numel(), device=p.device)
            for p in model.parameters()]


def check_agreement(config: BenchConfig, device: torch.device | str = "cpu", batch: Batch | None = None,
                    rtol: float = 1e-7, atol: float = 1e-9, dtype: torch.dtype = torch.float64,
                    max_graphs: int = 4) -> list[dict[str, Any]]:
    r"""Runs every conv's MAE and STRL classifier through every path (those of ``config.paths``,
    or all) on the same weights and batch and compares each with the ``fused`` path: in ``fwd``
    mode (eval) the outputs (MAE loss and ``x_hat``, STRL logits), in ``fwd+bwd`` mode (train)
    the loss or logits and every parameter's gradient. One entry per (model, mode, conv, path)
    with ``max_abs_diff`` (outputs), ``grad_rel_diff`` (gradients, relative to the largest fused
    gradient) and ``ok`` (``torch.allclose`` with ``rtol``, ``atol``; for gradients ``atol``
    scaled by the largest gradient). It runs in ``dtype``, float64 by default, on a copy of
    ``batch`` or (without one) a batch of at most ``max_graphs`` graphs of the bench's shape: the
    paths compute the same function, so float64 makes them agree near 1e-15, while float32
    rounding through the STRL stack reaches 1e-4 of the largest gradient and would need a
    tolerance loose enough to hide a real error."""
    device = torch.device(device)
    # a copy (clone, or a new batch of at most max_graphs graphs): the caller's batch stays as it is
    batch = batch.clone() if batch is not None else make_batch(replace(config, batch=min(config.batch, max_graphs)))
    batch = batch.to(device)
    batch.x = batch.x.to(dtype)
    adj = dense_adjacency(batch.edge_index, config.joints).to(device, dtype)
    out = []
    for conv in config.convs:
        for model_name, model in build_models(conv, config).items():
            model = model.to(device, dtype)
            twin = pyg_dense_model(model)
            twin = twin.to(device, dtype) if twin is not None else None  # PyG's dense layers start in float32
            for mode in MODES:
                results: dict[str, tuple[Tensor, list[Tensor]]] = {}
                for path in paths_for(conv, config.paths and (*config.paths, "fused")):
                    step = make_step(model_name, model, twin, batch, adj, path, mode)
                    if step is not None:
                        value = step()
                        owner = twin if path == "pyg-dense" else model
                        results[path] = (value, _gradients(owner) if mode == "fwd+bwd" else [])
                ref, ref_grads = results["fused"]
                for path, (value, grads) in results.items():
                    if path != "fused":
                        entry = compare_runs(value, ref, grads if mode == "fwd+bwd" else None, ref_grads, rtol, atol)
                        out.append({"model": model_name, "mode": mode, "conv": conv, "path": path, **entry})
    return out


def compare_runs(value: Tensor, ref: Tensor, grads: list[Tensor] | None, ref_grads: list[Tensor],
                 rtol: float = 1e-7, atol: float = 1e-9) -> dict[str, Any]:
    r"""``max_abs_diff`` of two outputs and ``ok`` (``torch.allclose``); with ``grads`` also
    ``grad_rel_diff``, the largest gradient difference relative to the largest reference
    gradient entry, and ``ok`` requires the gradients to match (``atol`` scaled by that entry).

    Example:
        >>> g = [torch.tensor([1.0, 2.0])]
        >>> compare_runs(torch.zeros(1), torch.zeros(1), [torch.tensor([1.0, 2.5])], g)["ok"]
        False
    """
    entry: dict[str, Any] = {"max_abs_diff": float((value - ref).abs().max()),
                             "ok": bool(torch.allclose(value, ref, rtol=rtol, atol=atol))}
    if grads is not None:
        scale = max((float(g.abs().max()) for g in ref_grads if g.numel()), default=1.0) or 1.0
        same_shape = len(grads) == len(ref_grads) and all(a.shape == b.shape for a, b in zip(grads, ref_grads))
        diff = max((float((a - b).abs().max()) for a, b in zip(grads, ref_grads)), default=0.0) if same_shape \
            else float("inf")
        entry["grad_rel_diff"] = diff / scale
        entry["ok"] = entry["ok"] and same_shape and all(
            torch.allclose(a, b, rtol=rtol, atol=atol * scale) for a, b in zip(grads, ref_grads))
    return entry
