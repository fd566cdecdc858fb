r"""The SSL fine-tuning model of SkeletonMAE (arXiv:2307.08476, Sec. 3.4): the pre-trained
encoder :math:`G_E` inside the Spatial-Temporal Representation Learning (STRL) module, and a
linear probe on the frozen encoder.

Shapes: N nodes (a node is one person's joint), T frames, C input channels, D hidden channels,
B graphs (samples) in a batch, P persons per sample, K classes. ``person`` ``[N]`` is each
node's person id within its graph, ``batch`` ``[N]`` its graph (absent on a single ``Data``).

Both models keep the encoder's parameters under the names :class:`~skelgraph.nn.mae.SkeletonMAE`
uses (``embed``, ``encoder``, ``encoder_act``), so a pre-training state dict maps onto them
key for key (see :func:`load_encoder_weights`).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import (BatchNorm1d, Conv1d, Dropout, Identity, LayerNorm, Linear, MaxPool1d, Module, ModuleList,
                      Parameter, ReLU, Sequential)
from torch_geometric.data import Data
from torch_geometric.nn import global_mean_pool
from torch_geometric.nn.inits import reset
from torch_geometric.utils import scatter

from skelgraph.nn.activation import FastPReLU as PReLU  # torch's PReLU, same weights, faster backward
from skelgraph.nn.encoder import ENCODER_PREFIXES, EncoderMixin
from skelgraph.nn.linear import linear
from skelgraph.nn.temporal import (batch_norm_last, can_fuse_batch_norms, contiguous_grad, linear_1x1,
                                   max_pool_time_last, temporal_conv_last)

log = logging.getLogger(__name__)


class PretrainedMismatchError(ValueError):
    """A pre-training checkpoint that cannot initialise the asked-for model (one-line reason)."""


# ----------------------------------------------------------------------------- pooling

def _batch_vector(data: Data) -> Tensor:
    batch = getattr(data, "batch", None)
    return batch if batch is not None else data.x.new_zeros(data.x.size(0), dtype=torch.long)


def person_group(person: Tensor, batch: Tensor) -> Tensor:
    r"""Id ``[N]`` of each node's (graph, person) pair: ``batch * P + person`` with ``P`` the
    largest person id + 1. Ids of absent pairs are simply unused.

    Example:
        >>> person_group(torch.tensor([0, 0, 1, 1, 0]), torch.tensor([0, 0, 0, 0, 1])).tolist()
        [0, 0, 1, 1, 2]
    """
    return batch * (int(person.max()) + 1 if person.numel() else 1) + person


def sum_pool_repeat(h: Tensor, group: Tensor) -> Tensor:
    r"""``Repeat(SumPool_joints(h))``: sums ``h`` ``[N, T, D]`` over the nodes of each group (one
    person of one graph) and gives every node its group's sum, ``[N, T, D]``."""
    return scatter(h, group, dim=0, reduce="sum")[group]


