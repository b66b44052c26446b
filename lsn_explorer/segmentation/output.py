"""A mask written as NIfTI on its CT's grid, so ITK-SNAP and 3D Slicer overlay it on the scan."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

from .._files import atomic_path
from ..errors import InputError
from .scan import NIFTI_SUFFIXES, Scan

__all__ = ["check_output_path", "mask_image", "write_mask"]


def check_output_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or an InputError unless it names a ``.nii`` / ``.nii.gz`` file."""
    path = Path(path).expanduser()
    if not path.name.lower().endswith(NIFTI_SUFFIXES) or path.is_dir():
        raise InputError(f"output {path} is not a .nii or .nii.gz file name; expected e.g. liver.nii.gz")
    return path


def mask_image(mask: np.ndarray, scan: Scan) -> nib.Nifti1Image:
    """A uint8 NIfTI image of ``mask`` with ``scan``'s header (or, from DICOM, its affine as scanner coordinates).

    Parameters
    ----------
    mask : ndarray of ``scan.hu``'s shape
        0 outside, 1 inside.
    scan : Scan
        The CT it belongs to.

    Returns
    -------
    Nifti1Image or Nifti2Image
        The input's header with its qform and sform (codes included), data type uint8
        without scaling, ``cal_min``/``cal_max`` 0/1: the same voxel grid and world
        coordinates as the CT.

    Raises
    ------
    InputError
        ``mask`` does not have the scan's shape.
    """
    mask = np.asarray(mask)
    if mask.shape != scan.hu.shape:
        raise InputError(f"mask has shape {mask.shape}; expected the shape of {scan.path}, {scan.hu.shape}")
    mask = np.ascontiguousarray(mask > 0, dtype=np.uint8)
    if isinstance(scan.header, nib.Nifti1Header):  # Nifti2Header subclasses it
        kind = nib.Nifti2Image if isinstance(scan.header, nib.Nifti2Header) else nib.Nifti1Image
        image = kind(mask, None, header=scan.header.copy())
    else:
        image = nib.Nifti1Image(mask, scan.affine)
        image.set_qform(scan.affine, code="scanner")
        image.set_sform(scan.affine, code="scanner")
        image.header.set_xyzt_units("mm")
    image.header.set_data_dtype(np.uint8)
    image.header.set_slope_inter(1.0, 0.0)
    image.header["cal_min"], image.header["cal_max"] = 0, 1
    image.header["descrip"] = b"liver mask, lsn_explorer"
    return image


def write_mask(path: str | os.PathLike, mask: np.ndarray, scan: Scan) -> Path:
    """Write ``mask`` as a NIfTI file on ``scan``'s grid, atomically.

    The file appears complete or not at all (a temporary file renamed in place, see
    :func:`~lsn_explorer._files.atomic_path`).

    Parameters
    ----------
    path : str or path-like
        ``.nii`` or ``.nii.gz``.
    mask : ndarray of ``scan.hu``'s shape
    scan : Scan

    Returns
    -------
    Path
    """
    path = check_output_path(path)
    image = mask_image(mask, scan)
    with atomic_path(path) as tmp:
        nib.save(image, str(tmp))
    return path
