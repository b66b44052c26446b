"""Augmentation: image and mask move together, the draws repeat with the seed, a zoom zooms."""

import pytest
import torch

from lsn_explorer.augment import Augmentation, augment
from lsn_explorer.errors import InputError
from lsn_explorer.train import fit
from lsn_explorer.train.options import FitHooks

NONE = Augmentation(scale=(1.0, 1.0), rotation=0.0, elastic=0.0, contrast=(1.0, 1.0), shift=0.0, blur=0.0, noise=0.0)


def _blob(n=4, size=64):
    images = torch.full((n, 1, size, size), -1.0)
    images[..., 24:40, 20:44] = 0.5
    return images, (images > 0).float()


def test_the_identity_settings_change_nothing():
    images, masks = _blob()
    out, out_masks = augment(images, masks, settings=NONE, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)
    assert torch.equal(out_masks, masks)


def test_a_zoom_in_enlarges_the_liver_and_the_mask_follows_the_image():
    images, masks = _blob()
    zoom = Augmentation(**{**NONE.to_dict(), "scale": (2.0, 2.0)})
    out, out_masks = augment(images, masks, settings=zoom, generator=torch.Generator().manual_seed(0))
    assert set(out_masks.unique().tolist()) <= {0.0, 1.0}
    # half the field of view fills the slice: what stays in view is 4 times larger (the crop may cut the blob)
    area = out_masks.sum(dim=(1, 2, 3)) / masks.sum(dim=(1, 2, 3))
    assert (area > 1.5).all() and area.mean() > 2.5, area
    # one sampling grid for both: the image crosses half-way between its two values where the mask crosses ½
    assert torch.equal(out > -0.25, out_masks > 0.5)


def test_the_same_generator_seed_gives_the_same_batch():
    images, masks = _blob()
    first = augment(images, masks, generator=torch.Generator().manual_seed(3))
    again = augment(images, masks, generator=torch.Generator().manual_seed(3))
    other = augment(images, masks, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_intensity_transforms_leave_the_mask_alone():
    images, masks = _blob()
    intensity = Augmentation(**{**NONE.to_dict(), "contrast": (0.5, 1.5), "shift": 0.3, "blur": 1.0, "noise": 0.1})
    out, out_masks = augment(images, masks, settings=intensity, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out_masks, masks) and not torch.allclose(out, images)


def test_bad_settings_and_shapes_are_refused():
    with pytest.raises(InputError, match="scale"):
        Augmentation(scale=(2.0, 0.5))
    with pytest.raises(InputError, match="noise"):
        Augmentation(noise=-1.0)
    with pytest.raises(InputError, match="expected both"):
        augment(torch.zeros(2, 2, 8, 8), torch.zeros(2, 2, 8, 8))


def test_training_with_augmentation_resumes_exactly(tmp_path):
    from lsn_explorer.models import UNet

    g = torch.Generator().manual_seed(0)
    images = torch.rand(8, 1, 32, 32, generator=g) * 2 - 1
    masks = (images > 0.3).float()
    opts = dict(epochs=2, batch_size=4, lr=1e-2, seed=1, device="cpu", progress=False, augment=Augmentation())
    torch.manual_seed(0)
    whole = fit(UNet(depth=2, features=4), (images, masks), None, out=tmp_path / "whole", **opts)
    torch.manual_seed(0)
    fit(UNet(depth=2, features=4), (images, masks), None, out=tmp_path / "part", hooks=FitHooks(stop_after=1), **opts)
    resumed = fit(UNet(depth=2, features=4), (images, masks), None, out=tmp_path / "part", resume=True, **opts)
    assert (whole / "history.csv").read_text().splitlines()[1:] != []
    from lsn_explorer.models import load_model

    x = images[:2]
    torch.testing.assert_close(load_model(resumed / "last.pt")(x), load_model(whole / "last.pt")(x), atol=1e-6, rtol=0)
