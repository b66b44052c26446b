"""Bad LiTS input: each mistake gives an error naming the file and what was expected; a missing label is none."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from _lits_files import case_arrays, write_case, write_nifti
from lsn_explorer.data import PreprocessSettings, find_cases, load_volumes, stack_slices
from lsn_explorer.data import cache as cache_module
from lsn_explorer.errors import DataFileError, InputError, MissingDataError
from lsn_explorer.inference import evaluate
from lsn_explorer.metrics import mean_volume_dice
from lsn_explorer.models import UNet

SETTINGS = PreprocessSettings(size=16)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(folder))
    return folder


def test_missing_folder(tmp_path):
    with pytest.raises(MissingDataError, match="no_such_folder.*does not exist"):
        load_volumes(tmp_path / "no_such_folder")


def test_folder_without_matching_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("not a volume")
    write_nifti(data / "ct-0.nii.gz", np.zeros((4, 4, 4), np.int16))
    with pytest.raises(MissingDataError, match=r"no volume-N\.nii or volume-N\.nii\.gz files found in .*data"):
        find_cases(data)


def test_a_volume_without_segmentation_loads_and_only_a_dice_asks_for_its_label(tmp_path):
    write_case(tmp_path, 0)
    image, _ = case_arrays()
    write_nifti(tmp_path / "volume-3.nii.gz", image)
    for attempt in ("first", "cached"):
        labelled, unlabelled = load_volumes(tmp_path, settings=SETTINGS)
        assert unlabelled.dataid == 3 and unlabelled.mask is None and unlabelled.label_path is None, attempt
        assert unlabelled.num_slices == image.shape[2], "every slice: there is no liver extent to select"
        assert labelled.mask is not None and labelled.num_slices == 4
    stack = stack_slices([unlabelled])
    assert stack.masks is None and stack.images.shape == (6, 1, 16, 16)
    assert stack.select([0, 1]).masks is None
    with pytest.raises(InputError, match=r"data has no masks: a volume was loaded without its label"):
        evaluate(UNet(), stack)
    with pytest.raises(InputError, match=r"target is None: the slices were loaded without a label"):
        mean_volume_dice(stack.images > 0, stack)
    assert stack_slices([labelled]).masks.shape == (4, 1, 16, 16)


def test_a_csv_may_leave_the_label_out(tmp_path):
    vol, seg = write_case(tmp_path / "data", 0)
    image, _ = case_arrays(seed=1)
    other = write_nifti(tmp_path / "data" / "ct-1.nii.gz", image)
    table = tmp_path / "cases.csv"
    table.write_text(f"dataid,image,label\n0,data/{vol.name},data/{seg.name}\n1,{other},\n")
    assert [c.label_path for c in find_cases(table)] == [seg.resolve(), None]
    only_images = tmp_path / "images.csv"
    only_images.write_text(f"dataid,image\n1,{other}\n")
    (volume,) = load_volumes(only_images, settings=SETTINGS)
    assert volume.mask is None and volume.image.shape == (6, 16, 16)


def test_shape_mismatch_names_both_files_and_shapes(tmp_path):
    image, label = case_arrays(shape=(32, 32, 6))
    write_nifti(tmp_path / "volume-0.nii.gz", image)
    write_nifti(tmp_path / "segmentation-0.nii.gz", label[:, :, :5])
    with pytest.raises(
        DataFileError,
        match=r"volume-0\.nii\.gz has shape \(32, 32, 6\) but segmentation-0\.nii\.gz has shape \(32, 32, 5\)",
    ):
        load_volumes(tmp_path, settings=SETTINGS)


def test_2d_nifti(tmp_path):
    write_nifti(tmp_path / "volume-0.nii.gz", np.zeros((32, 32), np.int16))
    write_nifti(tmp_path / "segmentation-0.nii.gz", np.zeros((32, 32), np.uint8))
    with pytest.raises(DataFileError, match=r"volume-0\.nii\.gz holds a 2-D array .*expected a 3-D volume"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_4d_nifti(tmp_path):
    image, label = case_arrays()
    write_nifti(tmp_path / "volume-0.nii.gz", np.stack([image, image], axis=-1))
    write_nifti(tmp_path / "segmentation-0.nii.gz", label)
    with pytest.raises(DataFileError, match=r"volume-0\.nii\.gz holds a 4-D array of shape \(32, 32, 6, 2\)"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_label_values_outside_0_1_2(tmp_path):
    image, label = case_arrays()
    label[0, 0, 0] = 5
    write_case(tmp_path, 0, image, label)
    with pytest.raises(DataFileError, match=r"segmentation-0\.nii\.gz holds label values \[5\].*expected only"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_non_integer_labels(tmp_path):
    image, label = case_arrays()
    label = label.astype(np.float32)
    label[0, 0, 0] = 0.5
    write_case(tmp_path, 0, image, label)
    with pytest.raises(DataFileError, match=r"segmentation-0\.nii\.gz holds non-integer label values, e\.g\. \[0\.5\]"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_integer_valued_float_labels_are_fine(tmp_path):
    image, label = case_arrays()
    write_case(tmp_path, 0, image, label.astype(np.float32))
    (volume,) = load_volumes(tmp_path, settings=SETTINGS)
    assert volume.mask.max() == 1


def test_volume_without_liver_is_skipped_with_a_warning(tmp_path):
    write_case(tmp_path, 0)
    image, label = case_arrays(seed=1)
    write_case(tmp_path, 1, image, np.zeros_like(label))
    write_case(tmp_path, 2)
    for attempt in ("first", "cached"):
        with pytest.warns(UserWarning, match=r"segmentation-1\.nii\.gz has no liver.*volume 1 is skipped"):
            volumes = load_volumes(tmp_path, settings=SETTINGS)
        assert [v.dataid for v in volumes] == [0, 2], attempt


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_voxels(tmp_path, bad):
    image, label = case_arrays()
    image = image.astype(np.float32)
    image[3, 3, 3] = bad
    write_case(tmp_path, 0, image, label)
    with pytest.raises(DataFileError, match=r"volume-0\.nii\.gz holds 1 NaN/inf voxels; expected finite"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_truncated_nii_gz(tmp_path):
    vol, _ = write_case(tmp_path, 0)
    data = vol.read_bytes()
    vol.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"volume-0\.nii\.gz cannot be read .*truncated or corrupt"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_corrupt_nii_gz(tmp_path):
    _, seg = write_case(tmp_path, 0)
    seg.write_bytes(b"this is not gzip at all" * 20)
    with pytest.raises(DataFileError, match=r"segmentation-0\.nii\.gz cannot be read"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_truncated_uncompressed_nii(tmp_path):
    vol, _ = write_case(tmp_path, 0, compress=False)
    data = vol.read_bytes()
    vol.write_bytes(data[: len(data) - 100])
    with pytest.raises(DataFileError, match=r"volume-0\.nii cannot be read"):
        load_volumes(tmp_path, settings=SETTINGS)


def test_csv_row_naming_a_missing_file(tmp_path):
    vol, seg = write_case(tmp_path / "data", 0)
    table = tmp_path / "cases.csv"
    table.write_text(f"dataid,image,label\n0,data/{vol.name},data/{seg.name}\n1,data/volume-1.nii,data/segmentation-1.nii\n")
    with pytest.raises(MissingDataError, match=r"cases\.csv, line 3: image file .*volume-1\.nii.* does not exist"):
        load_volumes(table, settings=SETTINGS)


def test_csv_without_the_expected_columns(tmp_path):
    table = tmp_path / "cases.csv"
    table.write_text("id,img,seg\n0,a.nii,b.nii\n")
    with pytest.raises(DataFileError, match=r"cases\.csv has columns \['id', 'img', 'seg'\]; expected"):
        find_cases(table)


def _cache_files(cache):
    folder = cache / "preprocessed"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_failed_load_leaves_no_half_written_cache_entry(tmp_path, cache):
    write_case(tmp_path, 0)
    vol, _ = write_case(tmp_path, 1)
    vol.write_bytes(vol.read_bytes()[:300])
    with pytest.raises(DataFileError, match=r"volume-1\.nii\.gz"):
        load_volumes(tmp_path, settings=SETTINGS)
    files = _cache_files(cache)
    # only the complete entry of volume 0; nothing temporary, nothing for volume 1
    assert len(files) == 1 and files[0].suffix == ".npz" and not files[0].name.startswith(".")
    with np.load(files[0]) as entry:
        assert entry["image"].shape[1:] == (16, 16)


def test_write_failing_midway_leaves_no_cache_file(tmp_path, cache, monkeypatch):
    write_case(tmp_path, 0)

    def failing_savez(path, **arrays):
        with open(path, "wb") as handle:
            handle.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        load_volumes(tmp_path, settings=SETTINGS)
    assert _cache_files(cache) == []
    monkeypatch.undo()
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(cache))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unreadable cache entry" warning: there is none
        (volume,) = load_volumes(tmp_path, settings=SETTINGS)
    assert volume.image.shape[1:] == (16, 16) and len(_cache_files(cache)) == 1


def test_temporaries_of_a_killed_writer_are_cleaned_up(tmp_path, cache):
    import os
    import time

    folder = cache / "preprocessed"
    folder.mkdir(parents=True)
    stale = folder / ".abc.npz.tmp-x1y2.npz"
    fresh = folder / ".def.npz.tmp-z3w4.npz"  # maybe another process writing right now
    stale.write_bytes(b"PK half")
    fresh.write_bytes(b"PK half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    write_case(tmp_path, 0)
    load_volumes(tmp_path, settings=SETTINGS)
    assert not stale.exists() and fresh.exists()
