r"""Reconstruction losses of SkeletonMAE."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def sce_loss(x: Tensor, x_hat: Tensor, beta: float = 2.0) -> Tensor:
    r"""Scaled cosine error (GraphMAE, arXiv:2205.10803):
    ``mean((1 - cos(x, x_hat)) ** beta)``, the cosine taken over the last (channel) axis and
    the mean over every other entry. Pass only the entries that count (the hidden joints):
    ``sce_loss(x[hidden], x_hat[hidden])``.

    Args:
        x: Targets ``[..., C]``.
        x_hat: Reconstructions ``[..., C]``.
        beta: Exponent :math:`\beta \ge 1`; larger values down-weight easy entries.

    Returns:
        Scalar; ``0`` for a perfect (or positively scaled) reconstruction, and ``0`` (still
        attached to ``x_hat``) when there is no entry.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> sce_loss(x, 3 * x).item(), sce_loss(x, -x).item()
        (0.0, 4.0)
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"sce_loss: shapes differ, {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    if x.numel() == 0:
        return x_hat.sum() * 0.0
    cos = (F.normalize(x, dim=-1) * F.normalize(x_hat, dim=-1)).sum(-1)
    return (1.0 - cos).clamp(min=0.0).pow(beta).mean()


def edge_reconstruction_loss(pos_logit: Tensor, neg_logit: Tensor) -> Tensor:
    r"""Binary cross-entropy on edge logits: positives (masked bones) labelled 1, negatives
    (sampled non-bones) labelled 0, averaged over all ``P + Q`` pairs.

    Args:
        pos_logit: ``[P]`` logits of true (hidden) bones.
        neg_logit: ``[Q]`` logits of sampled non-edges.

    Example:
        >>> round(edge_reconstruction_loss(torch.zeros(2), torch.zeros(3)).item(), 4)  # log 2
        0.6931
    """
    logit = torch.cat([pos_logit, neg_logit])
    if logit.numel() == 0:
        return logit.sum()
    target = torch.cat([torch.ones_like(pos_logit), torch.zeros_like(neg_logit)])
    return F.binary_cross_entropy_with_logits(logit, target)


def masked_sce_loss(x: Tensor, x_hat: Tensor, keep_mask: Tensor, beta: float = 2.0) -> Tensor:
    r""":func:`sce_loss` over the hidden entries only: the ``(node, frame)`` pairs where
    ``keep_mask`` is False and the target is not all zero (an absent person or a padded frame
    has zero coordinates, whose direction cannot be rebuilt).

    Args:
        x: Targets ``[N, T, C]``.
        x_hat: Reconstructions ``[N, T, C]``.
        keep_mask: bool ``[N]`` (per joint) or ``[N, T]`` (per frame); True = seen by the encoder.
        beta: See :func:`sce_loss`.
    """
    hidden = ~keep_mask.view(keep_mask.size(0), -1).expand(x.shape[:2])  # [N, T]
    select = hidden & (x != 0).any(dim=-1)
    return sce_loss(x[select], x_hat[select], beta)
