"""Hard Dice scores: per slice (at a probability threshold) and per volume.

Dice(A, B) = 2|A ∩ B| / (|A| + |B|), with Dice = 1 when both sets are empty.
The paper's Table 2 reports Dice per volume (all slices of a volume pooled),
which is what :func:`volume_dice` computes; the authors' Keras logs report the
mean of per-slice Dice, which :func:`hard_dice` computes.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import InputError

__all__ = ["hard_dice", "mask_dice", "volume_dice", "mean_volume_dice", "dice_score", "dice_from_counts"]


def dice_from_counts(intersection, total):
    """``2 |P ∩ T| / (|P| + |T|)`` from the counts, 1 where both masks are empty.

    Parameters
    ----------
    intersection, total : number, ndarray or Tensor
        ``|P ∩ T|`` and ``|P| + |T|``, of the same shape.

    Returns
    -------
    float, ndarray or Tensor
        The Dice of each entry: a float for numbers, otherwise the inputs' kind and shape.
    """
    if isinstance(total, torch.Tensor):
        return torch.where(total > 0, 2.0 * intersection / total.clamp_min(1.0), torch.ones_like(total))
    dice = np.where(np.asarray(total) > 0, 2.0 * np.asarray(intersection, float) / np.maximum(total, 1), 1.0)
    return float(dice) if dice.ndim == 0 else dice


def dice_score(pred, target) -> float:
    """Dice of two boolean arrays (any shape); 1.0 when both are empty."""
    pred = np.asarray(pred, dtype=bool)
    target = np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise InputError(f"pred {pred.shape} and target {target.shape} must have the same shape")
    return dice_from_counts(int(np.logical_and(pred, target).sum()), int(pred.sum() + target.sum()))


def hard_dice(logits: torch.Tensor, target: torch.Tensor, *, threshold: float = 0.5, reduction: str = "mean") -> torch.Tensor:
    """Dice of ``sigmoid(logits) >= threshold`` against ``target > 0.5``, per slice.

    Parameters
    ----------
    logits : (N, C, H, W) Tensor
        Network output (logits; the threshold applies to their sigmoid).
    target : (N, C, H, W) Tensor
        Target mask in {0, 1}.
    threshold : float, optional
        Probability threshold. Default 0.5 (logit 0).
    reduction : {"mean", "none"}, optional
        As :func:`mask_dice`, which scores the thresholded logits.

    Returns
    -------
    () or (N, C) Tensor
        As :func:`mask_dice`.
    """
    if logits.shape != target.shape:
        raise InputError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} must have the same shape")
    if not 0.0 < threshold < 1.0:
        raise InputError(f"threshold={threshold!r} must be in (0, 1)")
    logit_t = float(np.log(threshold / (1.0 - threshold)))
    return mask_dice(logits.float() >= logit_t, target, reduction=reduction)


def mask_dice(pred: torch.Tensor, target: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    """Dice of a segmentation ``pred`` (bool) against ``target > 0.5``, per slice.

    Parameters
    ----------
    pred : (N, C, H, W) bool Tensor
        The segmentation (e.g. ``u > 0`` of a level set).
    target : (N, C, H, W) Tensor
        Target mask in {0, 1}.
    reduction : {"mean", "none"}, optional
        ``"none"`` returns the ``(N, C)`` per-slice scores. Default "mean".

    Returns
    -------
    () or (N, C) Tensor
        Dice in [0, 1]; a slice where both masks are empty scores 1.
    """
    if pred.shape != target.shape:
        raise InputError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape")
    p = pred.float()
    y = (target > 0.5).float()
    axes = tuple(range(2, p.ndim))  # spatial dimensions only (not batch nor channels)
    d = dice_from_counts((p * y).sum(axes), p.sum(axes) + y.sum(axes))
    return d.mean() if reduction == "mean" else d


def volume_dice(pred, target, dataids) -> dict[int, float]:
    """Dice per volume: the slices of each ``dataid`` are pooled before scoring.

    Parameters
    ----------
    pred, target : (N, 1, H, W) or (N, H, W) bool-like array or Tensor
        Hard predictions and target masks of N slices.
    dataids : (N,) int array or Tensor
        The volume each slice belongs to.

    Returns
    -------
    dict[int, float]
        ``{dataid: Dice}`` in increasing dataid order.

    Raises
    ------
    InputError
        ``target`` is None (slices loaded without a label), or the shapes disagree.
    """
    if target is None:
        raise InputError("target is None: the slices were loaded without a label (segmentation-N.nii[.gz]); "
                         "a Dice needs the label")
    pred = _numpy(pred).astype(bool)
    target = _numpy(target) > 0.5
    ids = _numpy(dataids).reshape(-1)
    if pred.shape != target.shape or pred.shape[0] != ids.shape[0]:
        raise InputError(f"pred {pred.shape}, target {target.shape} and dataids {ids.shape} must agree on N")
    return {int(i): dice_score(pred[ids == i], target[ids == i]) for i in np.unique(ids)}


def mean_volume_dice(pred, stack) -> float:
    """The mean over volumes of :func:`volume_dice` of ``pred`` against a stack's ``masks``.

    Parameters
    ----------
    pred : (N, 1, H, W) bool-like array or Tensor
    stack : SliceStack or SliceData
        With ``masks`` and ``dataids`` of the same N slices.

    Returns
    -------
    float
    """
    return float(np.mean(list(volume_dice(pred, stack.masks, stack.dataids).values())))


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
