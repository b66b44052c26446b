"""Tiny LiTS-style NIfTI files for the reader tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = ["LPS_AFFINE", "case_arrays", "write_nifti", "write_case"]

#: LiTS-like affine: i runs to the patient's left, j to posterior (negative diagonal).
LPS_AFFINE = np.array(
    [[-0.75, 0.0, 0.0, 120.0], [0.0, -0.75, 0.0, 110.0], [0.0, 0.0, 2.5, -300.0], [0.0, 0.0, 0.0, 1.0]]
)


def case_arrays(shape=(32, 32, 6), *, seed=0, liver_slices=(1, 4)):
    """(image int16 HU, label uint8) in file order (X, Y, Z): body, liver with a tumour.

    The liver sits at small i, j (the patient's right and front under LPS_AFFINE)
    on slices ``liver_slices[0] .. liver_slices[1]``.
    """
    rng = np.random.default_rng(seed)
    x, y, z = shape
    image = np.full(shape, -1000, np.int16)
    image[2:-2, 2:-2, :] = rng.integers(-60, 60, size=(x - 4, y - 4, z)).astype(np.int16)
    label = np.zeros(shape, np.uint8)
    lo, hi = liver_slices
    label[4 : x // 2, 4 : y // 2, lo : hi + 1] = 1
    label[6:9, 6:9, (lo + hi) // 2] = 2
    image[label == 1] = 90
    image[label == 2] = 40
    return image, label


def write_nifti(path, array, affine=LPS_AFFINE) -> Path:
    """Save ``array`` as NIfTI at ``path`` (.nii or .nii.gz by its name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), affine), str(path))
    return path


def write_case(folder, n, image=None, label=None, *, affine=LPS_AFFINE, compress=True, label_affine=None):
    """Write ``volume-n`` and ``segmentation-n`` into ``folder``; returns both paths."""
    if image is None or label is None:
        image, label = case_arrays(seed=n)
    ext = ".nii.gz" if compress else ".nii"
    vol = write_nifti(Path(folder) / f"volume-{n}{ext}", image, affine)
    seg = write_nifti(Path(folder) / f"segmentation-{n}{ext}", label, affine if label_affine is None else label_affine)
    return vol, seg
