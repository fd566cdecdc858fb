r"""Reconstruction losses of SkeletonMAE.

Three ways to score a reconstruction ``x_hat`` of targets ``x`` (both ``[..., C]``, one row per
hidden entry), chosen by name (:data:`RECONSTRUCTION_LOSSES`):

- ``"sce"``: the scaled cosine error of GraphMAE and SkeletonMAE (the paper's). It sees only
  the direction of each row: ``sce(x, 3 x) = 0``, so on centred coordinates it learns the
  direction of each hidden joint from the centre, not its distance;
- ``"mse"``: squared error relative to the targets' mean square,
  ``mean((x_hat - x)^2) / mean(x^2)`` (1 for predicting zeros), so targets of different scale
  (positions in metres, displacements of a few millimetres per frame) weigh alike;
- ``"l1"``: ``mean(|x_hat - x|) / mean(|x|)``, the same with absolute errors.

The normalisers are computed over the rows given and carry no gradient.
"""
from __future__ import annotations

from typing import Literal

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


RECONSTRUCTION_LOSSES = ("sce", "mse", "l1")
EPS = 1e-12


def normalized_mse_loss(x: Tensor, x_hat: Tensor) -> Tensor:
    r"""``mean((x_hat - x)^2) / mean(x^2)`` over all entries (the normaliser carries no gradient);
    ``0`` (still attached to ``x_hat``) when there is no entry.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # mean square 1.25
        >>> normalized_mse_loss(x, torch.zeros_like(x)).item(), normalized_mse_loss(x, 3 * x).item()
        (1.0, 4.0)
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"normalized_mse_loss: shapes differ, {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    if x.numel() == 0:
        return x_hat.sum() * 0.0
    return (x_hat - x).pow(2).mean() / x.detach().pow(2).mean().clamp_min(EPS)


def normalized_l1_loss(x: Tensor, x_hat: Tensor) -> Tensor:
    r"""``mean(|x_hat - x|) / mean(|x|)`` over all entries (the normaliser carries no gradient).

    Example:
        >>> x = torch.tensor([[1.0, -1.0], [0.0, 2.0]])  # mean |x| = 1
        >>> normalized_l1_loss(x, x + 0.5).item()
        0.5
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"normalized_l1_loss: shapes differ, {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    if x.numel() == 0:
        return x_hat.sum() * 0.0
    return (x_hat - x).abs().mean() / x.detach().abs().mean().clamp_min(EPS)


def reconstruction_loss(x: Tensor, x_hat: Tensor, select: Tensor, loss: Literal["sce", "mse", "l1"] = "sce",
                        beta: float = 2.0) -> Tensor:
    r"""One reconstruction loss over the selected entries of ``[N, T, C]`` tensors.

    Args:
        x: Targets ``[N, T, C]``.
        x_hat: Reconstructions ``[N, T, C]``.
        select: bool ``[N, T]``: the entries that count (hidden and present). ``"sce"`` further
            skips all-zero targets (a zero vector has no direction).
        loss: ``"sce"``, ``"mse"`` or ``"l1"`` (see the module docs).
        beta: Exponent of ``"sce"``.

    Example:
        >>> x = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]]])
        >>> select = torch.tensor([[True], [True]])
        >>> reconstruction_loss(x, torch.zeros_like(x), select, "mse").item()  # mean square 0.25
        1.0
    """
    if loss == "sce":
        select = select & (x != 0).any(dim=-1)
        return sce_loss(x[select], x_hat[select], beta)
    if loss == "mse":
        return normalized_mse_loss(x[select], x_hat[select])
    if loss == "l1":
        return normalized_l1_loss(x[select], x_hat[select])
    raise ValueError(f"unknown reconstruction loss {loss!r}; choose one of {', '.join(RECONSTRUCTION_LOSSES)}")


def info_nce_loss(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    r"""Symmetric InfoNCE (NT-Xent) between two views of the same ``B`` samples: row ``i`` of
    ``z1`` ``[B, F]`` should be most similar (cosine / ``temperature``) to row ``i`` of ``z2``
    among all ``B`` rows, and the other way round; mean of the two cross-entropies.
    ``0`` (still attached) for ``B < 2``, where there is nothing to tell apart.

    Example:
        >>> z = torch.eye(3)
        >>> round(info_nce_loss(z, z, temperature=0.01).item(), 6)  # each row matches only itself
        0.0
    """
    if z1.shape != z2.shape:
        raise ValueError(f"info_nce_loss: shapes differ, {tuple(z1.shape)} vs {tuple(z2.shape)}")
    if z1.size(0) < 2:
        return (z1.sum() + z2.sum()) * 0.0
    logits = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).t() / temperature
    target = torch.arange(z1.size(0), device=z1.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


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
