"""The phantom-trained models on a real CT: at any loaded size, on zoomed fields of view, and the level set beside them.

The real CT is the TotalSegmentator example case (see lsn_explorer/data/sample.py), fetched
from the package registry on first use; its liver label is a model's output.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lsn_explorer.data import PreprocessSettings, load_volumes, stack_slices
from lsn_explorer.errors import InputError
from lsn_explorer.experiments.levelset_column import LevelSetParams, segment_slices
from lsn_explorer.inference import evaluate, predict
from lsn_explorer.metrics import mean_volume_dice
from lsn_explorer.models import bundled_model


def _stack(source: str, size: int):
    return stack_slices(load_volumes(source, settings=PreprocessSettings(size=size, slices="all")))


def _zoomed(stack, fraction: float, size: int = 128):
    """The central ``fraction`` of the field of view, resized to ``size``: a scan zoomed in on the abdomen."""
    n = stack.images.shape[-1]
    crop = int(round(n * fraction))
    start = (n - crop) // 2
    window = (..., slice(start, start + crop), slice(start, start + crop))
    images = F.interpolate(stack.images[window], size=(size, size), mode="bilinear", align_corners=False)
    masks = F.interpolate(stack.masks[window], size=(size, size), mode="bilinear", align_corners=False) > 0.5
    return images, masks.float(), stack.dataids


@pytest.fixture(scope="module")
def unet():
    return bundled_model("unet")


@pytest.mark.parametrize("size", [128, 256, 512])
def test_the_bundled_unet_segments_the_real_ct_at_any_loaded_size(unet, size):
    assert unet.preprocessing.size == 128  # it resamples whatever it gets to what it was trained on
    result = evaluate(unet, _stack("sample", size))
    assert result["volume_dice"] >= 0.90, result["volume_dice"]


@pytest.mark.parametrize("fraction", [0.6, 0.4])
def test_the_bundled_unet_holds_on_a_zoomed_field_of_view(unet, fraction):
    result = evaluate(unet, _zoomed(_stack("sample", 512), fraction))
    assert result["volume_dice"] >= 0.85, result["volume_dice"]


def test_the_same_level_set_settings_score_alike_on_the_phantom_and_the_real_ct():
    for size in (128, 256):
        dice = {}
        for source in ("phantom", "sample"):
            stack = _stack(source, size)
            if source == "phantom":
                stack = stack.subset([0, 1])  # the held-out volumes of fold 0
            prediction = segment_slices(stack.images, stack.masks, LevelSetParams())
            dice[source] = mean_volume_dice(prediction, stack)
        assert abs(dice["phantom"] - dice["sample"]) <= 0.10, (size, dice)
        assert min(dice.values()) > 0.75, (size, dice)


def test_a_model_refuses_what_it_was_not_trained_on(unet):
    stack = _stack("sample", 128)
    raw_hu = stack.images * 250 + 150  # the window undone: Hounsfield units
    with pytest.raises(InputError, match=r"images range from .* trained on the HU window \(-100\.0, 400\.0\)"):
        predict(unet, raw_hu[:2])
    lsn = bundled_model("lsn")
    two_channels = torch.cat([stack.images[:2], stack.images[:2]], dim=1)
    with pytest.raises(InputError, match="only a one-channel image can be resampled"):
        predict(lsn, F.interpolate(two_channels, size=(64, 64)))
