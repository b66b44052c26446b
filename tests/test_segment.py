"""``lsn_explorer.segment``: a slice, a volume, an array with its affine and a file give the same mask."""

from __future__ import annotations

import itertools
import shutil

import nibabel as nib
import numpy as np
import pytest

import lsn_explorer
from _dicom_files import series_affine, write_series
from lsn_explorer.data.sample import fetch_sample
from lsn_explorer.errors import InputError
from lsn_explorer.segmentation import LevelSetParams, display_index, from_display, read_scan, to_display

#: A small problem for the level set: at the settings' own size, few steps.
SMALL = LevelSetParams(grid=None, num_iter=100)


def _disc_volume(depth=3, size=48, radius=12):
    """HU: air around a body of 40 HU holding a bright disc (the "organ", 150 HU) on every slice."""
    rows, cols = np.mgrid[:size, :size]
    disc = (rows - size / 2) ** 2 + (cols - size / 2) ** 2 < radius**2
    slice_ = np.where(disc, 150, 40).astype(np.int16)
    slice_[:2], slice_[-2:], slice_[:, :2], slice_[:, -2:] = -1000, -1000, -1000, -1000
    return np.stack([slice_] * depth), np.stack([disc] * depth)


@pytest.fixture(scope="module")
def sample_ct(tmp_path_factory):
    """The real CT sample as a lone NIfTI file (no label beside it), and its label."""
    folder = fetch_sample()
    path = tmp_path_factory.mktemp("ct") / "ct.nii.gz"
    shutil.copy(folder / "volume-0.nii.gz", path)
    label = np.asanyarray(nib.load(folder / "segmentation-0.nii.gz").dataobj) > 0
    return path, label


def test_predict_and_segment_are_public_names():
    assert {"segment", "predict", "read_ct"} <= set(lsn_explorer.__all__)
    assert callable(lsn_explorer.segment) and callable(lsn_explorer.predict)
    from lsn_explorer import segment

    assert segment is lsn_explorer.segmentation.segment


def test_a_slice_a_volume_an_array_with_affine_and_a_path_give_the_same_mask(sample_ct):
    path, label = sample_ct
    mask, affine = lsn_explorer.segment(path)
    image = nib.load(path)
    assert mask.shape == image.shape and mask.dtype == np.uint8 and np.array_equal(affine, image.affine)
    voxels = np.asanyarray(image.dataobj)
    np.testing.assert_array_equal(lsn_explorer.segment(voxels, affine=image.affine), mask)
    slices = lsn_explorer.read_ct(path)
    np.testing.assert_array_equal(slices, to_display(voxels, image.affine))
    shown = lsn_explorer.segment(slices)
    np.testing.assert_array_equal(shown, to_display(mask, affine))
    for z in (0, 10, 19):
        np.testing.assert_array_equal(lsn_explorer.segment(slices[z]), shown[z])
    dice = 2 * (mask.astype(bool) & label).sum() / (mask.sum() + label.sum())
    assert dice >= 0.90, dice


def test_display_and_back_is_the_identity_for_every_axis_order():
    rng = np.random.default_rng(0)
    shape = (5, 6, 7)
    for perm, flips in itertools.product(itertools.permutations(range(3)), itertools.product((1, -1), repeat=3)):
        affine = np.eye(4)
        affine[:3, :3] = 0
        for axis, (world, flip) in enumerate(zip(perm, flips)):
            affine[world, axis] = flip * (axis + 1.5)
        voxels = rng.normal(size=shape)
        shown = to_display(voxels, affine)
        np.testing.assert_array_equal(from_display(shown, affine), voxels)
        index = (4, 1, 5)
        assert shown[display_index(index, affine, shape)] == voxels[index]


def test_an_lps_file_shows_its_slices_as_a_dicom_viewer(tmp_path):
    hu, _ = _disc_volume()
    hu[1, 5, 30] = 900  # a mark at row 5, column 30 of the middle slice
    write_series(tmp_path / "dicom", hu)
    scan = read_scan(tmp_path / "dicom")
    np.testing.assert_allclose(scan.affine, series_affine())
    np.testing.assert_array_equal(scan.display(), hu)
    assert scan.hu[30, 5, 1] == 900  # the file order: (column, row, slice)


def test_the_level_set_grows_from_a_seed_to_the_organ_and_a_slice_equals_its_volume():
    hu, disc = _disc_volume()
    frames = []
    volume = lsn_explorer.segment(hu, "levelset", seeds=[(24, 24, 1)], levelset=SMALL,
                                  iter_callback=lambda z, u: frames.append((z, u.shape)))
    assert volume.dtype == np.uint8 and volume.shape == hu.shape
    inside = volume.astype(bool)
    assert not (inside & ~disc).any(), "the front stops at the organ's edge"
    assert (inside.sum(axis=(1, 2)) >= 0.7 * disc[0].sum()).all(), "and travels there from a 5-pixel bubble"
    assert frames[0] == (1, (48, 48)) and {z for z, _ in frames} == {0, 1, 2}, "slice 1 first, then its neighbours"
    np.testing.assert_array_equal(lsn_explorer.segment(hu[1], "levelset", seeds=[(24, 24)], levelset=SMALL), volume[1])


def test_seeds_follow_the_files_axis_order():
    hu, _ = _disc_volume(size=64)
    hu[:, 6:20, 44:58] = 150  # a second organ, away from the disc: a seed there grows there
    affine = np.array([[0, 0, 2.0, 0], [-0.8, 0, 0, 0], [0, 0.8, 0, 0], [0, 0, 0, 1]])  # voxel axes point P, S, R
    voxels = from_display(hu, affine)
    seed_display = (1, 13, 51)  # (z, row, col)
    seed_file = next(idx for idx in np.ndindex(voxels.shape) if display_index(idx, affine, voxels.shape) == seed_display)
    in_file = lsn_explorer.segment(voxels, "levelset", affine=affine, seeds=[seed_file], levelset=SMALL)
    shown = lsn_explorer.segment(hu, "levelset", seeds=[seed_display[::-1]], levelset=SMALL)
    np.testing.assert_array_equal(to_display(in_file, affine), shown)
    assert shown[1, 13, 51] == 1 and shown[1, 32, 32] == 0


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.zeros((2, 1, 8, 8)), {}, r"image has shape \(2, 1, 8, 8\); expected \(H, W\), \(Z, H, W\)"),
        (np.full((32, 32), 128, np.uint8), {}, r"image holds values from 128 to 128; expected a CT in Hounsfield units"),
        (None, {"seeds": [(60, 2, 0)]}, r"seed \(60, 2, 0\) is outside image, whose voxel array has shape \(3, 48, 48\); "
                                        r"expected 0 <= x < 48"),
        (None, {"seeds": [(1, 2)]}, r"seed \(1, 2\) has 2 values; expected \(x, y, z\)"),
        (None, {}, r"method='levelset' needs seeds"),
    ],
)
def test_bad_arrays_and_seeds_are_named(image, kwargs, message):
    hu, _ = _disc_volume()
    method = "levelset" if image is None else "unet"
    with pytest.raises(InputError, match=message):
        lsn_explorer.segment(hu if image is None else image, method, **kwargs)


def test_seeds_are_refused_by_a_network_and_unknown_methods_are_listed():
    hu, _ = _disc_volume()
    with pytest.raises(InputError, match=r"seeds and iter_callback are for method='levelset'"):
        lsn_explorer.segment(hu, "unet", seeds=[(1, 1, 1)])
    with pytest.raises(InputError, match=r"method='vnet'; expected 'levelset', a bundled model \['unet'"):
        lsn_explorer.segment(hu, "vnet")
