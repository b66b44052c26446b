from __future__ import annotations

import numpy as np
import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.losses import DiceL2Loss, dice_l2_loss
from lsn_explorer.metrics import dice_from_counts, dice_score, hard_dice, mask_dice, volume_dice


def _monai_dice_loss_squared_pred(logits, target, smooth_nr=1e-5, smooth_dr=1e-5):
    """MONAI DiceLoss(sigmoid=True, squared_pred=True), monai/losses/dice.py, written out."""
    inp = torch.sigmoid(logits)
    reduce_axis = list(range(2, len(inp.shape)))
    intersection = torch.sum(target * inp, dim=reduce_axis)
    ground_o = torch.sum(target**2, dim=reduce_axis)
    pred_o = torch.sum(inp**2, dim=reduce_axis)
    f = 1.0 - (2.0 * intersection + smooth_nr) / (ground_o + pred_o + smooth_dr)
    return torch.mean(f)


def test_dice_l2_matches_the_paper_formula_per_slice():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 9)
    y = (torch.rand(3, 1, 8, 9) > 0.5).float()
    p = torch.sigmoid(logits)
    per = [1 - 2 * (y[i] * p[i]).sum() / ((y[i] ** 2).sum() + (p[i] ** 2).sum()) for i in range(3)]
    got = dice_l2_loss(logits, y, smooth=0.0, reduction="none")
    torch.testing.assert_close(got.reshape(-1), torch.stack(per), atol=1e-6, rtol=0)
    # the authors' form (Σ(y-p)²) / (Σy² + Σp²) is the same number
    l2 = [((y[i] - p[i]) ** 2).sum() / ((y[i] ** 2).sum() + (p[i] ** 2).sum()) for i in range(3)]
    torch.testing.assert_close(got.reshape(-1), torch.stack(l2), atol=1e-6, rtol=0)


def test_dice_l2_equals_monai_squared_pred():
    torch.manual_seed(1)
    logits = torch.randn(4, 1, 16, 16) * 3
    y = (torch.rand(4, 1, 16, 16) > 0.7).float()
    y[0] = 0  # an empty slice
    torch.testing.assert_close(dice_l2_loss(logits, y), _monai_dice_loss_squared_pred(logits, y), atol=1e-6, rtol=0)
    torch.testing.assert_close(DiceL2Loss()(logits, y), dice_l2_loss(logits, y))


def test_dice_l2_is_zero_for_perfect_and_near_one_for_disjoint():
    y = torch.zeros(1, 1, 8, 8)
    y[..., 2:6, 2:6] = 1
    perfect = (y * 2 - 1) * 50
    assert dice_l2_loss(perfect, y) < 1e-6
    assert dice_l2_loss(-perfect, y) > 0.99


def test_dice_l2_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="same"):
        dice_l2_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


def test_hard_dice_thresholds_at_one_half():
    y = torch.zeros(2, 1, 4, 4)
    y[0, 0, :2] = 1
    logits = torch.full((2, 1, 4, 4), -1.0)
    logits[0, 0, :1] = 0.1  # half of the target predicted
    d = hard_dice(logits, y, reduction="none")
    assert d[0, 0] == pytest.approx(2 * 4 / (4 + 8))
    assert d[1, 0] == 1.0  # both empty
    assert hard_dice(logits, y) == pytest.approx((2 * 4 / 12 + 1) / 2)


def test_volume_dice_pools_slices_of_each_volume():
    pred = np.zeros((4, 1, 2, 2), bool)
    target = np.zeros((4, 1, 2, 2), bool)
    target[0, 0, 0, 0] = target[1, 0, 0, 0] = True
    pred[0, 0, 0, 0] = True
    target[2:, 0, 1, 1] = True
    pred[2:, 0, 1, 1] = True
    got = volume_dice(pred, target, [7, 7, 3, 3])
    assert list(got) == [3, 7]
    assert got[7] == pytest.approx(2 * 1 / 3)
    assert got[3] == 1.0
    assert dice_score(np.zeros(3), np.zeros(3)) == 1.0


def test_one_dice_for_masks_counts_and_logits():
    pred = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    pred[0, 0, :2] = True  # 8 pixels, 4 of them in the target
    y = torch.zeros(2, 1, 4, 4)
    y[0, 0, 1:3] = 1.0
    per_slice = mask_dice(pred, y, reduction="none")
    assert per_slice.shape == (2, 1) and per_slice[0, 0] == pytest.approx(0.5) and per_slice[1, 0] == 1.0
    torch.testing.assert_close(hard_dice(pred.float() * 8 - 4, y, reduction="none"), per_slice)
    assert dice_score(pred.numpy(), y.numpy() > 0) == pytest.approx(2 * 4 / 16)  # pooled over both slices
    assert dice_from_counts(4, 16) == 0.5 and dice_from_counts(0, 0) == 1.0
    np.testing.assert_allclose(dice_from_counts(np.array([1, 0]), np.array([4, 0])), [0.5, 1.0])
    with pytest.raises(InputError, match="pred"):
        mask_dice(pred, y[:1])
