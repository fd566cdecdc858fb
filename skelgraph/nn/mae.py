r"""SkeletonMAE (Yan et al., ICCV 2023, arXiv:2307.08476): a GraphMAE-style masked graph
autoencoder over skeleton tracks.

Shapes: N nodes (a node is one person's joint), T frames, C coordinate channels, D hidden
channels, E bones (both directions). ``keep_mask`` is bool ``[N]`` (the same joints hidden in
every frame) or ``[N, T]`` (per frame); True = the encoder sees it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module, ModuleList, Parameter, Sequential
from torch_geometric.data import Data
from torch_geometric.nn.inits import reset
from torch_geometric.nn import global_mean_pool

from skelgraph.nn.activation import FastPReLU as PReLU  # torch's PReLU, same weights, faster backward
from skelgraph.nn.conv import make_conv
from skelgraph.nn.encoder import EncoderMixin, graph_centers, graph_parents
from skelgraph.nn.linear import FastLinear as Linear  # torch's Linear, same weights, faster CPU products
from skelgraph.nn.features import check_features, frame_present, hide_bones_of_hidden_parents, skeleton_features
from skelgraph.nn.losses import RECONSTRUCTION_LOSSES, edge_reconstruction_loss, info_nce_loss, reconstruction_loss
from skelgraph.nn.strl import TEMPORAL_MODES, STRLTrunkMixin

SCOPES = ("encoder", "strl")  # what pre-training trains: G_E alone (the paper's), or the STRL trunk around it


class SkeletonMAE(STRLTrunkMixin, EncoderMixin, Module):
    r"""Masked graph autoencoder that rebuilds hidden joints (and, optionally, their bones).

    Pipeline of :meth:`forward` (shapes for ``x`` ``[N, T, C]``):

    1. input features (:func:`~skelgraph.nn.features.skeleton_features`; the paper's is
       ``("position",)``: the coordinates) ``[N, T, C_f]``, then the joint embedding
       ``Linear(C_f, D)`` -> ``[N, T, D]``;
    2. hidden entries (``keep_mask`` False) replaced by the learnable ``[MASK]`` token ``[D]``;
    3. encoder: ``enc_layers`` convs ``D -> D``, each followed by PReLU (as GraphMAE's encoder)
       and, with ``temporal_kernel > 0``, a depthwise temporal convolution
       (:class:`~skelgraph.nn.temporal.TemporalMixing`; the paper's encoder is frame-wise:
       weights shared over frames by construction, ``node_dim=0``);
    4. ``encoder_to_decoder``: ``Linear(D, D, bias=False)``; re-mask: hidden entries set to 0;
    5. decoder: ``dec_layers`` convs ``D -> D`` (PReLU between them) giving the decoder embedding
       ``[N, T, D]``, then ``head``: ``Linear(D, C_t)`` -> ``x_hat`` ``[N, T, C_t]``, the
       ``targets`` features (``C_t = C * len(targets)``). For GIN this is the paper's one-layer
       decoder ending in ``C_t`` channels: the head's ``Linear`` composes with the last GIN MLP's
       final ``Linear`` (no activation between them), so it only re-parameterises the output
       layer, while keeping the MLP's hidden width D;
    6. joint loss: the ``loss`` (:func:`~skelgraph.nn.losses.reconstruction_loss`) of each
       target feature over hidden ``(node, frame)`` entries of present persons, averaged over
       the target features;
    7. edge loss (``edge_weight > 0``): logits of node pairs from the decoder embedding,
       ``mean_t edge_mlp(h_i^t * h_j^t)`` (symmetric in ``i, j``). Positives are
       ``data.masked_edge_index`` or, when absent, the bones in ``edge_index`` touching a node
       hidden in any frame; every positive gets a negative that shares its hidden end and pairs
       it with a random node of the same graph that is not its bone neighbour
       (:func:`hidden_end_negatives`). Negatives thus touch hidden joints exactly as positives
       do, so "touches a [MASK] token" tells them apart no better than chance and the head has
       to use what the embeddings contain. Binary cross-entropy.

    The convs run on ``data.edge_index``: every bone, hidden joints' included, unless a
    transform moved some to ``masked_edge_index`` (then only the rest). Hidden joints are
    rebuilt from their visible neighbours; a hidden joint whose bones were all removed has
    nothing but its [MASK] token to go on, so for skeletons mask nodes, not their bones
    (:func:`~skelgraph.train.pretrain.build_mask` does).

    8. contrastive loss (``contrastive_weight > 0``, beyond the paper): the encoder output of
       the masked input and of ``other_view`` (the same samples, augmented differently, nothing
       masked) are mean-pooled per graph over frames and nodes (the features k-NN and the
       linear probe read), passed through ``projector`` (an MLP, dropped after pre-training)
       and matched by :func:`~skelgraph.nn.losses.info_nce_loss`: each sample's two views
       must be more alike than views of other samples in the batch. Reconstruction alone
       shapes per-joint features; this shapes the pooled, per-sequence feature.

    ``loss = joint_loss + edge_weight * edge_loss + contrastive_weight * contrastive_loss``.

    ``scope="strl"`` (beyond the paper) pre-trains the whole STRL network of fine-tuning
    without its head (:class:`~skelgraph.nn.strl.STRLTrunkMixin`: position embedding, STRL layers
    around ``G_E``, multi-scale temporal convolutions) in place of step 3: the masked embedding
    runs through the trunk, and the decoder rebuilds the hidden joints from the trunk's output.
    The paper's fine-tuning starts its temporal network from random weights, so pre-training
    can only give it static pose; with ``"strl"``, fine-tuning and frozen features start from a
    pre-trained temporal network (:meth:`represent` is then the trunk's output).

    Args:
        in_channels (int): ``C`` (2 for 2D keypoints, 3 for 3D).
        hidden_channels (int): ``D``. (default: ``64``)
        enc_layers (int): Encoder convs. (default: ``3``)
        dec_layers (int): Decoder convs. (default: ``1``)
        conv (str): ``"gin"``, ``"gcn"``, ``"gat"`` or ``"stgcn"`` (see
            :func:`~skelgraph.nn.conv.make_conv`). (default: ``"gin"``)
        edge_weight (float): Weight of the edge reconstruction loss; ``0`` turns it off (and
            builds no edge head). (default: ``0.0``)
        beta (float): Exponent of the scaled cosine error. (default: ``2.0``)
        neg_ratio (float): Negative pairs per positive for the edge loss. (default: ``1.0``)
        fused (bool): Convs use their fused sparse product. (default: ``True``)
        features (Sequence[str]): Input features (:data:`~skelgraph.nn.features.FEATURES`); with
            ``"bone"``, the bone of a joint whose parent is hidden is zeroed in the masked input
            (it would give the parent away). (default: ``("position",)``, the paper's)
        targets (Sequence[str]): Features rebuilt at hidden joints: ``"position"`` (the
            paper's), ``"motion"`` (frame-to-frame displacement, as masked motion prediction),
            or both. (default: ``("position",)``)
        loss (str): ``"sce"`` (the paper's), ``"mse"`` or ``"l1"``
            (:mod:`skelgraph.nn.losses`). (default: ``"sce"``)
        temporal_kernel (int): Kernel of the encoder's temporal convolutions; ``0`` = none (the
            paper's frame-wise encoder). (default: ``0``)
        temporal_block (str): ``"depthwise"``, ``"full"`` or ``"bottleneck"``
            (:func:`~skelgraph.nn.encoder.make_temporal`). (default: ``"depthwise"``)
        contrastive_weight (float): Weight of the contrastive loss; ``0`` turns it off (and
            builds no projector). (default: ``0.0``)
        temperature (float): Temperature of the contrastive loss. (default: ``0.1``)
        scope (str): ``"encoder"`` (``G_E`` alone, the paper's) or ``"strl"`` (the STRL trunk
            around it). (default: ``"encoder"``)
        strl_layers (int): ``M`` of the trunk (``scope="strl"``). (default: ``3``)
        max_frames (int): Rows of the trunk's position embedding (``scope="strl"``; ``T`` must not
            exceed it). (default: ``64``)
        temporal (str): Where the trunk's multi-scale temporal convolutions sit, ``"per-layer"`` or
            ``"head"`` (``scope="strl"``). (default: ``"per-layer"``)
        **conv_kwargs: Passed to every conv (e.g. ``heads`` for GAT).

    Shapes:
        - input: a ``Data``/``Batch`` with ``x`` ``[N, T, C]``, ``edge_index`` ``[2, E]``,
          ``keep_mask`` ``[N]`` or ``[N, T]`` (forward only), optional ``masked_edge_index``
          ``[2, E_m]``, ``hop`` ``[N]`` (needed by ``"stgcn"`` and the trajectory feature),
          ``joint`` ``[N]`` (the trajectory feature), ``batch`` ``[N]``
        - output: :meth:`forward` -> dict of ``loss``, ``joint_loss``, ``edge_loss``,
          ``contrastive_loss`` (scalars) and ``x_hat`` ``[N, T, C_t]``; :meth:`encode` ->
          ``[N, T, D]``
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, enc_layers: int = 3, dec_layers: int = 1,
                 conv: str = "gin", edge_weight: float = 0.0, beta: float = 2.0, neg_ratio: float = 1.0,
                 fused: bool = True, features: Sequence[str] = ("position",),
                 targets: Sequence[str] = ("position",), loss: str = "sce", temporal_kernel: int = 0,
                 contrastive_weight: float = 0.0, temperature: float = 0.1, temporal_block: str = "depthwise",
                 scope: str = "encoder", strl_layers: int = 3, max_frames: int = 64, temporal: str = "per-layer",
                 **conv_kwargs: Any) -> None:
        super().__init__()
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        if temporal not in TEMPORAL_MODES:
            raise ValueError(f"temporal must be 'head' or 'per-layer', got {temporal!r}")
        if dec_layers < 1:
            raise ValueError(f"need at least one decoder layer, got {dec_layers}")
        if edge_weight < 0 or contrastive_weight < 0:
            raise ValueError(f"loss weights must be >= 0, got edge {edge_weight}, contrastive {contrastive_weight}")
        if loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(RECONSTRUCTION_LOSSES)}, got {loss!r}")
        self.target_names = check_features(targets, "targets")
        if not set(self.target_names) <= {"position", "motion"}:
            raise ValueError(f"targets can be position and motion, got {list(self.target_names)}")
        self._build_encoder(in_channels, hidden_channels, enc_layers, conv, features, temporal_kernel,
                            temporal_block, fused=fused, **conv_kwargs)
        d = hidden_channels
        self.edge_weight, self.beta, self.neg_ratio, self.loss = edge_weight, beta, neg_ratio, loss
        self.mask_token = Parameter(torch.empty(d))
        self.encoder_to_decoder = Linear(d, d, bias=False)
        self.decoder = ModuleList(make_conv(conv, d, d, fused=fused, **conv_kwargs) for _ in range(dec_layers))
        self.decoder_act = ModuleList(PReLU() for _ in range(dec_layers - 1))
        self.head = Linear(d, in_channels * len(self.target_names))
        self.edge_mlp = Sequential(Linear(d, d), PReLU(), Linear(d, 1)) if edge_weight > 0 else None
        self.contrastive_weight, self.temperature = contrastive_weight, temperature
        self.projector = Sequential(Linear(d, d), PReLU(), Linear(d, d)) if contrastive_weight > 0 else None
        self.scope = scope
        if scope == "strl":
            self._build_trunk(strl_layers, max_frames, temporal)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.embed, self.encoder, self.encoder_act, self.encoder_temporal, self.encoder_to_decoder,
                       self.decoder, self.decoder_act, self.head, self.edge_mlp, self.projector):
            if module is not None:
                reset(module)
        torch.nn.init.normal_(self.mask_token, std=0.02)
        if self.scope == "strl":  # after the rest, so the encoder scope draws the same weights as before
            self._reset_trunk()

    def represent(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""The representation pre-training shapes, of the unmasked input, ``[N, T, D]``: ``G_E``'s
        output (:meth:`encode`; ``scope="encoder"``) or the STRL trunk's (:meth:`encode_strl`)."""
        return self.encode(data, adj) if self.scope == "encoder" else self.encode_strl(data, adj)

    # -- the stages, exposed so they can be tested and reused ---------------------------------

    @staticmethod
    def _keep(keep_mask: Tensor, x: Tensor) -> Tensor:
        r"""``keep_mask`` ``[N]`` or ``[N, T]`` as bool ``[N, T, 1]`` (broadcast over channels)."""
        if keep_mask.dtype != torch.bool:
            raise TypeError(f"keep_mask must be bool (True = seen by the encoder), got {keep_mask.dtype}")
        if keep_mask.shape not in (x.shape[:1], x.shape[:2]):
            raise ValueError(f"keep_mask must be [N] or [N, T] = {list(x.shape[:2])}, got {list(keep_mask.shape)}")
        return keep_mask.view(x.size(0), -1, 1)

    def embed_masked(self, x: Tensor, keep_mask: Tensor) -> Tensor:
        r"""Joint embedding ``[N, T, D]`` of input features ``x`` ``[N, T, C_f]`` with hidden
        entries replaced by the [MASK] token."""
        h = self.embed(x)
        return torch.where(self._keep(keep_mask, x), h, self.mask_token.to(h.dtype))

    def remask(self, h: Tensor, keep_mask: Tensor) -> Tensor:
        r"""Encoder output ``[N, T, D]`` -> decoder input: ``encoder_to_decoder``, then hidden
        entries set to zero."""
        z = self.encoder_to_decoder(h)
        return z.masked_fill(~self._keep(keep_mask, z), 0.0)

    def run_decoder(self, z: Tensor, edge_index: Tensor, hop: Tensor | None = None,
                    adj: Tensor | None = None) -> tuple[Tensor, Tensor]:
        r"""Decoder input ``[N, T, D]`` -> ``(decoder embedding [N, T, D], x_hat [N, T, C_t])``;
        ``adj``: the dense reference path, as in :meth:`run_encoder`."""
        for i, conv in enumerate(self.decoder):
            z = conv(z, edge_index, hop) if adj is None else conv.dense_forward(z, adj, hop)
            if i < len(self.decoder_act):
                z = self.decoder_act[i](z)
        return z, self.head(z)

    def joint_loss(self, target: Tensor, x_hat: Tensor, select: Tensor) -> Tensor:
        r"""Mean over the target features of :func:`reconstruction_loss` on the ``select``-ed
        entries; ``target`` and ``x_hat`` ``[N, T, C_t]``, ``select`` bool ``[N, T]``."""
        c = self.in_channels
        terms = [reconstruction_loss(target[..., i * c:(i + 1) * c], x_hat[..., i * c:(i + 1) * c], select,
                                     self.loss, self.beta) for i in range(len(self.target_names))]
        return torch.stack(terms).mean()

    def edge_logits(self, h: Tensor, pairs: Tensor) -> Tensor:
        r"""Logits ``[P]`` of node pairs ``[2, P]`` from embeddings ``h`` ``[N, T, D]``:
        ``mean_t edge_mlp(h_i^t * h_j^t)``."""
        if self.edge_mlp is None:
            raise RuntimeError("the edge head exists only with edge_weight > 0")
        return self.edge_mlp(h[pairs[0]] * h[pairs[1]]).mean(dim=1).squeeze(-1)

    def edge_pairs(self, data: Data, keep_mask: Tensor) -> tuple[Tensor, Tensor]:
        r"""``(positives [2, P], negatives [2, Q])`` for the edge loss (see the class docs);
        each pair's first node is its hidden end."""
        edge_index = data.edge_index
        hidden = ~keep_mask.view(keep_mask.size(0), -1).all(dim=1)  # hidden in any frame
        masked = getattr(data, "masked_edge_index", None)
        if masked is not None:
            pos, bones = masked, torch.cat([edge_index, masked], dim=1)
        else:
            pos, bones = edge_index[:, hidden[edge_index[0]] | hidden[edge_index[1]]], edge_index
        pos = torch.where(hidden[pos[0]], pos, pos.flip(0))  # hidden end first
        if pos.size(1) == 0:
            return pos, pos
        anchors = pos[0].repeat(max(1, -(-round(self.neg_ratio * pos.size(1)) // pos.size(1))))
        anchors = anchors[:round(self.neg_ratio * pos.size(1))]
        return pos, hidden_end_negatives(anchors, bones, getattr(data, "batch", None), data.num_nodes)

    # -- public entry points ------------------------------------------------------------------

    def pooled(self, h: Tensor, data: Data) -> Tensor:
        r"""Encoder output ``[N, T, D]`` averaged over frames and nodes of each graph: ``[B, D]``."""
        return global_mean_pool(h.mean(dim=1), getattr(data, "batch", None), getattr(data, "num_graphs", 1))

    def forward(self, data: Data, adj: Tensor | None = None, other_view: Data | None = None) -> dict[str, Tensor]:
        r"""Masked reconstruction of one batch.

        Args:
            data: See the class docs; ``keep_mask`` is required.
            adj: A float ``[V, V]`` adjacency (:func:`~skelgraph.nn.conv.dense_adjacency`): every
                conv runs its dense reference path (``dense_forward``) on it instead of
                ``data.edge_index`` (which the edge loss still reads).
            other_view: The same graphs, augmented otherwise and unmasked (needed with
                ``contrastive_weight > 0`` in training; in eval mode, without it the contrastive
                loss is 0).

        Returns:
            ``{"loss", "joint_loss", "edge_loss", "contrastive_loss"}`` scalars and ``"x_hat"``
            ``[N, T, C_t]``.
        """
        x, keep_mask = data.x, getattr(data, "keep_mask", None)
        if keep_mask is None:
            raise ValueError("SkeletonMAE.forward needs data.keep_mask (apply a masking transform first)")
        hop = getattr(data, "hop", None)
        centers = graph_centers(data, self.feature_names + self.target_names)
        parents = graph_parents(data, self.feature_names)
        inputs = skeleton_features(x, self.feature_names, centers, parents)
        if parents is not None:
            inputs = hide_bones_of_hidden_parents(inputs, self.feature_names, keep_mask, parents)
        h = self.embed_masked(inputs, keep_mask)
        h = self.run_encoder(h, data.edge_index, hop, adj) if self.scope == "encoder" else self.run_trunk(h, data, adj)
        h_dec, x_hat = self.run_decoder(self.remask(h, keep_mask), data.edge_index, hop, adj)
        present = frame_present(x, centers) if centers is not None else (x != 0).any(dim=-1)
        hidden = ~keep_mask.view(keep_mask.size(0), -1).expand(x.shape[:2])
        joint_loss = self.joint_loss(skeleton_features(x, self.target_names, centers), x_hat, hidden & present)
        edge_loss = joint_loss.new_zeros(())
        if self.edge_weight > 0:
            pos, neg = self.edge_pairs(data, keep_mask)
            if pos.numel():
                edge_loss = edge_reconstruction_loss(self.edge_logits(h_dec, pos), self.edge_logits(h_dec, neg))
        contrastive_loss = joint_loss.new_zeros(())
        if self.projector is not None and (other_view is not None or self.training):
            if other_view is None:
                raise ValueError("contrastive_weight > 0: forward needs other_view (the batch augmented otherwise)")
            h_other = self.represent(other_view, adj)
            contrastive_loss = info_nce_loss(self.projector(self.pooled(h, data)),
                                             self.projector(self.pooled(h_other, other_view)), self.temperature)
        loss = joint_loss + self.edge_weight * edge_loss + self.contrastive_weight * contrastive_loss
        return {"loss": loss, "joint_loss": joint_loss, "edge_loss": edge_loss, "contrastive_loss": contrastive_loss,
                "x_hat": x_hat}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.hidden_channels}, conv={self.conv_name!r}, "
                f"enc_layers={len(self.encoder)}, dec_layers={len(self.decoder)}, edge_weight={self.edge_weight}, "
                f"features={list(self.feature_names)}, targets={list(self.target_names)}, loss={self.loss!r}, "
                f"temporal_kernel={self.temporal_kernel}, contrastive_weight={self.contrastive_weight}, "
                f"scope={self.scope!r})")


def hidden_end_negatives(anchors: Tensor, bones: Tensor, batch: Tensor | None, num_nodes: int,
                         rounds: int = 8) -> Tensor:
    r"""Negative pairs ``[2, Q]`` for edge reconstruction, drawn on the device in a fixed number
    of vectorised rounds for all graphs at once (no per-graph loop): each anchor node is paired
    with a node drawn uniformly from its own graph that is neither itself nor one of its bone
    neighbours. A rejected draw is drawn again in the next round; an anchor still without a
    partner after ``rounds`` rounds is dropped (with 20 joints and 2-3 bones each, a draw is
    rejected with probability ~0.2, so about 3 anchors in a million), so ``Q <= len(anchors)``.
    No pair in ``bones`` is ever returned, and the pairs are uniform over the allowed partners.

    Args:
        anchors: Node ids ``[Q]`` (the hidden ends of the positives).
        bones: Every bone ``[2, E]`` (both directions), hidden ones included.
        batch: Graph id of every node ``[N]`` (``None``: one graph).
        num_nodes: ``N``.

    Example:
        >>> bones = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # a path 0 - 1 - 2
        >>> _ = torch.manual_seed(0)  # node 0's only allowed partner is 2; 64 rounds all but ensure a draw
        >>> hidden_end_negatives(torch.tensor([0, 0]), bones, None, 3, rounds=64).tolist()
        [[0, 0], [2, 2]]
    """
    device = anchors.device
    if batch is None:
        start = torch.zeros_like(anchors)
        size = torch.full_like(anchors, num_nodes)
    else:
        counts = torch.bincount(batch)  # [num_graphs]: batch ids are 0..num_graphs-1
        first = counts.cumsum(0) - counts
        graph = batch[anchors]
        start, size = first[graph], counts[graph]
    forbidden = torch.cat([bones[0] * num_nodes + bones[1], torch.arange(num_nodes, device=device) * (num_nodes + 1)])
    partner = torch.empty_like(anchors)
    todo = torch.ones_like(anchors, dtype=torch.bool)
    for _ in range(rounds):
        draw = start + (torch.rand(anchors.shape, device=device) * size).long().clamp_max(size - 1)
        partner = torch.where(todo, draw, partner)
        todo = torch.isin(anchors * num_nodes + partner, forbidden)
    ok = ~todo
    return torch.stack([anchors[ok], partner[ok]])
