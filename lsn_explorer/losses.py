"""The Dice-L2 loss of the paper (Eq. 3), per slice.

    L(y, p) = 1 - 2 Σ y p / (Σ y² + Σ p²)

with sums over H and W of each slice, then the mean over the batch; ``p`` is
the sigmoid of the network's logits.  Since Σ(y - p)² = Σy² + Σp² - 2Σyp this
is the authors' Keras ``dsc_l2`` and MONAI's ``DiceLoss(sigmoid=True,
squared_pred=True)``; a smoothing term ``smooth`` is added to numerator and
denominator (MONAI's ``smooth_nr = smooth_dr = 1e-5``) so an empty slice with
an empty prediction costs 0.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import InputError

__all__ = ["dice_l2_loss", "DiceL2Loss"]


def dice_l2_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    sigmoid: bool = True,
    smooth: float = 1e-5,
    reduction: str = "mean",
) -> torch.Tensor:
    """Dice-L2 loss ``1 - (2Σyp + s) / (Σy² + Σp² + s)`` of each slice.

    Parameters
    ----------
    logits : (N, C, H, W) Tensor
        Network output; passed through a sigmoid unless ``sigmoid=False``.
    target : (N, C, H, W) Tensor
        Target mask in {0, 1} (soft targets in [0, 1] work too).
    sigmoid : bool, optional
        Apply a sigmoid to ``logits`` first. Default True.
    smooth : float, optional
        ``s`` above. Default 1e-5.
    reduction : {"mean", "sum", "none"}, optional
        Over the slices and channels; ``"none"`` returns ``(N, C)``. Default "mean".

    Returns
    -------
    () or (N, C) Tensor
        The loss, in float32 even under autocast.
    """
    if logits.shape != target.shape or logits.ndim < 3:
        raise InputError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} must have the same (N, C, H, W) shape")
    if reduction not in ("mean", "sum", "none"):
        raise InputError(f"reduction={reduction!r} is not one of 'mean', 'sum', 'none'")
    p = torch.sigmoid(logits.float()) if sigmoid else logits.float()
    y = target.float()
    axes = tuple(range(2, p.ndim))  # reduce spatial dimensions only (not batch nor channels)
    inter = (y * p).sum(axes)
    denom = (y * y).sum(axes) + (p * p).sum(axes)
    loss = 1.0 - (2.0 * inter + smooth) / (denom + smooth)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


class DiceL2Loss(nn.Module):
    """Module form of :func:`dice_l2_loss` (same keyword options)."""

    def __init__(self, *, sigmoid: bool = True, smooth: float = 1e-5, reduction: str = "mean"):
        super().__init__()
        self.sigmoid, self.smooth, self.reduction = sigmoid, smooth, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return dice_l2_loss(logits, target, sigmoid=self.sigmoid, smooth=self.smooth, reduction=self.reduction)
