"""The real CT sample: DICOM + a LAS label in, LiTS-layout NIfTI out, oriented like any LiTS case.

Most tests build a small archive shaped like the registry's (a few DICOM slices and a
segmentation stored LAS, as TotalSegmentator's) and fetch it through the same code;
one test fetches the real sample from the package registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _dicom_files import ct_slice

from lsn_explorer.data import PreprocessSettings, load_volumes
from lsn_explorer.data import sample as S

ROWS, COLS, SLICES = 24, 32, 4
SPACING, STEP = (0.8, 0.9), 2.5  # between rows, between columns (mm); between slices
#: the marker: bright in the CT at row 3, column 5 of the slice nearest the feet (z lowest)
MARK = (3, 5, 0)
SERIES_UID, STUDY_UID = "1.2.826.0.1.3680043.10.1", "1.2.826.0.1.3680043.10.2"


def _dicom_slice(k: int, pixels: np.ndarray) -> bytes:
    # columns → patient left, rows → posterior (LPS)
    ds = ct_slice(pixels, [-12.0, -10.0, -100.0 + STEP * k], SPACING, SERIES_UID, STUDY_UID, number=k)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _archive(folder: Path, *, corrupt: bool = False) -> Path:
    """An sdist-shaped archive: DICOM slices in shuffled order and a 3-class label stored LAS."""
    hu = np.full((SLICES, ROWS, COLS), -100, dtype=np.int16)
    hu[MARK[2], MARK[0], MARK[1]] = 1000
    classes = np.zeros((SLICES, ROWS, COLS), dtype=np.uint8)
    classes[:, 10:20, 8:20] = S.SAMPLE["liver_class"]
    classes[:, 2:6, 24:30] = 3  # another organ: not liver
    classes[MARK[2], MARK[0], MARK[1]] = S.SAMPLE["liver_class"]
    # the label as TotalSegmentator stores it: axes (x → L, y → A, z → S), i.e. rows flipped
    las = classes.transpose(2, 1, 0)[:, ::-1, :]
    affine = np.diag([-SPACING[1], SPACING[0], STEP, 1.0])
    affine[:3, 3] = [12.0, 10.0 - SPACING[0] * (ROWS - 1), -100.0]
    root = f"{S.SAMPLE['package']}-{S.SAMPLE['version']}/"
    path = folder / "sample.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(root + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for k in (2, 0, 3, 1):
            add(f"{S.SAMPLE['dicom']}CT.{k}", _dicom_slice(k, hu[k]))
        segmentation = nib.Nifti1Image(np.ascontiguousarray(las), affine)
        add(S.SAMPLE["segmentation"], gzip.compress(segmentation.to_bytes()) if not corrupt else b"not a nifti")
    return path


@pytest.fixture
def fixture_registry(tmp_path, monkeypatch):
    """The sample's download answered by a small archive; the cache in a fresh folder."""
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path / "cache"))
    archives = {}

    def serve(corrupt=False):
        archive = _archive(tmp_path, corrupt=corrupt)
        monkeypatch.setitem(S.SAMPLE, "sha256", hashlib.sha256(archive.read_bytes()).hexdigest())
        archives["path"] = archive
        return archive

    monkeypatch.setattr(S, "_download", lambda folder: archives["path"])
    return serve


def test_the_sample_is_written_in_lits_layout_with_the_dicom_grid(fixture_registry):
    fixture_registry()
    folder = S.fetch_sample()
    volume, label = (nib.load(folder / name) for name in ("volume-0.nii.gz", "segmentation-0.nii.gz"))
    assert volume.shape == label.shape == (COLS, ROWS, SLICES)
    assert nib.aff2axcodes(volume.affine) == ("L", "P", "S")
    np.testing.assert_allclose(volume.header.get_zooms(), (SPACING[1], SPACING[0], STEP))
    hu = np.asanyarray(volume.dataobj)
    assert hu.dtype == np.int16 and hu.min() == -100 and hu[MARK[1], MARK[0], MARK[2]] == 1000
    labels = np.asanyarray(label.dataobj)
    assert set(np.unique(labels)) == {0, 1}, "liver → 1, every other class → 0"
    assert labels[MARK[1], MARK[0], MARK[2]] == 1 and labels.sum() == 10 * 12 * SLICES + 1


def test_the_reader_orients_the_sample_like_any_lits_case(fixture_registry):
    fixture_registry()
    (volume,) = load_volumes("sample", settings=PreprocessSettings(size=COLS, slices="all", window=None))
    # the display axes: rows = anterior → posterior, columns = patient right → left, slices from the feet up
    z, row, col = np.unravel_index(np.argmax(volume.image), volume.image.shape)
    assert (z, col) == (MARK[2], MARK[1]) and abs(row * ROWS / COLS - MARK[0]) <= 1
    assert volume.mask[z, row, col] == 1


def test_a_wrong_hash_or_a_corrupt_archive_leaves_nothing_in_the_cache(fixture_registry, monkeypatch):
    fixture_registry(corrupt=True)
    with pytest.raises(S.SampleError, match="does not hold a readable CT sample"):
        S.fetch_sample()
    fixture_registry()
    monkeypatch.setitem(S.SAMPLE, "sha256", "0" * 64)
    with pytest.raises(S.SampleError, match=r"has SHA-256 .* expected 0000"):
        S.fetch_sample()
    cache = S.sample_dir().parent
    assert not S.sample_dir().exists() and not any(p.name.startswith(".sample-") for p in cache.iterdir())


def test_an_unreachable_registry_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path / "cache"))
    # pip without its configuration files, asking an index where nothing listens
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "2")
    with pytest.raises(S.SampleError, match=r"could not download totalsegmentator==2\.18\.0 with pip .* check the network"):
        S.fetch_sample()
    assert not S.sample_dir().exists()


def test_the_real_sample_from_the_package_registry():
    folder = S.fetch_sample()
    volume, label = (nib.load(folder / name) for name in ("volume-0.nii.gz", "segmentation-0.nii.gz"))
    assert volume.shape == (512, 512, 20)
    np.testing.assert_allclose(volume.header.get_zooms(), (0.9765625, 0.9765625, 2.0))
    hu = np.asanyarray(volume.dataobj)
    assert hu.min() == -1024 and hu.max() == 1839
    assert int(np.asanyarray(label.dataobj).sum()) == pytest.approx(366_708, rel=0.01)


def test_the_real_sample_loads_without_its_label(tmp_path):
    import shutil

    from lsn_explorer.data import stack_slices
    from lsn_explorer.errors import InputError
    from lsn_explorer.inference import evaluate, predict
    from lsn_explorer.models import bundled_model

    shutil.copy(S.fetch_sample() / "volume-0.nii.gz", tmp_path / "volume-0.nii.gz")
    (volume,) = load_volumes(tmp_path, settings=PreprocessSettings(size=128))
    assert volume.mask is None and volume.image.shape == (20, 128, 128)
    stack = stack_slices([volume])
    unet = bundled_model("unet")
    assert predict(unet, stack.images).shape == (20, 1, 128, 128)
    with pytest.raises(InputError, match="data has no masks"):
        evaluate(unet, stack)
