"""A user's CT scan: a NIfTI file or a DICOM folder read as Hounsfield units, its grid and its header.

:func:`read_scan` reads either and checks what a segmentation needs: one 3-D volume,
finite values, and a CT's intensity range (:func:`check_hu`). :func:`read_ct` gives the
slices as a viewer shows them, ready for :func:`~lsn_explorer.segmentation.segment`.
No label is read or needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.dicom import read_dicom_folder
from ..data.loading import load_nifti
from ..errors import DataFileError, InputError, MissingDataError
from .orientation import to_display

__all__ = ["Scan", "read_scan", "read_ct", "check_hu", "AIR_OR_FAT_HU", "NIFTI_SUFFIXES"]

#: A CT holds air or fat somewhere: values at or below this many HU (MR, PNG and windowed images do not).
AIR_OR_FAT_HU = -100.0

#: File names read as NIfTI.
NIFTI_SUFFIXES = (".nii", ".nii.gz")

_EXPECTED = "expected a NIfTI file (.nii or .nii.gz) or a folder of DICOM slices"


@dataclass(frozen=True, eq=False)
class Scan:
    """A CT as read from a file, on the file's own voxel grid.

    Attributes
    ----------
    hu : (X, Y, Z) ndarray
        Hounsfield units in the file's array order (a DICOM series: columns, rows,
        slices sorted feet to head along the slice normal).
    affine : (4, 4) ndarray
        Voxel index → RAS millimetres.
    path : Path
        The file or folder read.
    header : nibabel header or None
        The NIfTI header (None for DICOM), kept so a mask can be written with it.
    """

    hu: np.ndarray
    affine: np.ndarray
    path: Path
    header: object | None = None

    def display(self) -> np.ndarray:
        """The volume as ``(Z, H, W)`` slices in radiological display (see :mod:`.orientation`)."""
        return to_display(self.hu, self.affine)


def read_scan(path: str | os.PathLike, *, series: str | None = None) -> Scan:
    """Read a CT from a NIfTI file or a DICOM folder.

    Parameters
    ----------
    path : str or path-like
        A ``.nii`` / ``.nii.gz`` file, or a folder of DICOM slices (sub-folders searched).
    series : str, optional
        The ``SeriesInstanceUID`` to read from a DICOM folder holding several series.

    Returns
    -------
    Scan

    Raises
    ------
    MissingDataError
        ``path`` does not exist.
    DataFileError
        Neither NIfTI nor a folder; unreadable; not one 3-D volume (a 4-D file);
        NaN/inf voxels; values outside a CT's range (see :func:`check_hu`); a DICOM
        folder without an image series. The message names the file.
    InputError
        A DICOM folder with several series and no (or an unknown) ``series``; it lists them.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingDataError(f"{path} does not exist; {_EXPECTED}")
    if path.is_dir():
        hu, affine = read_dicom_folder(path, series=series)
        header = None
    elif path.name.lower().endswith(NIFTI_SUFFIXES):
        hu, affine, header = _read_nifti(path)
    else:
        raise DataFileError(f"{path} is neither NIfTI nor a folder; {_EXPECTED} (other formats, PNG included, "
                            "hold no CT grid)")
    if np.issubdtype(hu.dtype, np.floating) and not np.isfinite(hu).all():
        bad = int(hu.size - np.count_nonzero(np.isfinite(hu)))
        raise DataFileError(f"{path} holds {bad} NaN/inf voxels; expected finite Hounsfield units")
    check_hu(hu, str(path), error=DataFileError)
    return Scan(hu=hu, affine=affine, path=path, header=header)


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray, object]:
    """``(voxels (X, Y, Z), affine, header)`` of a NIfTI file; a 2-D file becomes one slice."""
    data, affine, header = load_nifti(path)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise DataFileError(f"{path} holds a {data.ndim}-D array of shape {data.shape}; expected a 3-D CT volume "
                            "(x, y, z): split a time series or multi-channel file into volumes first")
    return data, affine, header


def check_hu(values: np.ndarray, name: str, *, error: type[Exception] = InputError) -> None:
    """Raise unless ``values`` look like Hounsfield units of a CT.

    A CT holds air (about -1000 HU) or fat (about -100 HU) somewhere; an MR, a PNG,
    an image already windowed to [-1, 1] or a CT whose ``RescaleIntercept`` was not
    applied (stored values from 0) hold nothing below :data:`AIR_OR_FAT_HU`.

    Parameters
    ----------
    values : ndarray
        The image, any shape.
    name : str
        The file or argument, for the message.
    error : exception class
        Raised on failure. Default InputError.
    """
    if values.size == 0:
        raise error(f"{name} is empty; expected a CT in Hounsfield units")
    low, high = float(np.min(values)), float(np.max(values))
    if low > AIR_OR_FAT_HU:
        raise error(f"{name} holds values from {low:g} to {high:g}; expected a CT in Hounsfield units, with air or fat "
                    f"at or below {AIR_OR_FAT_HU:g} HU (an MR, a PNG, a windowed image or stored values without "
                    "RescaleIntercept are not CT)")


def read_ct(path: str | os.PathLike, *, series: str | None = None) -> np.ndarray:
    """A CT file or DICOM folder as ``(Z, H, W)`` Hounsfield units, slices as a viewer shows them.

    Parameters
    ----------
    path : str or path-like
        A ``.nii`` / ``.nii.gz`` file or a DICOM folder (see :func:`read_scan`).
    series : str, optional
        The ``SeriesInstanceUID``, for a DICOM folder with several series.

    Returns
    -------
    (Z, H, W) ndarray
        Slice 0 the most inferior, row 0 anterior, column 0 the patient's right
        (radiological display, as the networks were trained); the file's dtype.

    Raises
    ------
    MissingDataError, DataFileError, InputError
        As :func:`read_scan`.

    Examples
    --------
    >>> ct = read_ct("ct.nii.gz")  # doctest: +SKIP
    >>> liver = segment(ct[10])    # doctest: +SKIP
    """
    return read_scan(path, series=series).display()
