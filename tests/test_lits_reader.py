"""The LiTS reader: finding cases, orientation, window, resize, slices, cache, slice tensors."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pytest
import torch

from _lits_files import LPS_AFFINE, case_arrays, write_case, write_nifti
from lsn_explorer.data import (
    PreprocessSettings,
    find_cases,
    load_volumes,
    stack_slices,
    volume_folds,
)
from lsn_explorer.data import loading
from lsn_explorer.errors import InputError

FULL = PreprocessSettings(size=32, slices="all")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(folder))
    return folder


def test_find_cases_flat_and_batch_layouts_sorted_by_number(tmp_path):
    for n in (10, 2, 1):
        write_case(tmp_path / "flat", n)
    write_case(tmp_path / "lits" / "TrainingBatch1", 0, compress=False)
    write_case(tmp_path / "lits" / "TrainingBatch2", 28, compress=False)
    flat = find_cases(tmp_path / "flat")
    assert [c.dataid for c in flat] == [1, 2, 10]
    assert flat[2].image_path.name == "volume-10.nii.gz"
    assert flat[2].label_path.name == "segmentation-10.nii.gz"
    batches = find_cases(tmp_path / "lits")
    assert [(c.dataid, c.image_path.parent.name) for c in batches] == [(0, "TrainingBatch1"), (28, "TrainingBatch2")]


def test_find_cases_csv_relative_and_absolute(tmp_path):
    vol0, seg0 = write_case(tmp_path / "data", 0)
    vol1, seg1 = write_case(tmp_path / "data", 1)
    table = tmp_path / "cases.csv"
    table.write_text(f"dataid,image,label\n7,data/{vol0.name},data/{seg0.name}\n3,{vol1},{seg1}\n")
    cases = find_cases(table)
    assert [c.dataid for c in cases] == [3, 7]
    assert cases[1].image_path == vol0.resolve() and cases[0].label_path == seg1.resolve()


def test_orientation_is_radiological_and_independent_of_the_affine(tmp_path, cache):
    image, label = case_arrays()
    write_case(tmp_path / "lps", 0, image, label)
    ras = np.diag([0.75, 0.75, 2.5, 1.0])
    write_case(tmp_path / "ras", 0, image[::-1, ::-1, :], label[::-1, ::-1, :], affine=ras)
    (lps,) = load_volumes(tmp_path / "lps", settings=FULL)
    (same,) = load_volumes(tmp_path / "ras", settings=FULL)
    # LPS file: i = 0 is the patient's right, j = 0 anterior -> slice k shows as label[:, :, k].T
    expected = np.stack([(label[:, :, k].T > 0) for k in range(label.shape[2])]).astype(np.uint8)
    np.testing.assert_array_equal(lps.mask, expected)
    assert lps.mask[2, :16, :16].any() and not lps.mask[2, 16:, :].any()  # liver top-left: front, patient right
    np.testing.assert_array_equal(same.image, lps.image)
    np.testing.assert_array_equal(same.mask, lps.mask)
    assert lps.spacing == pytest.approx((2.5, 0.75, 0.75))


def test_superior_to_inferior_file_gives_same_slices_and_file_slice_numbers(tmp_path, cache):
    image, label = case_arrays(shape=(32, 32, 6), liver_slices=(1, 3))
    write_case(tmp_path / "up", 0, image, label)
    down = LPS_AFFINE.copy()
    down[2, 2] = -2.5
    write_case(tmp_path / "down", 0, image[:, :, ::-1], label[:, :, ::-1], affine=down)
    settings = PreprocessSettings(size=32)
    (up,) = load_volumes(tmp_path / "up", settings=settings)
    (flipped,) = load_volumes(tmp_path / "down", settings=settings)
    np.testing.assert_array_equal(flipped.image, up.image)  # inferior slice first in both
    np.testing.assert_array_equal(up.slice_index, [1, 2, 3])
    np.testing.assert_array_equal(flipped.slice_index, [4, 3, 2])  # numbers of the slices in the file


def test_window_maps_hu_to_unit_range_and_raw_hu_option(tmp_path, cache):
    image, label = case_arrays()
    write_case(tmp_path, 0, image, label)
    (windowed,) = load_volumes(tmp_path, settings=FULL)
    (raw,) = load_volumes(tmp_path, settings=PreprocessSettings(size=32, slices="all", window=None))
    expected_raw = np.stack([image[:, :, k].T for k in range(image.shape[2])]).astype(np.float32)
    np.testing.assert_array_equal(raw.image, expected_raw)
    assert windowed.image.dtype == np.float32
    np.testing.assert_allclose(windowed.image, 2 * (np.clip(expected_raw, -100, 400) + 100) / 500 - 1, atol=1e-6)
    assert windowed.image.min() == -1.0 and windowed.image[windowed.mask == 1].max() == pytest.approx(2 * 190 / 500 - 1)


def test_resize_halves_labels_by_every_second_pixel_and_updates_spacing(tmp_path, cache):
    image, label = case_arrays(shape=(32, 32, 6))
    write_case(tmp_path, 0, image, label)
    (full,) = load_volumes(tmp_path, settings=FULL)
    (half,) = load_volumes(tmp_path, settings=PreprocessSettings(size=16, slices="all"))
    assert half.image.shape == (6, 16, 16) and half.mask.shape == (6, 16, 16)
    np.testing.assert_array_equal(half.mask, full.mask[:, ::2, ::2])
    # inside the liver (constant HU) the value is kept; in the noisy body the
    # antialiasing filter averages, so the noise shrinks instead of aliasing
    assert half.image[3, 6, 6] == pytest.approx(full.image[3, 12, 12])
    assert half.image[3, 9:14, 9:14].std() < 0.7 * full.image[3, 18:28, 18:28].std()
    assert half.spacing == pytest.approx((2.5, 1.5, 1.5))
    (big,) = load_volumes(tmp_path, settings=PreprocessSettings(size=64, slices="all"))
    assert big.image.shape == (6, 64, 64) and set(np.unique(big.mask)) == {0, 1}


def test_liver_slices_by_default_and_z_never_resampled(tmp_path, cache):
    image, label = case_arrays(shape=(32, 32, 9), liver_slices=(2, 5))
    write_case(tmp_path, 0, image, label)
    (liver,) = load_volumes(tmp_path, settings=PreprocessSettings(size=16))
    (every,) = load_volumes(tmp_path, settings=PreprocessSettings(size=16, slices="all"))
    np.testing.assert_array_equal(liver.slice_index, [2, 3, 4, 5])
    np.testing.assert_array_equal(every.slice_index, np.arange(9))
    np.testing.assert_array_equal(liver.image, every.image[2:6])
    assert liver.spacing[0] == every.spacing[0] == pytest.approx(2.5)


def test_target_liver_includes_tumour_and_tumour_only_option(tmp_path, cache):
    image, label = case_arrays()
    write_case(tmp_path, 0, image, label)
    (liver,) = load_volumes(tmp_path, settings=FULL)
    (tumour,) = load_volumes(tmp_path, settings=PreprocessSettings(size=32, slices="all", target="tumour"))
    assert liver.mask.sum() == (label > 0).sum()
    assert tumour.mask.sum() == (label == 2).sum() == 9
    assert set(np.unique(liver.mask)) == {0, 1} and liver.mask.dtype == np.uint8


def test_second_load_comes_from_the_cache(tmp_path, cache, monkeypatch):
    write_case(tmp_path / "d", 0)
    write_case(tmp_path / "d", 1)
    first = load_volumes(tmp_path / "d", settings=FULL)
    entries = sorted((cache / "preprocessed").glob("*.npz"))
    assert len(entries) == 2

    def no_reading(*args, **kwargs):
        raise AssertionError("files were read again although cached")

    monkeypatch.setattr(loading, "_preprocess_case", no_reading)
    second = load_volumes(tmp_path / "d", settings=FULL)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.slice_index, b.slice_index)
        assert a.spacing == b.spacing and a.dataid == b.dataid and a.image_path == b.image_path
    # other settings are another key: they must be computed, not served stale
    with pytest.raises(AssertionError, match="read again"):
        load_volumes(tmp_path / "d", settings=PreprocessSettings(size=16, slices="all"))


def test_changed_source_file_is_not_served_from_cache(tmp_path, cache):
    image, label = case_arrays()
    write_case(tmp_path, 0, image, label)
    (before,) = load_volumes(tmp_path, settings=FULL)
    brighter = image.copy()
    brighter[label == 1] = 150
    vol, _ = write_case(tmp_path, 0, brighter, label)
    stat = vol.stat()
    os.utime(vol, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (after,) = load_volumes(tmp_path, settings=FULL)
    assert after.image[after.mask == 1].max() > before.image[before.mask == 1].max()


def test_cache_false_writes_nothing(tmp_path, cache):
    write_case(tmp_path, 0)
    load_volumes(tmp_path, settings=FULL, cache=False)
    assert not (cache / "preprocessed").exists() or not any((cache / "preprocessed").iterdir())


def test_ids_select_volumes_and_unknown_ids_are_named(tmp_path, cache):
    for n in range(3):
        write_case(tmp_path, n)
    assert [v.dataid for v in load_volumes(tmp_path, settings=FULL, ids=[2, 0])] == [0, 2]
    with pytest.raises(InputError, match=r"ids=\[5\]"):
        load_volumes(tmp_path, settings=FULL, ids=[0, 5])


@pytest.mark.parametrize(
    "field, settings",
    [
        ("window", PreprocessSettings(window=(400, -100))),
        ("window", PreprocessSettings(window=(0.0, float("nan")))),
        ("size", PreprocessSettings(size=0)),
        ("size", PreprocessSettings(size=12.5)),
        ("target", PreprocessSettings(target="kidney")),
        ("slices", PreprocessSettings(slices="some")),
    ],
)
def test_bad_settings_name_the_field(tmp_path, cache, field, settings):
    write_case(tmp_path, 0)
    with pytest.raises(InputError, match=rf"PreprocessSettings\.{field}="):
        load_volumes(tmp_path, settings=settings)


def test_label_with_other_affine_warns_and_uses_the_image_grid(tmp_path, cache):
    image, label = case_arrays()
    write_case(tmp_path / "a", 0, image, label)
    write_case(tmp_path / "b", 0, image, label, label_affine=np.diag([1.0, 1.0, 1.0, 1.0]))
    (reference,) = load_volumes(tmp_path / "a", settings=FULL)
    with pytest.warns(UserWarning, match="segmentation-0.nii.gz: affine differs"):
        (other,) = load_volumes(tmp_path / "b", settings=FULL)
    np.testing.assert_array_equal(other.mask, reference.mask)


def test_trailing_singleton_4d_is_accepted(tmp_path, cache):
    image, label = case_arrays()
    write_nifti(tmp_path / "volume-0.nii.gz", image[..., None])
    write_nifti(tmp_path / "segmentation-0.nii.gz", label)
    (volume,) = load_volumes(tmp_path, settings=FULL)
    assert volume.image.shape == (6, 32, 32)


def test_phantom_compressed_flat_equals_uncompressed_trainingbatch1(tmp_path, cache):
    from lsn_explorer.data import write_phantom_dataset

    flat = tmp_path / "flat"
    lits = tmp_path / "lits" / "TrainingBatch1"
    write_phantom_dataset(flat, volumes=2, seed=3, size=64, num_slices=8, compress=True)
    write_phantom_dataset(lits, volumes=2, seed=3, size=64, num_slices=8, compress=False)
    assert sorted(p.name for p in lits.iterdir()) == [
        "segmentation-0.nii", "segmentation-1.nii", "volume-0.nii", "volume-1.nii"
    ]
    settings = PreprocessSettings(size=32)
    a = load_volumes(flat, settings=settings)
    b = load_volumes(tmp_path / "lits", settings=settings)
    assert [v.dataid for v in a] == [v.dataid for v in b] == [0, 1]
    stack_a, stack_b = stack_slices(a), stack_slices(b)
    for name in ("images", "masks", "dataids", "slice_index"):
        assert torch.equal(getattr(stack_a, name), getattr(stack_b, name)), name
    assert stack_a.masks.sum() > 0


def test_phantom_slices_show_radiological_view(tmp_path, cache):
    from lsn_explorer.data import write_phantom_dataset

    ((vol, seg),) = write_phantom_dataset(tmp_path, volumes=1, seed=0, size=64, num_slices=8)
    hu = np.asanyarray(nib.load(vol).dataobj)
    label = np.asanyarray(nib.load(seg).dataobj)
    (volume,) = load_volumes(tmp_path, settings=PreprocessSettings(size=64, slices="all", window=None))
    for k in range(hu.shape[2]):
        np.testing.assert_array_equal(volume.image[k], hu[:, :, k].T)
        np.testing.assert_array_equal(volume.mask[k], (label[:, :, k].T > 0))
    # the liver lies on the patient's right, i.e. the image's left half
    cols = np.nonzero(volume.mask.any(axis=(0, 1)))[0]
    assert cols.mean() < 32


def test_stack_slices_contiguous_tensors_and_fold_subsets(tmp_path, cache):
    for n in range(5):
        write_case(tmp_path, n, *case_arrays(seed=n, liver_slices=(1, 1 + n % 3)))
    volumes = load_volumes(tmp_path, settings=PreprocessSettings(size=16))
    stack = stack_slices(volumes)
    n = sum(v.num_slices for v in volumes)
    assert stack.images.shape == stack.masks.shape == (n, 1, 16, 16) and len(stack) == n
    assert stack.images.dtype == stack.masks.dtype == torch.float32
    assert stack.dataids.dtype == stack.slice_index.dtype == torch.int64
    assert all(t.is_contiguous() for t in (stack.images, stack.masks, stack.dataids, stack.slice_index))
    assert set(torch.unique(stack.masks).tolist()) == {0.0, 1.0}
    fold = volume_folds([v.dataid for v in volumes], n_folds=5)[1]
    train = stack.subset(fold.train)
    assert set(train.dataids.tolist()) == set(fold.train)
    assert len(train) == sum(v.num_slices for v in volumes if v.dataid in fold.train)
    volume_2 = stack.subset([2])
    np.testing.assert_array_equal(volume_2.images[:, 0].numpy(), volumes[2].image)
    with pytest.raises(InputError, match=r"dataids \[9\]"):
        stack.subset([9])


def test_phantom_source_string_uses_the_default_phantom(tmp_path, cache, monkeypatch):
    from lsn_explorer.data import phantom

    write_case(tmp_path / "ph", 4)
    monkeypatch.setattr(phantom, "default_phantom_dir", lambda preset=None: tmp_path / "ph")
    assert [c.dataid for c in find_cases("phantom")] == [4]


def test_resize_label_takes_every_second_pixel_and_never_mixes_values():
    from lsn_explorer.data.preprocess import resize_label

    label = np.random.default_rng(0).integers(0, 3, size=(3, 32, 24)).astype(np.uint8)
    # 32 x 24 -> 16 x 16: rows 2:1, columns at floor(1.5 i)
    np.testing.assert_array_equal(resize_label(label, 16), label[:, ::2][:, :, (np.arange(16) * 24) // 16])
    square = label[:, :24, :24]
    np.testing.assert_array_equal(resize_label(square, 12), square[:, ::2, ::2])
    assert set(np.unique(resize_label(square, 17))) <= {0, 1, 2}