def contiguous_group_size(group: Tensor) -> int | None:
    r"""``V`` when ``group`` ``[N]`` is ``0, ..., 0, 1, ..., 1, ...``: consecutive runs of ``V``
    nodes with ids ``0, 1, 2, ...`` (what ``skeleton_to_data`` and PyG batching give for equal
    person slots per graph); else ``None``. Such groups pool with a ``view`` instead of a
    scatter and broadcast instead of a gather.

    Example:
        >>> contiguous_group_size(torch.tensor([0, 0, 1, 1, 2, 2])), contiguous_group_size(torch.tensor([0, 1, 0]))
        (2, None)
    """
    n = group.numel()
    if n == 0:
        return None
    size = int((group == group[0]).sum())
    if n % size or not torch.equal(group, torch.arange(n, device=group.device) // size):
        return None
    return size


def sum_pool(h: Tensor, group: Tensor, size: int | None) -> Tensor:
    r"""``SumPool_joints(h)``: ``[N, T, D]`` -> ``[G, T, D]``, one row per group id (``size``
    from :func:`contiguous_group_size`, or ``None`` for any grouping)."""
    if size is None:
        return scatter(h, group, dim=0, reduce="sum")
    return h.view(-1, size, *h.shape[1:]).sum(1)


def add_repeated(h: Tensor, pooled: Tensor, group: Tensor, size: int | None) -> Tensor:
    r"""``h + Repeat(pooled)``: ``h`` ``[N, T, D]`` plus row ``group[n]`` of ``pooled``
    ``[G, T, D]`` for every node ``n`` (a broadcast when the groups are contiguous runs)."""
    if size is None:
        return h + pooled[group]
    return (h.view(-1, size, *h.shape[1:]) + pooled.unsqueeze(1)).view_as(h)


def global_pool(h: Tensor, batch: Tensor, num_graphs: int | None = None) -> Tensor:
    r"""Mean over frames, then over every node of each graph: ``[N, T, D]`` (or ``[N, D]``) ->
    ``[B, D]``. With the same ``V`` nodes per person this is the mean over persons of the mean
    over joints (CTR-GCN's convention; zero-padded persons count, as there)."""
    return global_mean_pool(h.mean(dim=1) if h.dim() == 3 else h, batch, num_graphs)


def strl_mix(h: Tensor, g: Tensor, group: Tensor, size: int | None, lin: Module, norm: Module,
             act: Module) -> Tensor:
    r"""The STRL layer after its encoder pass: ``h + act(norm(lin([h, Repeat(SumPool_joints(g))])))``,
    ``h``, ``g`` ``[N, T, D]`` -> ``[N, T, D]`` (``size`` from :func:`contiguous_group_size`).

    ``lin`` ``Linear(2D, D)`` is computed as ``H W_h^T + b + Repeat(S W_s^T)`` with ``[W_h, W_s]``
    the halves of its weight: the same linear map, but the ``S`` half runs on the ``G`` pooled
    rows instead of all ``N`` nodes, and the ``[N, T, 2D]`` concatenation is never built."""
    w_h, w_s = lin.weight.split(h.size(-1), dim=1)
    z = add_repeated(linear(h, w_h, lin.bias), linear(sum_pool(g, group, size), w_s), group, size)
    # the norm in the residual stream's precision: CPU autocast leaves layer_norm in bf16
    # (CUDA's runs it in float32), and this norm scales every STRL update
    return h + act(norm(z.to(h.dtype)))


# ----------------------------------------------------------------------------- building blocks

class MultiScaleTemporalConv(Module):
    r"""CTR-GCN's multi-scale temporal convolution (arXiv:2107.12213) over the frames of every
    node: parallel branches, each ``1x1 conv -> BN -> ReLU`` then a temporal conv of kernel
    ``kernel_size`` and one of ``dilations`` (+ BN), a ``1x1 -> BN -> ReLU -> max-pool(3) -> BN``
    branch and a plain ``1x1 -> BN`` branch; their outputs are concatenated back to ``D``
    channels, added to the input and passed through ReLU.

    Args:
        channels (int): ``D`` (split over the ``len(dilations) + 2`` branches; the last branch
            takes the remainder).
        kernel_size (int): Temporal kernel of the dilated branches (odd). (default: ``5``)
        dilations (tuple[int, ...]): One branch per dilation. (default: ``(1, 2)``)

    Shapes:
        - input: ``[N, T, D]``
        - output: ``[N, T, D]``
    """

    def __init__(self, channels: int, kernel_size: int = 5, dilations: tuple[int, ...] = (1, 2)) -> None:
        super().__init__()
        num_branches = len(dilations) + 2
        if channels < num_branches:
            raise ValueError(f"MultiScaleTemporalConv needs at least {num_branches} channels, got {channels}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        width = channels // num_branches
        widths = [width] * (num_branches - 1) + [channels - width * (num_branches - 1)]
        self.channels, self.kernel_size, self.dilations = channels, kernel_size, tuple(dilations)
        branches = []
        for w, d in zip(widths, dilations):
            branches.append(Sequential(
                Conv1d(channels, w, 1), BatchNorm1d(w), ReLU(),
                Conv1d(w, w, kernel_size, padding=d * (kernel_size - 1) // 2, dilation=d), BatchNorm1d(w)))
        w = widths[len(dilations)]
        branches.append(Sequential(Conv1d(channels, w, 1), BatchNorm1d(w), ReLU(),
                                   MaxPool1d(3, stride=1, padding=1), BatchNorm1d(w)))
        w = widths[-1]
        branches.append(Sequential(Conv1d(channels, w, 1), BatchNorm1d(w)))
        self.branches = ModuleList(branches)
        self.act = ReLU()

    def reset_parameters(self) -> None:
        reset(self.branches)

    def forward(self, h: Tensor) -> Tensor:
        if not self._fusable():
            return self.reference_forward(h)
        # the same maps on [N, T, D] (skelgraph.nn.temporal): all 1x1 convs as one product, the
        # BatchNorms of one stage as one call, temporal convs as products over shifted frames
        k = len(self.dilations)
        z = batch_norm_last(linear_1x1(h, [b[0] for b in self.branches]), [b[1] for b in self.branches])
        parts = z.split([b[0].out_channels for b in self.branches], dim=-1)
        # contiguous_grad: the cats below hand their inputs strided gradients, which make the
        # backward of mm and batch_norm take slow paths
        outs = [contiguous_grad(temporal_conv_last(F.relu(parts[i]), self.branches[i][3])) for i in range(k)]
        outs.append(max_pool_time_last(F.relu(parts[k]), self.branches[k][3]))
        out = contiguous_grad(batch_norm_last(torch.cat(outs, dim=-1), [b[4] for b in self.branches[:k + 1]]))
        return self.act(torch.cat([out, parts[-1]], dim=-1) + h)  # [N, T, D]

    def reference_forward(self, h: Tensor) -> Tensor:
        r"""The branches as ``torch.nn`` modules on ``[N, D, T]`` (what :meth:`forward` computes,
        kept for tests and for module types the fused path does not know)."""
        z = h.transpose(1, 2)  # [N, D, T]: convs run along T
        out = torch.cat([branch(z) for branch in self.branches], dim=1)
        return self.act(out.transpose(1, 2) + h)  # [N, T, D]

    def _fusable(self) -> bool:
        return can_fuse_batch_norms([b[1] for b in self.branches] + [b[4] for b in self.branches[:-1]])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, kernel_size={self.kernel_size}, dilations={self.dilations})"


# ----------------------------------------------------------------------------- models

#: The STRL network's parameters around ``G_E`` (:class:`STRLTrunkMixin`): what a pre-training run
#: with ``scope = "strl"`` trains besides the encoder, and what fine-tuning then loads with it.
TRUNK_PREFIXES = ("pos_embed", "strl.", "strl_norm.", "strl_act.", "layer_temporal.", "temporal.")
TEMPORAL_MODES = ("head", "per-layer")


class STRLTrunkMixin:
    r"""The STRL network without its classifier (the trunk): temporal position embedding, ``M``
    STRL layers around the shared encoder ``G_E`` and the multi-scale temporal convolutions
    (steps 1-3 of :class:`STRLClassifier`). Built under the same parameter names
    (:data:`TRUNK_PREFIXES`) in :class:`STRLClassifier`, :class:`LinearProbe` and
    :class:`~skelgraph.nn.mae.SkeletonMAE` (``scope="strl"``), so a pre-trained trunk maps onto a
    classifier key for key, as ``G_E`` does. Needs :class:`~skelgraph.nn.encoder.EncoderMixin`'s
    encoder built first."""

    pos_embed: Parameter
    strl: ModuleList

    def _build_trunk(self, strl_layers: int, max_frames: int, temporal: str) -> None:
        if temporal not in TEMPORAL_MODES:
            raise ValueError(f"temporal must be 'head' or 'per-layer', got {temporal!r}")
        if strl_layers < 1:
            raise ValueError(f"need at least one STRL layer, got {strl_layers}")
        d = self.hidden_channels
        self.max_frames, self.temporal_mode = max_frames, temporal
        self.pos_embed = Parameter(torch.empty(max_frames, d))
        self.strl = ModuleList(Linear(2 * d, d) for _ in range(strl_layers))
        self.strl_norm = ModuleList(LayerNorm(d) for _ in range(strl_layers))
        self.strl_act = ModuleList(PReLU() for _ in range(strl_layers))
        per_layer = temporal == "per-layer"
        self.layer_temporal = ModuleList(MultiScaleTemporalConv(d) for _ in range(strl_layers if per_layer else 0))
        self.temporal = Identity() if per_layer else MultiScaleTemporalConv(d)

    def trunk_modules(self) -> list[Module]:
        return [self.strl, self.strl_norm, self.strl_act, self.layer_temporal, self.temporal]

    def _reset_trunk(self) -> None:
        r"""A new random trunk (the models that build it after their other layers)."""
        for module in self.trunk_modules():
            reset(module)
        self._reset_trunk_tail()

    def _reset_trunk_tail(self) -> None:
        torch.nn.init.normal_(self.pos_embed, std=0.02)
        for norm in self.strl_norm:  # each STRL layer starts as the identity (zero-init residual branch)
            torch.nn.init.zeros_(norm.weight)

    def trunk_settings(self) -> dict[str, Any]:
        r"""What the trunk's shapes depend on: ``strl_layers``, ``temporal``, ``max_frames``."""
        return {"strl_layers": len(self.strl), "temporal": self.temporal_mode, "max_frames": self.max_frames}

    def strl_layer(self, i: int, h: Tensor, data: Data, group: Tensor, adj: Tensor | None = None) -> Tensor:
        r"""STRL layer ``i``: ``[N, T, D] -> [N, T, D]`` (see step 2 of :class:`STRLClassifier`): the
        encoder pass, then :func:`strl_mix` (which says how the ``2D -> D`` map is computed)."""
        g = self.run_encoder(h, data.edge_index, getattr(data, "hop", None), adj)
        return self.strl_mix(h, g, group, contiguous_group_size(group), self.strl[i], self.strl_norm[i],
                             self.strl_act[i])

    #: :func:`strl_mix`; :func:`~skelgraph.nn.compile.compile_parts` sets a compiled one on an instance
    strl_mix = staticmethod(strl_mix)

    def strl_layer_reference(self, i: int, h: Tensor, data: Data, group: Tensor, adj: Tensor | None = None) -> Tensor:
        r"""STRL layer ``i`` computed literally as :class:`STRLClassifier`'s docs write it
        (concatenation, then the ``2D -> D`` linear layer); what tests compare :meth:`strl_layer` with."""
        sm = sum_pool_repeat(self.run_encoder(h, data.edge_index, getattr(data, "hop", None), adj), group)
        return h + self.strl_act[i](self.strl_norm[i](self.strl[i](torch.cat([h, sm], dim=-1))))

    def run_trunk(self, h: Tensor, data: Data, adj: Tensor | None = None, all_layers: bool = False) -> Tensor:
        r"""Steps 1-3 of :class:`STRLClassifier` from the joint embedding ``h`` ``[N, T, D]`` (the
        embedded input features; in pre-training with hidden entries already [MASK] tokens): the
        position embedding is added, then the STRL layers and temporal convolutions run ->
        ``[N, T, D]``. ``adj``: a float ``[V, V]`` adjacency for the convs' dense reference path.

        ``all_layers``: the outputs of every STRL layer (each after its temporal convolution; the
        last one's is the trunk's output) concatenated over channels, ``[N, T, M * D]`` in layer
        order: frozen features from every depth, since the last layer of a reconstruction-trained
        trunk is the one most shaped by its decoder."""
        if h.size(1) > self.max_frames:
            raise ValueError(f"{h.size(1)} frames, but the position embedding holds {self.max_frames} "
                             "(max_frames)")
        batch = _batch_vector(data)
        person = getattr(data, "person", None)
        group = batch if person is None else person_group(person, batch)
        # in the input's precision (float32 under autocast): the residual stream stays float32
        h = h + self.pos_embed[:h.size(1)].to(data.x.dtype)
        earlier = []  # the layers before the last, kept only when asked for (all_layers)
        for i in range(len(self.strl)):
            if all_layers and i > 0:
                earlier.append(h)
            h = self.strl_layer(i, h, data, group, adj)
            if self.layer_temporal:
                h = self.layer_temporal[i](h)
        h = self.temporal(h)
        return torch.cat([*earlier, h], dim=-1) if all_layers else h

    def encode_strl(self, data: Data, adj: Tensor | None = None, all_layers: bool = False) -> Tensor:
        r"""The trunk's output ``[N, T, D]`` of the unmasked input (the features the classifier's
        head pools, before pooling); ``all_layers``: every STRL layer's, ``[N, T, M * D]``
        (:meth:`run_trunk`)."""
        return self.run_trunk(self.embed(self.input_features(data)), data, adj, all_layers)


class _PooledEncoderMixin(EncoderMixin):
    r""":class:`~skelgraph.nn.encoder.EncoderMixin` plus the pooled features of the bare encoder."""

    def encoder_features(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""Pooled features of the bare encoder, ``G_E(embed(features(x)))`` averaged over
        frames, joints and persons: ``[B, D]`` (what the linear probe and k-NN of a pre-trained
        encoder use). ``adj``: a float ``[V, V]`` adjacency for the convs' dense reference path."""
        return global_pool(self.encode(data, adj), _batch_vector(data), getattr(data, "num_graphs", 1))


class STRLClassifier(STRLTrunkMixin, _PooledEncoderMixin, Module):
    r"""Pre-trained SkeletonMAE encoder + STRL + classifier (the paper's fine-tuning model).

    :meth:`forward` (shapes for ``x`` ``[N, T, C]``):

    1. ``H = embed(features(x)) + pos_embed[:T]``: joint embedding of the input features plus a
       learnable temporal position embedding ``[T_max, D]`` -> ``[N, T, D]``;
    2. ``strl_layers`` STRL layers, each
       ``H <- H + PReLU(LayerNorm(Linear_{2D->D}([H, Repeat(SumPool_joints(G_E(A, H)))])))``: the shared
       encoder ``G_E`` runs on ``H``, its output is summed over the joints of each person
       (per graph) and broadcast back to every joint of that person, concatenated with ``H``
       and mapped back to ``D`` by a 1x1 convolution (a ``Linear`` over channels), with a
       residual connection. The ``LayerNorm`` (not in the paper's text) keeps the stack
       trainable with SGD at lr 0.1: without it, sums over joints through ``M`` stacked
       ``G_E`` passes diverge within an epoch. Its weight starts at zero, so each STRL layer
       starts as the identity (the zero-init residual branch trick), which trains markedly
       faster than a random start;
    3. :class:`MultiScaleTemporalConv` over the ``T`` axis -> ``[N, T, D]``: once after the
       STRL layers (``temporal="head"``), or after every STRL layer (``"per-layer"``, the way
       CTR-GCN follows each graph conv with a temporal one);
    4. :func:`global_pool` over frames, joints and persons -> ``[B, D]`` (:meth:`pooled_features`);
    5. MLP head ``Linear(D, D), ReLU, Dropout, Linear(D, K)`` -> logits ``[B, K]``.

    The encoder's weights are shared by all STRL layers (one ``G_E``), as in the paper.

    Args:
        in_channels (int): ``C``.
        num_classes (int): ``K``.
        hidden_channels (int): ``D``. (default: ``64``)
        enc_layers (int): Convs of ``G_E``. (default: ``3``)
        conv (str): Conv of ``G_E`` (:func:`~skelgraph.nn.conv.make_conv`). (default: ``"gin"``)
        strl_layers (int): ``M``. (default: ``3``)
        max_frames (int): ``T_max``, rows of the position embedding. (default: ``64``)
        dropout (float): Before the last linear layer. (default: ``0.0``)
        temporal (str): Where the multi-scale temporal convolution sits: ``"head"`` (once,
            after the STRL layers) or ``"per-layer"``. (default: ``"per-layer"``)
        features (Sequence[str]): ``G_E``'s input features (:mod:`skelgraph.nn.features`).
            (default: ``("position",)``)
        temporal_kernel (int): Kernel of ``G_E``'s temporal convolutions, ``0`` = none
            (:mod:`skelgraph.nn.encoder`). (default: ``0``)
        temporal_block (str): Their kind (:func:`~skelgraph.nn.encoder.make_temporal`).
            (default: ``"depthwise"``)
        **conv_kwargs: Passed to every conv.

    Shapes:
        - input: ``Data``/``Batch`` with ``x`` ``[N, T, C]`` (``T <= max_frames``), ``edge_index``
          ``[2, E]``, ``person`` ``[N]``, optional ``batch``/``hop`` ``[N]``
        - output: :meth:`forward` -> ``[B, K]``; :meth:`pooled_features` -> ``[B, D]``
    """

    def __init__(self, in_channels: int, num_classes: int, hidden_channels: int = 64, enc_layers: int = 3,
                 conv: str = "gin", strl_layers: int = 3, max_frames: int = 64, dropout: float = 0.0,
                 temporal: str = "per-layer", features: Sequence[str] = ("position",), temporal_kernel: int = 0,
                 temporal_block: str = "depthwise", **conv_kwargs: Any) -> None:
        super().__init__()
        if temporal not in TEMPORAL_MODES:  # before the encoder is built (_build_trunk checks it again after)
            raise ValueError(f"temporal must be 'head' or 'per-layer', got {temporal!r}")
        self._build_encoder(in_channels, hidden_channels, enc_layers, conv, features, temporal_kernel, temporal_block,
                            **conv_kwargs)
        d = hidden_channels
        self.num_classes = num_classes
        self._build_trunk(strl_layers, max_frames, temporal)
        self.classifier = Sequential(Linear(d, d), ReLU(), Dropout(dropout), Linear(d, num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.embed, self.encoder, self.encoder_act, self.encoder_temporal, *self.trunk_modules(),
                       self.classifier):
            if module is not None:
                reset(module)
        self._reset_trunk_tail()

    def pooled_features(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""Pooled features ``[B, D]`` (input of the MLP head; used by k-NN). ``adj``: a float
        ``[V, V]`` adjacency (:func:`~skelgraph.nn.conv.dense_adjacency`) on which ``G_E``'s convs
        run their dense reference path (``dense_forward``) instead of ``data.edge_index``."""
        return global_pool(self.encode_strl(data, adj), _batch_vector(data), getattr(data, "num_graphs", 1))

    def features(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""The old name of :meth:`pooled_features` (``features`` is also the constructor's list of
        input feature names, :attr:`feature_names`); kept for existing callers."""
        return self.pooled_features(data, adj)

    def forward(self, data: Data, adj: Tensor | None = None) -> Tensor:
        return self.classifier(self.pooled_features(data, adj))  # [B, K]

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path | dict[str, Any], num_classes: int, *,
                        layout: str | dict | None = None, in_channels: int | None = None,
                        hidden_channels: int | None = None, enc_layers: int | None = None, conv: str | None = None,
                        features: Sequence[str] | None = None, temporal_kernel: int | None = None,
                        temporal_block: str | None = None, **kwargs: Any) -> tuple[STRLClassifier, LoadReport]:
        r"""A classifier whose ``G_E`` (and, from a ``scope = "strl"`` run, the whole trunk:
        :data:`TRUNK_PREFIXES`) comes from a SkeletonMAE pre-training checkpoint (a run directory,
        a ``checkpoint.pt`` or its loaded dict).

        ``layout`` (the data's layout JSON or dict), ``in_channels``, ``hidden_channels``,
        ``enc_layers``, ``conv``, ``features`` and ``temporal_kernel``, when given, must match the
        checkpoint's, else
        :class:`PretrainedMismatchError`; those not given come from the checkpoint. ``kwargs``
        set the rest (``strl_layers``, ``max_frames``, ``dropout``, ``temporal``; with a
        pre-trained trunk the first, second and last are the checkpoint's and a different value is
        an error). Returns ``(model, report)``; the report is also logged.
        """
        state = read_checkpoint(checkpoint)
        arch = check_compatible(state, layout=layout, in_channels=in_channels, hidden_channels=hidden_channels,
                                enc_layers=enc_layers, conv=conv, features=features, temporal_kernel=temporal_kernel,
                                temporal_block=temporal_block)
        trunk = checkpoint_trunk(state)
        if trunk is not None:  # the checkpoint holds a pre-trained trunk: the model must have its shapes
            for key, value in trunk.items():
                if kwargs.get(key, value) != value:
                    name = "num_frames" if key == "max_frames" else key
                    raise PretrainedMismatchError(
                        f"{state.get('path', 'checkpoint')} pre-trained the STRL network (scope = 'strl') with "
                        f"{name}={value!r}, but {kwargs[key]!r} was asked for (set {name} to match)")
            kwargs = {**kwargs, **trunk}
        model = cls(num_classes=num_classes, **arch, **kwargs)
        return model, load_encoder_weights(model, state)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.num_classes}, hidden={self.hidden_channels}, "
                f"conv={self.conv_name!r}, enc_layers={self.enc_layers}, strl_layers={len(self.strl)}, "
                f"temporal={self.temporal_mode!r})")


class LinearProbe(STRLTrunkMixin, _PooledEncoderMixin, Module):
    r"""Linear classifier on the frozen encoder's pooled features (the linear evaluation
    protocol): ``Linear(D, K)(BatchNorm(encoder_features(data)))``. The encoder's parameters
    have ``requires_grad=False`` and it never leaves eval mode. The BatchNorm has no affine
    parameters (so the classifier stays linear in the features): it only standardises them,
    as MAE's linear probe does, because pooled encoder features are tiny and badly scaled for
    SGD (without it the probe stayed at chance on NW-UCLA while k-NN reached 41%).

    With ``strl_layers > 0`` (what :meth:`from_pretrained` builds from a ``scope = "strl"``
    pre-training run) the probe holds the frozen STRL trunk too and reads its output
    (:meth:`encode`), the representation that run trained.

    Shapes:
        - input: as :class:`STRLClassifier`
        - output: :meth:`forward` -> ``[B, K]``; :meth:`pooled_features` -> ``[B, D]``
    """

    def __init__(self, in_channels: int, num_classes: int, hidden_channels: int = 64, enc_layers: int = 3,
                 conv: str = "gin", features: Sequence[str] = ("position",), temporal_kernel: int = 0,
                 temporal_block: str = "depthwise", strl_layers: int = 0, max_frames: int = 64,
                 temporal: str = "per-layer", **conv_kwargs: Any) -> None:
        super().__init__()
        self._build_encoder(in_channels, hidden_channels, enc_layers, conv, features, temporal_kernel, temporal_block,
                            **conv_kwargs)
        self.has_trunk = strl_layers > 0
        if self.has_trunk:
            self._build_trunk(strl_layers, max_frames, temporal)
            self._reset_trunk()
            self.pos_embed.requires_grad_(False)
        self.num_classes = num_classes
        self.norm = BatchNorm1d(hidden_channels, affine=False, eps=1e-6)  # MAE's linear-probe norm
        self.classifier = Linear(hidden_channels, num_classes)
        for module in self.encoder_modules():
            module.requires_grad_(False)

    def encoder_modules(self) -> list[Module]:
        trunk = self.trunk_modules() if self.has_trunk else []
        return [m for m in (self.embed, self.encoder, self.encoder_act, self.encoder_temporal, *trunk) if m is not None]

    def encode(self, data: Data, adj: Tensor | None = None, all_layers: bool = False) -> Tensor:
        r"""The frozen representation ``[N, T, D]``: the trunk's output when the probe has one,
        else ``G_E``'s (:meth:`~skelgraph.nn.encoder.EncoderMixin.encode`). ``all_layers`` (a
        probe with a trunk only): every STRL layer's output, ``[N, T, M * D]``."""
        if all_layers and not self.has_trunk:
            raise ValueError("all_layers reads the STRL trunk's layers, and this probe has no trunk")
        return self.encode_strl(data, adj, all_layers) if self.has_trunk else super().encode(data, adj)

    def train(self, mode: bool = True) -> LinearProbe:
        super().train(mode)
        for module in self.encoder_modules():
            module.eval()
        return self

    def pooled_features(self, data: Data) -> Tensor:
        r"""The frozen encoder's pooled features ``[B, D]`` (:meth:`encoder_features`, no gradient)."""
        with torch.no_grad():
            return self.encoder_features(data)

    def features(self, data: Data) -> Tensor:
        r"""The old name of :meth:`pooled_features`; kept for existing callers."""
        return self.pooled_features(data)

    def forward(self, data: Data) -> Tensor:
        pooled = self.pooled_features(data)
        if self.training and pooled.size(0) == 1:  # a lone last batch has no batch statistics
            pooled = torch.nn.functional.batch_norm(pooled, self.norm.running_mean, self.norm.running_var)
            return self.classifier(pooled)
        return self.classifier(self.norm(pooled))

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path | dict[str, Any], num_classes: int, *,
                        layout: str | dict | None = None, in_channels: int | None = None,
                        hidden_channels: int | None = None, enc_layers: int | None = None,
                        conv: str | None = None, features: Sequence[str] | None = None,
                        temporal_kernel: int | None = None,
                        temporal_block: str | None = None) -> tuple[LinearProbe, LoadReport]:
        r"""As :meth:`STRLClassifier.from_pretrained`."""
        state = read_checkpoint(checkpoint)
        arch = check_compatible(state, layout=layout, in_channels=in_channels, hidden_channels=hidden_channels,
                                enc_layers=enc_layers, conv=conv, features=features, temporal_kernel=temporal_kernel,
                                temporal_block=temporal_block)
        model = cls(num_classes=num_classes, **arch, **(checkpoint_trunk(state) or {}))
        return model, load_encoder_weights(model, state)


# ----------------------------------------------------------------------------- checkpoints

@dataclass
class LoadReport:
    """What :func:`load_encoder_weights` did: parameter names ``loaded`` from the checkpoint,
    ``missing`` (the model's, left at their initial values) and ``unexpected`` (the
    checkpoint's, not used: decoder, [MASK] token, heads)."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "loaded": self.loaded, "missing": self.missing, "unexpected": self.unexpected}

    def __str__(self) -> str:
        return (f"{self.source or 'checkpoint'}: loaded {len(self.loaded)} tensors, {len(self.missing)} missing "
                f"(new), {len(self.unexpected)} unexpected (unused)")


def read_checkpoint(checkpoint: str | Path | dict[str, Any]) -> dict[str, Any]:
    r"""A SkeletonMAE pre-training checkpoint as a dict, from a run directory, a file or a dict.

    Files are read by :func:`skelgraph.train.checkpoints.load_checkpoint`, the one reader, so a
    missing or unreadable file is a ``CheckpointError`` naming it (imported here, on use: the
    rest of :mod:`skelgraph.nn` needs only torch and PyG); a dict or file of another kind is a
    :class:`PretrainedMismatchError`."""
    if isinstance(checkpoint, dict):
        state = checkpoint
    else:
        from skelgraph.train.checkpoints import load_checkpoint

        state = load_checkpoint(checkpoint)
    if state.get("kind") != "skeletonmae":
        raise PretrainedMismatchError(f"{state.get('path', 'checkpoint')}: not a SkeletonMAE pre-training checkpoint")
    return state


def _layout_dict(layout: str | dict) -> dict:
    return json.loads(layout) if isinstance(layout, str) else dict(layout)


def _graph(layout: dict) -> tuple[list[str], set[frozenset[str]]]:
    """What the encoder depends on in a layout: the joints in order and the bones (not the name,
    parts or centre) -- the rule of ``skelgraph.train.compat.layout_difference``, which every
    command applies first (nn imports no skelgraph.train)."""
    joints = list(layout.get("joints", []))
    return joints, {frozenset((joints[a], joints[b]) if isinstance(a, int) else (a, b))
                    for a, b in layout.get("bones", [])}


def check_compatible(state: dict[str, Any], *, layout: str | dict | None = None, in_channels: int | None = None,
                     hidden_channels: int | None = None, enc_layers: int | None = None,
                     conv: str | None = None, features: Sequence[str] | None = None,
                     temporal_kernel: int | None = None, temporal_block: str | None = None) -> dict[str, Any]:
    r"""Checks a pre-training checkpoint against the data and the asked-for encoder (each
    argument given must match); returns the encoder's architecture (``in_channels``,
    ``hidden_channels``, ``enc_layers``, ``conv``, ``features``, ``temporal_kernel``,
    ``temporal_block``; older checkpoints without the last three have the paper's
    ``("position",)``, ``0`` and ``"depthwise"``)."""
    source = state.get("path", "checkpoint")
    config = state.get("config", {})
    arch = dict(in_channels=int(state["in_channels"]), hidden_channels=int(config.get("hidden_channels", 64)),
                enc_layers=int(config.get("enc_layers", 3)), conv=config.get("conv", "gin"),
                features=tuple(config.get("features", ("position",))),
                temporal_kernel=int(config.get("temporal_kernel", 0)),
                temporal_block=config.get("temporal_block") or "depthwise")
    if features is not None and tuple(features) != arch["features"]:
        raise PretrainedMismatchError(f"{source} was pre-trained on input features {list(arch['features'])}, "
                                      f"but {list(features)} was asked for (set features to match, or leave it unset)")
    if layout is not None and state.get("layout") is not None:
        theirs, ours = _layout_dict(state["layout"]), _layout_dict(layout)
        if _graph(theirs) != _graph(ours):
            raise PretrainedMismatchError(
                f"{source} was pre-trained on layout {theirs.get('name')!r} ({len(theirs.get('joints', []))} joints), "
                f"but the data uses {ours.get('name')!r} ({len(ours.get('joints', []))} joints)")
    if in_channels is not None and in_channels != arch["in_channels"]:
        raise PretrainedMismatchError(f"{source} was pre-trained on {arch['in_channels']} input channels, "
                                      f"but the data has {in_channels}")
    asked = dict(hidden_channels=hidden_channels, enc_layers=enc_layers, conv=conv, temporal_kernel=temporal_kernel,
                 temporal_block=temporal_block)
    for key, value in asked.items():  # every encoder setting: one sentence, naming the key to set
        if value is not None and value != arch[key]:
            raise PretrainedMismatchError(f"{source} has {key}={arch[key]!r}, but {value!r} was asked for "
                                          f"(set {key} to match, or leave it unset)")
    return arch


def checkpoint_trunk(state: dict[str, Any]) -> dict[str, Any] | None:
    r"""The STRL trunk a pre-training run with ``scope = "strl"`` trained, as the keyword
    arguments that build it (``strl_layers``, ``temporal``, ``max_frames`` = the run's
    ``num_frames``); ``None`` for a run that trained the encoder alone (the paper's, and every
    checkpoint from before the option)."""
    config = state.get("config", {}) or {}
    if config.get("scope", "encoder") != "strl":
        return None
    return {"strl_layers": int(config.get("strl_layers", 3)), "temporal": config.get("temporal", "per-layer"),
            "max_frames": int(config.get("num_frames", 64))}


def load_encoder_weights(model: Module, state: dict[str, Any]) -> LoadReport:
    r"""Copies ``G_E`` (``embed.*``, ``encoder.*``, ``encoder_act.*``, ``encoder_temporal.*``) and,
    when the checkpoint has them (``scope = "strl"``), the trunk's tensors (:data:`TRUNK_PREFIXES`)
    from a pre-training state dict into ``model`` (same names). Returns and logs the
    :class:`LoadReport`; a tensor of another shape raises :class:`PretrainedMismatchError`."""
    source = state.get("path", "checkpoint")
    weights: dict[str, Tensor] = state["model"]
    own = model.state_dict()
    candidates = {k: v for k, v in weights.items() if k.startswith(ENCODER_PREFIXES + TRUNK_PREFIXES) and k in own}
    for key, value in candidates.items():
        if value.shape != own[key].shape:
            raise PretrainedMismatchError(f"{source}: {key} has shape {list(value.shape)}, the model expects "
                                          f"{list(own[key].shape)}")
    model.load_state_dict(candidates, strict=False)
    report = LoadReport(loaded=sorted(candidates), missing=sorted(set(own) - set(candidates)),
                        unexpected=sorted(set(weights) - set(candidates)), source=str(source))
    log.info("%s", report)
    return report
