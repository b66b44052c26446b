"""`lsn-explorer data ...` end to end, as a user types it."""

from __future__ import annotations

import subprocess
import sys

import nibabel as nib
import numpy as np


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lsn_explorer.cli", *args], capture_output=True, text=True, **kwargs)


def test_data_phantom_writes_lits_files_nibabel_reads(tmp_path):
    result = _cli("data", "phantom", "--out", str(tmp_path), "--volumes", "2", "--seed", "0", "--size", "96", "--slices", "12")
    assert result.returncode == 0, result.stderr
    for n in range(2):
        volume = nib.load(tmp_path / f"volume-{n}.nii.gz")
        label = nib.load(tmp_path / f"segmentation-{n}.nii.gz")
        assert volume.get_data_dtype() == np.int16
        assert volume.shape == label.shape and volume.shape[:2] == (96, 96) and volume.shape[2] == 12
        spacing = volume.header.get_zooms()
        assert all(0.1 < s < 10 for s in spacing), spacing
        assert np.allclose(volume.affine, label.affine)
        assert abs(np.linalg.det(volume.affine[:3, :3])) > 0
        values = set(np.unique(np.asanyarray(label.dataobj)).tolist())
        assert values <= {0, 1, 2} and 1 in values
        hu = np.asanyarray(volume.dataobj)
        assert hu.min() <= -900 and hu.max() >= 300, "air and bone are in HU"


def test_data_phantom_same_seed_same_bytes(tmp_path):
    for folder in ("a", "b"):
        assert _cli("data", "phantom", "--out", str(tmp_path / folder), "--volumes", "1", "--size", "64", "--slices", "8").returncode == 0
    assert (tmp_path / "a" / "volume-0.nii.gz").read_bytes() == (tmp_path / "b" / "volume-0.nii.gz").read_bytes()


def test_data_phantom_bad_argument_is_one_line_error(tmp_path):
    result = _cli("data", "phantom", "--out", str(tmp_path), "--volumes", "0")
    assert result.returncode == 2
    assert "volumes" in result.stderr and "Traceback" not in result.stderr


def test_data_folds_prints_the_split(tmp_path):
    assert _cli("data", "phantom", "--out", str(tmp_path), "--volumes", "5", "--size", "64", "--slices", "8").returncode == 0
    result = _cli("data", "folds", "--data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") >= 5


def test_missing_data_folder_is_named(tmp_path):
    missing = tmp_path / "no-such-folder"
    result = _cli("data", "folds", "--data", str(missing))
    assert result.returncode == 2 and str(missing) in result.stderr and "Traceback" not in result.stderr
