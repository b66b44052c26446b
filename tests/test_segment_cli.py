"""``lsn-explorer segment``: a real CT in, as NIfTI without its label or as its DICOM folder, a mask out on its grid.

The real CT is the TotalSegmentator example case (lsn_explorer/data/sample.py): its 20 DICOM
slices as the package archive ships them, and the NIfTI volume written from them. Its liver
label is TotalSegmentator's output. The level set's 3 seeds are where a user would click:
the deepest point of the liver on slices 3, 10 and 16 (read off the label here).
"""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from _dicom_files import write_non_image_dicom, write_series
from _lits_files import LPS_AFFINE, case_arrays, write_nifti
from lsn_explorer.cli import main
from lsn_explorer.data.sample import fetch_sample, fetch_sample_dicom
from lsn_explorer.segmentation import output as output_module

SEED_SLICES = (3, 10, 16)


@pytest.fixture(scope="module")
def real_ct(tmp_path_factory):
    """``(NIfTI file alone in a folder, DICOM folder, liver label (X, Y, Z) bool, 3 seeds "x,y,z")``."""
    folder = fetch_sample()
    nifti = tmp_path_factory.mktemp("nifti") / "ct.nii.gz"
    shutil.copy(folder / "volume-0.nii.gz", nifti)
    label = np.asanyarray(nib.load(folder / "segmentation-0.nii.gz").dataobj) > 0
    seeds = []
    for k in SEED_SLICES:
        depth = ndimage.distance_transform_edt(label[:, :, k])
        x, y = np.unravel_index(int(depth.argmax()), depth.shape)
        seeds.append(f"{x},{y},{k}")
    return nifti, fetch_sample_dicom(), label, seeds


