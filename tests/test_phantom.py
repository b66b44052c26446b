from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from lsn_explorer.data.baseline import band_lcc_mask, threshold_baseline
from lsn_explorer.data.phantom import FORMAT, default_phantom_dir, phantom_volume, write_phantom_dataset
from lsn_explorer.errors import InputError
from lsn_explorer.presets import get_preset

SMALL = dict(size=64, num_slices=12)


def test_volume_shapes_dtypes_labels_and_affine():
    hu, label, affine = phantom_volume(3, seed=1, **SMALL)
    assert hu.shape == label.shape == (64, 64, 12)
    assert hu.dtype == np.int16 and label.dtype == np.uint8
    assert set(np.unique(label)) <= {0, 1, 2} and (label == 1).any()
    assert affine.shape == (4, 4) and affine.dtype == np.float64
    dx, dy, dz = np.diag(affine)[:3]
    assert dx < 0 and dy < 0 and dz > 0  # LPS-like storage, not canonical
    assert 330 <= -dx * 64 <= 390 and dx == dy
    assert 2.5 <= dz <= 5.0
    assert hu.min() >= -1024 and hu.max() > 300  # air outside, bone inside


def test_field_of_view_is_kept_when_size_changes():
    _, _, a64 = phantom_volume(0, size=64, num_slices=8)
    _, _, a128 = phantom_volume(0, size=128, num_slices=8)
    assert np.isclose(a64[0, 0] * 64, a128[0, 0] * 128)


def test_liver_intensity_and_neighbours_overlap():
    hu, label, _ = phantom_volume(0, size=96, num_slices=16)
    liver = hu[label == 1].astype(float)
    assert 40 < np.median(liver) < 130
    # organs of liver-like intensity exist outside the liver
    outside = hu[(label == 0)]
    near = np.count_nonzero(np.abs(outside - np.median(liver)) < 15)
    assert near > 0.3 * liver.size


def test_write_reads_back_with_nibabel(tmp_path):
    pairs = write_phantom_dataset(tmp_path, volumes=2, seed=0, **SMALL)
    assert [p.name for pair in pairs for p in pair] == [
        "volume-0.nii.gz", "segmentation-0.nii.gz", "volume-1.nii.gz", "segmentation-1.nii.gz"
    ]
    for n, (vol_path, seg_path) in enumerate(pairs):
        vol, seg = nib.load(vol_path), nib.load(seg_path)
        hu, label, affine = phantom_volume(n, seed=0, **SMALL)
        assert vol.get_data_dtype() == np.int16 and seg.get_data_dtype() == np.uint8
        np.testing.assert_array_equal(np.asanyarray(vol.dataobj), hu)
        np.testing.assert_array_equal(np.asanyarray(seg.dataobj), label)
        np.testing.assert_array_equal(vol.affine, affine)
        np.testing.assert_array_equal(seg.affine, affine)
        assert nib.aff2axcodes(vol.affine) == ("L", "P", "S")
        canonical = nib.as_closest_canonical(vol)
        assert nib.aff2axcodes(canonical.affine) == ("R", "A", "S")


def test_uncompressed_files(tmp_path):
    (vol, seg), = write_phantom_dataset(tmp_path, volumes=1, compress=False, **SMALL)
    assert vol.name == "volume-0.nii" and seg.name == "segmentation-0.nii"
    assert nib.load(vol).shape == (64, 64, 12)


def test_same_seed_gives_identical_bytes(tmp_path):
    a = write_phantom_dataset(tmp_path / "a", volumes=2, seed=5, **SMALL)
    b = write_phantom_dataset(tmp_path / "b", volumes=2, seed=5, **SMALL)
    for pa, pb in zip(a, b):
        for fa, fb in zip(pa, pb):
            assert fa.read_bytes() == fb.read_bytes()


def test_different_seed_gives_different_volume():
    h0, _, _ = phantom_volume(0, seed=0, **SMALL)
    h1, _, _ = phantom_volume(0, seed=1, **SMALL)
    assert h0.shape != h1.shape or not np.array_equal(h0, h1)


def test_the_draws_are_pinned_by_one_volume():
    # any change to what is drawn, or in which order, moves these far; it needs a new FORMAT (a new cache folder).
    # Float rounding differs between CPUs, so the HU may move by one and a boundary voxel may flip.
    hu, label, _ = phantom_volume(3, seed=1, **SMALL)
    assert FORMAT == 2
    assert hu.dtype == np.int16 and label.dtype == np.uint8
    assert float(hu.astype(np.float64).mean()) == pytest.approx(-479.868, abs=0.05)
    assert float(hu.astype(np.float64).std()) == pytest.approx(480.860, abs=0.05)
    samples = [-1024, -1024, -1024, -1024, -1024, -1024, -998, -997, -1000, -1024, -1024, -1024, -1024, -1024, -1024,
               -390, -113, 36, -87, 90, 105, -206, -184, -161, -1001, -999, -999, -91, -53, 98, -54, -57, -67, 478, 481,
               482, -1024, -1024, -1024, -819, -704, -427, -93, -79, 109, -839, -802, -726]
    np.testing.assert_allclose(hu[::16, ::16, ::4].ravel(), samples, rtol=0, atol=1)
    liver = [0, 0, 54, 170, 256, 435, 528, 547, 496, 318, 95, 0]
    tumour = [0, 0, 0, 8, 14, 17, 7, 5, 0, 0, 0, 0]
    np.testing.assert_allclose((label > 0).sum(axis=(0, 1)), liver, rtol=0, atol=2)
    np.testing.assert_allclose((label == 2).sum(axis=(0, 1)), tumour, rtol=0, atol=2)


