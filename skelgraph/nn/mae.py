r"""SkeletonMAE (Yan et al., ICCV 2023, arXiv:2307.08476): a GraphMAE-style masked graph
autoencoder over skeleton tracks.

Shapes: N nodes (a node is one person's joint), T frames, C input channels, D hidden channels,
E bones (both directions). ``keep_mask`` is bool ``[N]`` (the same joints hidden in every frame)
or ``[N, T]`` (per frame); True = the encoder sees it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import Linear, Module, ModuleList, Parameter, PReLU, Sequential
from torch_geometric.data import Data
from torch_geometric.nn.inits import reset
from torch_geometric.utils import batched_negative_sampling, negative_sampling

from skelgraph.nn.conv import make_conv
from skelgraph.nn.losses import edge_reconstruction_loss, masked_sce_loss


class SkeletonMAE(Module):
    r"""Masked graph autoencoder that rebuilds hidden joints (and, optionally, hidden bones).

    Pipeline of :meth:`forward` (shapes for ``x`` ``[N, T, C]``):

    1. joint embedding: ``Linear(C, D)`` on every node and frame -> ``[N, T, D]``;
    2. hidden entries (``keep_mask`` False) replaced by the learnable ``[MASK]`` token ``[D]``;
    3. encoder: ``enc_layers`` convs ``D -> D``, each followed by PReLU (as GraphMAE's encoder);
       weights are shared over frames by construction (``node_dim=0``);
    4. ``encoder_to_decoder``: ``Linear(D, D, bias=False)``; re-mask: hidden entries set to 0;
    5. decoder: ``dec_layers`` convs ``D -> D`` (PReLU between them) giving the decoder embedding
       ``[N, T, D]``, then ``head``: ``Linear(D, C)`` -> ``x_hat`` ``[N, T, C]``. For GIN this is
       the paper's one-layer decoder ending in C channels: the head's ``Linear`` composes with
       the last GIN MLP's final ``Linear`` (no activation between them), so it only
       re-parameterises the ``D -> C`` output layer, while keeping the MLP's hidden width D;
    6. joint loss: :func:`~skelgraph.nn.losses.masked_sce_loss` over hidden ``(node, frame)``
       entries with a nonzero target;
    7. edge loss (``edge_weight > 0``): logits of node pairs from the decoder embedding,
       ``mean_t edge_mlp(h_i^t * h_j^t)`` (symmetric in ``i, j``); positives are
       ``data.masked_edge_index`` or, when absent, the bones in ``edge_index`` touching a node
       hidden in any frame; negatives are ``neg_ratio`` times as many non-bones sampled within
       each graph (:func:`~torch_geometric.utils.batched_negative_sampling`, bones of
       ``edge_index`` and ``masked_edge_index`` excluded); binary cross-entropy.

    ``loss = joint_loss + edge_weight * edge_loss``.

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
        **conv_kwargs: Passed to every conv (e.g. ``heads`` for GAT).

    Shapes:
        - input: a ``Data``/``Batch`` with ``x`` ``[N, T, C]``, ``edge_index`` ``[2, E]``,
          ``keep_mask`` ``[N]`` or ``[N, T]`` (forward only), optional ``masked_edge_index``
          ``[2, E_m]``, ``hop`` ``[N]`` (needed by ``"stgcn"``), ``batch`` ``[N]``
        - output: :meth:`forward` -> dict of ``loss``, ``joint_loss``, ``edge_loss`` (scalars)
          and ``x_hat`` ``[N, T, C]``; :meth:`encode` -> ``[N, T, D]``
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, enc_layers: int = 3, dec_layers: int = 1,
                 conv: str = "gin", edge_weight: float = 0.0, beta: float = 2.0, neg_ratio: float = 1.0,
                 fused: bool = True, **conv_kwargs: Any) -> None:
        super().__init__()
        if enc_layers < 1 or dec_layers < 1:
            raise ValueError(f"need at least one encoder and one decoder layer, got {enc_layers} and {dec_layers}")
        if edge_weight < 0:
            raise ValueError(f"edge_weight must be >= 0, got {edge_weight}")
        d = hidden_channels
        self.in_channels, self.hidden_channels, self.conv = in_channels, hidden_channels, conv
        self.edge_weight, self.beta, self.neg_ratio = edge_weight, beta, neg_ratio
        self.embed = Linear(in_channels, d)
        self.mask_token = Parameter(torch.empty(d))
        self.encoder = ModuleList(make_conv(conv, d, d, fused=fused, **conv_kwargs) for _ in range(enc_layers))
        self.encoder_act = ModuleList(PReLU() for _ in range(enc_layers))
        self.encoder_to_decoder = Linear(d, d, bias=False)
        self.decoder = ModuleList(make_conv(conv, d, d, fused=fused, **conv_kwargs) for _ in range(dec_layers))
        self.decoder_act = ModuleList(PReLU() for _ in range(dec_layers - 1))
        self.head = Linear(d, in_channels)
        self.edge_mlp = Sequential(Linear(d, d), PReLU(), Linear(d, 1)) if edge_weight > 0 else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.embed, self.encoder, self.encoder_act, self.encoder_to_decoder, self.decoder,
                       self.decoder_act, self.head, self.edge_mlp):
            if module is not None:
                reset(module)
        torch.nn.init.normal_(self.mask_token, std=0.02)

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
        r"""Joint embedding ``[N, T, D]`` with hidden entries replaced by the [MASK] token."""
        h = self.embed(x)
        return torch.where(self._keep(keep_mask, x), h, self.mask_token.to(h.dtype))

    def run_encoder(self, h: Tensor, edge_index: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""``[N, T, D] -> [N, T, D]`` through the encoder convs."""
        for conv, act in zip(self.encoder, self.encoder_act):
            h = act(conv(h, edge_index, hop))
        return h

    def remask(self, h: Tensor, keep_mask: Tensor) -> Tensor:
        r"""Encoder output ``[N, T, D]`` -> decoder input: ``encoder_to_decoder``, then hidden
        entries set to zero."""
        z = self.encoder_to_decoder(h)
        return z.masked_fill(~self._keep(keep_mask, z), 0.0)

    def run_decoder(self, z: Tensor, edge_index: Tensor, hop: Tensor | None = None) -> tuple[Tensor, Tensor]:
        r"""Decoder input ``[N, T, D]`` -> ``(decoder embedding [N, T, D], x_hat [N, T, C])``."""
        for i, conv in enumerate(self.decoder):
            z = conv(z, edge_index, hop)
            if i < len(self.decoder_act):
                z = self.decoder_act[i](z)
        return z, self.head(z)

    def edge_logits(self, h: Tensor, pairs: Tensor) -> Tensor:
        r"""Logits ``[P]`` of node pairs ``[2, P]`` from embeddings ``h`` ``[N, T, D]``:
        ``mean_t edge_mlp(h_i^t * h_j^t)``."""
        if self.edge_mlp is None:
            raise RuntimeError("the edge head exists only with edge_weight > 0")
        return self.edge_mlp(h[pairs[0]] * h[pairs[1]]).mean(dim=1).squeeze(-1)

    def edge_pairs(self, data: Data, keep_mask: Tensor) -> tuple[Tensor, Tensor]:
        r"""``(positives [2, P], negatives [2, Q])`` for the edge loss (see the class docs)."""
        edge_index = data.edge_index
        masked = getattr(data, "masked_edge_index", None)
        if masked is not None:
            pos, bones = masked, torch.cat([edge_index, masked], dim=1)
        else:
            hidden = ~keep_mask.view(keep_mask.size(0), -1).all(dim=1)  # hidden in any frame
            pos, bones = edge_index[:, hidden[edge_index[0]] | hidden[edge_index[1]]], edge_index
        if pos.size(1) == 0:
            return pos, pos
        batch = getattr(data, "batch", None)
        if batch is None:
            neg = negative_sampling(bones, data.num_nodes, num_neg_samples=round(self.neg_ratio * pos.size(1)))
        else:  # per graph; batched_negative_sampling wants the edges grouped by graph
            bones = bones[:, torch.argsort(batch[bones[0]], stable=True)]
            neg = batched_negative_sampling(bones, batch, num_neg_samples=self.neg_ratio * pos.size(1) / bones.size(1))
        return pos, neg

    # -- public entry points ------------------------------------------------------------------

    def forward(self, data: Data, adj: Tensor | None = None) -> dict[str, Tensor]:
        r"""Masked reconstruction of one batch.

        Args:
            data: See the class docs; ``keep_mask`` is required.
            adj: What the convs receive instead of ``data.edge_index`` (e.g. a dense ``[V, V]``
                adjacency for the dense reference path of :mod:`skelgraph.nn.conv`).

        Returns:
            ``{"loss", "joint_loss", "edge_loss"}`` scalars and ``"x_hat"`` ``[N, T, C]``.
        """
        x, keep_mask = data.x, getattr(data, "keep_mask", None)
        if keep_mask is None:
            raise ValueError("SkeletonMAE.forward needs data.keep_mask (apply a masking transform first)")
        graph, hop = data.edge_index if adj is None else adj, getattr(data, "hop", None)
        h = self.run_encoder(self.embed_masked(x, keep_mask), graph, hop)
        h_dec, x_hat = self.run_decoder(self.remask(h, keep_mask), graph, hop)
        joint_loss = masked_sce_loss(x, x_hat, keep_mask, self.beta)
        edge_loss = joint_loss.new_zeros(())
        if self.edge_weight > 0:
            pos, neg = self.edge_pairs(data, keep_mask)
            if pos.numel():
                edge_loss = edge_reconstruction_loss(self.edge_logits(h_dec, pos), self.edge_logits(h_dec, neg))
        return {"loss": joint_loss + self.edge_weight * edge_loss, "joint_loss": joint_loss,
                "edge_loss": edge_loss, "x_hat": x_hat}

    def encode(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""Encoder embeddings ``[N, T, D]`` of the unmasked input (for downstream use)."""
        graph = data.edge_index if adj is None else adj
        return self.run_encoder(self.embed(data.x), graph, getattr(data, "hop", None))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.hidden_channels}, conv={self.conv!r}, "
                f"enc_layers={len(self.encoder)}, dec_layers={len(self.decoder)}, edge_weight={self.edge_weight})")