def _dice(mask, label) -> float:
    mask = np.asarray(mask) > 0
    return float(2 * (mask & label).sum() / (mask.sum() + label.sum()))


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["segment", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("source", ["nifti", "dicom"])
@pytest.mark.parametrize(("method", "least"), [("unet", 0.90), pytest.param("levelset", 0.85, marks=pytest.mark.slow)])
def test_the_real_ct_is_segmented_on_its_own_grid(real_ct, tmp_path, capsys, source, method, least):
    nifti, dicom, label, seeds = real_ct
    out = tmp_path / "liver.nii.gz"
    seed_args = [arg for seed in seeds for arg in ("--seed", seed)] if method == "levelset" else []
    code, stdout, stderr = _run(capsys, nifti if source == "nifti" else dicom, "--method", method, *seed_args,
                                "--out", out, "--device", "cpu")
    assert code == 0, stderr
    assert f"wrote {out}" in stdout and "slice" in stderr, "a tqdm bar over the slices"
    written, ct = nib.load(out), nib.load(nifti)
    np.testing.assert_array_equal(written.affine, ct.affine)
    assert written.get_data_dtype() == np.uint8 and written.shape == ct.shape
    assert written.header.get_sform(coded=True)[1] == ct.header.get_sform(coded=True)[1] > 0
    dice = _dice(np.asanyarray(written.dataobj), label)
    print(f"{method} from {source}: Dice {dice:.4f}")
    assert dice >= least, dice


def test_a_nifti_header_is_kept(tmp_path, capsys):
    image, _ = case_arrays()
    ct = nib.Nifti1Image(image, LPS_AFFINE)
    ct.header.set_qform(LPS_AFFINE, code=2)
    ct.header.set_sform(LPS_AFFINE, code=4)
    ct.header.set_xyzt_units("mm", "sec")
    nib.save(ct, tmp_path / "ct.nii")
    code, _, stderr = _run(capsys, tmp_path / "ct.nii", "--out", tmp_path / "mask.nii", "--quiet")
    assert code == 0 and stderr == ""
    mask = nib.load(tmp_path / "mask.nii")
    assert mask.header.get_qform(coded=True)[1] == 2 and mask.header.get_sform(coded=True)[1] == 4
    assert mask.header.get_xyzt_units() == ("mm", "sec") and mask.get_data_dtype() == np.uint8
    assert set(np.unique(np.asanyarray(mask.dataobj))) <= {0, 1}


def test_a_folder_with_several_series_lists_them_and_series_chooses(tmp_path, capsys):
    image, _ = case_arrays()
    hu = image.transpose(2, 1, 0)  # (slices, rows, columns)
    write_series(tmp_path / "scans" / "a", hu, uid="1.2.826.0.1.1", description="Body 3.0")
    write_series(tmp_path / "scans" / "b", hu, uid="1.2.826.0.1.2", description="Lung 1.0")
    out = tmp_path / "liver.nii.gz"
    code, _, stderr = _run(capsys, tmp_path / "scans", "--out", out)
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and not out.exists()
    assert "scans holds 2 DICOM image series; choose one with series=UID (--series UID)" in stderr
    assert "1.2.826.0.1.1 (CT, 6 slices, 'Body 3.0'); 1.2.826.0.1.2 (CT, 6 slices, 'Lung 1.0')" in stderr
    code, _, stderr = _run(capsys, tmp_path / "scans", "--series", "1.2.826.0.1.2", "--out", out, "--quiet")
    assert code == 0 and nib.load(out).shape == image.shape


def _four_d(folder):
    image, _ = case_arrays()
    return write_nifti(folder / "ct4d.nii.gz", np.stack([image, image], axis=-1))


def _mr(folder):
    image, _ = case_arrays()
    return write_nifti(folder / "mr.nii.gz", (image + 1000).astype(np.int16))


def _png(folder):
    path = folder / "slice.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return path


def _no_image_series(folder):
    write_non_image_dicom(folder / "rtstruct" / "RS.dcm")
    (folder / "rtstruct" / "notes.txt").write_text("not a slice")
    return folder / "rtstruct"


def _missing(folder):
    return folder / "no_such_ct.nii.gz"


def _seed_outside(folder):
    image, _ = case_arrays()
    return write_nifti(folder / "ct.nii.gz", image)


BAD_INPUTS = {
    "4-D file": (_four_d, [], r"ct4d\.nii\.gz holds a 4-D array of shape \(32, 32, 6, 2\); expected a 3-D CT volume"),
    "MR range": (_mr, [], r"mr\.nii\.gz holds values from 0 to 1090; expected a CT in Hounsfield units"),
    "PNG": (_png, [], r"slice\.png is neither NIfTI nor a folder; expected a NIfTI file \(\.nii or \.nii\.gz\) or a "
                      r"folder of DICOM slices"),
    "no image series": (_no_image_series, [], r"rtstruct holds no DICOM image series \(1 not DICOM, 1 DICOM without "
                                             r"an image\); expected a folder of CT slices"),
    "missing path": (_missing, [], r"no_such_ct\.nii\.gz does not exist; expected a NIfTI file"),
    "seed outside": (_seed_outside, ["--method", "levelset", "--seed", "5,5,2", "--seed", "40,5,2"],
                     r"seed \(40, 5, 2\) is outside .*ct\.nii\.gz, whose voxel array has shape \(32, 32, 6\); "
                     r"expected 0 <= x < 32, 0 <= y < 32, 0 <= z < 6"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_file_and_leaves_no_output(tmp_path, capsys, case):
    make, extra, message = BAD_INPUTS[case]
    source = make(tmp_path)
    out = tmp_path / "out" / "liver.nii.gz"
    code, stdout, stderr = _run(capsys, source, *extra, "--out", out)
    assert code == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lsn-explorer: error: "), stderr
    assert __import__("re").search(message, lines[0]), lines[0]
    assert not out.exists() and not (tmp_path / "out").exists()


def test_a_write_that_fails_midway_leaves_no_file(tmp_path, capsys, monkeypatch):
    image, _ = case_arrays()
    source = write_nifti(tmp_path / "ct.nii.gz", image)

    def failing_save(img, path):
        with open(path, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(output_module.nib, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        main(["segment", str(source), "--out", str(tmp_path / "liver.nii.gz"), "--quiet"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct.nii.gz"]