def test_volume_does_not_depend_on_how_many_are_written(tmp_path):
    few = write_phantom_dataset(tmp_path / "few", volumes=2, seed=2, **SMALL)
    many = write_phantom_dataset(tmp_path / "many", volumes=3, seed=2, **SMALL)
    assert few[1][0].read_bytes() == many[1][0].read_bytes()
    assert few[1][1].read_bytes() == many[1][1].read_bytes()


def test_tumours_hypodense_inside_liver_and_present_in_some_volumes():
    found = 0
    without = 0
    for n in range(8):
        hu, label, _ = phantom_volume(n, seed=0, size=96, num_slices=16)
        tumour = label == 2
        if not tumour.any():
            without += 1
            continue
        found += 1
        # the tumour is wrapped in liver: most of the voxels around it are liver
        ring = ndimage.binary_dilation(tumour) & ~tumour
        assert np.mean(label[ring] == 1) > 0.6
        # hypodense against the liver around it (away from partial-volume edges)
        core = ndimage.binary_erosion(tumour, np.ones((3, 3, 1)))
        liver = ndimage.binary_erosion(label == 1, np.ones((3, 3, 1))) & ~ndimage.binary_dilation(tumour, iterations=2)
        assert np.median(hu[core if core.any() else tumour]) < np.median(hu[liver]) - 10
    assert found >= 2 and without >= 1  # some volumes have tumours, some none


def test_liver_appears_grows_and_shrinks_over_z():
    _, label, _ = phantom_volume(1, seed=0, size=64, num_slices=24)
    area = (label > 0).sum(axis=(0, 1))
    assert area[0] == 0 or area[0] < 0.3 * area.max()
    assert area[-1] < 0.5 * area.max()
    peak = int(np.argmax(area))
    assert 0 < peak < 23
    assert len(np.unique(area[area > 0])) > 10  # shape changes slice to slice


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(volumes=0), "volumes"),
        (dict(size=32), "size"),
        (dict(num_slices=4), "num_slices"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments_name_the_argument(tmp_path, kwargs, name):
    with pytest.raises(InputError, match=name):
        write_phantom_dataset(tmp_path, **kwargs)


def test_default_dir_created_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path))
    preset = get_preset("quick").replace(phantom_volumes=2, phantom_size=64, phantom_slices=8)
    first = default_phantom_dir(preset)
    assert first.parent == tmp_path and first.name.endswith("2x64x8-seed0")
    files = sorted(p.name for p in first.iterdir())
    assert files == ["segmentation-0.nii.gz", "segmentation-1.nii.gz", "volume-0.nii.gz", "volume-1.nii.gz"]
    stamp = (first / "volume-0.nii.gz").stat().st_mtime_ns
    assert default_phantom_dir(preset) == first
    assert (first / "volume-0.nii.gz").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temp folder left


def test_band_lcc_keeps_largest_component():
    hu = np.zeros((10, 10, 3), np.int16)
    hu[1:5, 1:5] = 100
    hu[7:9, 7:9] = 100
    mask = band_lcc_mask(hu, 50, 150)
    assert mask.sum() == 16 * 3 and not mask[8, 8].any()


def test_threshold_baseline_finds_the_band():
    hu = np.full((12, 12, 4), -100, np.int16)
    hu[2:8, 2:8] = 100  # liver
    hu[9:11, 9:11] = 100  # same intensity, separate: removed by the component step
    hu[2:8, 9:11] = 300  # touching, brighter: excluded by the upper bound
    label = (np.arange(12)[:, None, None] >= 2) & (np.arange(12)[:, None, None] < 8)
    label = (label & ((np.arange(12)[None, :, None] >= 2) & (np.arange(12)[None, :, None] < 8))).astype(np.uint8)
    label = np.broadcast_to(label, hu.shape).copy()
    res = threshold_baseline([hu, hu], [label, label], refine=None)
    assert res.dice == pytest.approx(1.0)
    assert res.lower <= 100 <= res.upper < 300
    assert res.per_volume_dice.shape == (2,)
    assert res.band_dice < 1.0


def test_threshold_baseline_on_phantom_is_not_trivial():
    vols = [phantom_volume(n, seed=0, size=64, num_slices=12) for n in range(2)]
    res = threshold_baseline([v[0] for v in vols], [v[1] for v in vols], lower=np.arange(0, 121, 30), upper=np.arange(90, 241, 30), refine=None)
    assert 0.2 < res.dice < 0.8


def test_threshold_baseline_rejects_mismatched_inputs():
    with pytest.raises(InputError, match="labels"):
        threshold_baseline([np.zeros((4, 4, 4))], [np.zeros((4, 4, 3))])
    with pytest.raises(InputError, match="labels"):
        threshold_baseline([np.zeros((4, 4, 4))], [])


def test_reader_shows_phantom_slices_radiologically(tmp_path):
    from lsn_explorer.data import PreprocessSettings, load_volumes

    write_phantom_dataset(tmp_path, volumes=1, size=96, num_slices=16)
    (volume,) = load_volumes(tmp_path, settings=PreprocessSettings(size=96, window=None, slices="all"), cache=False)
    _, rows, cols = np.nonzero(volume.mask)
    assert cols.mean() < 48  # the patient's right (liver) on the image left, as radiologists view CT
    bone_rows, bone_cols = np.nonzero((volume.image > 300).any(axis=0))
    spine = np.abs(bone_cols - 48) < 6
    assert bone_rows[spine].mean() > 48  # spine posterior = lower half
    assert rows.mean() < bone_rows[spine].mean()  # liver anterior of the spine
