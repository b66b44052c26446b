"""DICOM folders: which image series a folder holds, and one series as a HU volume with its affine.

A CT exported from a scanner or a PACS is a folder of DICOM files, often with several
series (a scout, a lung and a soft-tissue reconstruction...). :func:`find_series` lists
the image series of a folder (its sub-folders included); :func:`read_dicom_folder`
reads one, chosen by its ``SeriesInstanceUID`` when there are several;
:func:`dicom_series` turns the slices of one series into an ``(X, Y, Z)`` array of
Hounsfield units and a voxel-to-RAS affine, the form a NIfTI file gives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError, InputError, MissingDataError

__all__ = ["DicomSeries", "find_series", "choose_series", "read_dicom_folder", "dicom_series"]

#: The attributes without which a DICOM file is not a slice of an image series.
_IMAGE_TAGS = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns")


@dataclass(frozen=True)
class DicomSeries:
    """One image series of a DICOM folder.

    Attributes
    ----------
    uid : str
        Its ``SeriesInstanceUID``.
    modality : str
        ``Modality`` ("CT", "MR"...), "" when absent.
    description : str
        ``SeriesDescription``, "" when absent.
    files : tuple of Path
        Its slices, in file-name order.
    """

    uid: str
    modality: str
    description: str
    files: tuple[Path, ...]

    def summary(self) -> str:
        """``uid (CT, 20 slices, 'CT Body 3.0')``: how an error lists the series."""
        what = ", ".join(x for x in (self.modality, f"{len(self.files)} slices", repr(self.description)) if x)
        return f"{self.uid} ({what})"


def _headers(folder: Path) -> tuple[dict[str, list], dict[str, int]]:
    """``{uid: [(path, dataset)]}`` of the image slices under ``folder``, and counts of the other files."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    groups: dict[str, list] = {}
    others = {"not DICOM": 0, "DICOM without an image": 0}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError, KeyError, TypeError):
            others["not DICOM"] += 1
            continue
        if not all(tag in ds for tag in _IMAGE_TAGS) or int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
            others["DICOM without an image"] += 1
            continue
        groups.setdefault(str(getattr(ds, "SeriesInstanceUID", "")), []).append((path, ds))
    return groups, others


def find_series(folder: str | os.PathLike) -> list[DicomSeries]:
    """The image series of a DICOM folder (searched with its sub-folders), sorted by UID.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of DicomSeries
        Single-frame image slices (with position, orientation and pixel spacing)
        grouped by ``SeriesInstanceUID``.

    Raises
    ------
    MissingDataError
        ``folder`` is not an existing folder.
    DataFileError
        It holds no image series; the message counts what it holds instead.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise MissingDataError(f"{folder} does not exist; expected a folder of DICOM slices")
    groups, others = _headers(folder)
    if not groups:
        found = ", ".join(f"{n} {kind}" for kind, n in others.items() if n) or "no files"
        raise DataFileError(f"{folder} holds no DICOM image series ({found}); expected a folder of CT slices "
                            "(DICOM files with ImagePositionPatient, ImageOrientationPatient and PixelSpacing)")
    series = []
    for uid, members in sorted(groups.items()):
        first = members[0][1]
        modality, description = (str(getattr(first, name, "")) for name in ("Modality", "SeriesDescription"))
        series.append(DicomSeries(uid, modality, description, tuple(path for path, _ in members)))
    return series


def choose_series(folder: str | os.PathLike, series: str | None = None) -> DicomSeries:
    """The series of ``folder`` to read: its only one, or the one whose UID is ``series``.

    Raises
    ------
    InputError
        Several series and ``series`` not given, or ``series`` not among them; the
        message lists every series with its modality, slice count and description.
    """
    found = find_series(folder)
    listing = "; ".join(s.summary() for s in found)
    if series is not None:
        chosen = [s for s in found if s.uid == str(series)]
        if not chosen:
            raise InputError(f"series={series!r} is not in {folder}; it holds {listing}")
        return chosen[0]
    if len(found) > 1:
        raise InputError(f"{folder} holds {len(found)} DICOM image series; choose one with series=UID "
                         f"(--series UID): {listing}")
    return found[0]


def read_dicom_folder(folder: str | os.PathLike, *, series: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One image series of a DICOM folder as HU and its RAS affine.

    Parameters
    ----------
    folder : str or path-like
        A folder of DICOM files (sub-folders are searched too).
    series : str, optional
        The ``SeriesInstanceUID`` to read; needed when the folder holds several
        image series.

    Returns
    -------
    volume : (columns, rows, slices) int16 ndarray
        See :func:`dicom_series`.
    affine : (4, 4) ndarray

    Raises
    ------
    MissingDataError, DataFileError, InputError
        See :func:`find_series` and :func:`choose_series`; DataFileError also for
        slices that do not form one volume.
    """
    chosen = choose_series(folder, series)
    try:
        return dicom_series(chosen.files)
    except (ValueError, AttributeError, KeyError, OSError) as exc:
        raise DataFileError(f"{folder}: series {chosen.uid} cannot be read as one volume ({type(exc).__name__}: "
                            f"{exc}); expected axial slices of one size and orientation") from None


def dicom_series(files) -> tuple[np.ndarray, np.ndarray]:
    """Read one axial DICOM series into an ``(X, Y, Z)`` int16 HU array and its RAS affine.

    Parameters
    ----------
    files : sequence of paths or file-like objects
        The slices, in any order.

    Returns
    -------
    volume : (columns, rows, slices) int16 ndarray
        Hounsfield units (``stored · RescaleSlope + RescaleIntercept``), slices
        sorted along the slice normal.
    affine : (4, 4) ndarray
        Voxel (column, row, slice) → RAS millimetres. DICOM positions are LPS, so
        the first two rows of the LPS affine change sign. A single slice is given
        its ``SpacingBetweenSlices`` (else ``SliceThickness``, else 1 mm) as depth.

    Raises
    ------
    ValueError
        No slice, slices of different orientation, or two slices at one position.
    """
    import pydicom

    datasets = [pydicom.dcmread(f) for f in files]
    if not datasets:
        raise ValueError("a series needs at least 1 slice, got 0")
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=np.float64)
    if any(not np.allclose(d.ImageOrientationPatient, orientation) for d in datasets):
        raise ValueError("the slices have different ImageOrientationPatient")
    row, col = orientation[:3], orientation[3:]
    normal = np.cross(row, col)
    datasets.sort(key=lambda d: float(np.dot(d.ImagePositionPatient, normal)))
    depths = [float(np.dot(d.ImagePositionPatient, normal)) for d in datasets]
    if len(set(np.round(depths, 4))) < len(depths):
        raise ValueError("two slices share one ImagePositionPatient (several acquisitions in one series)")
    first, last = (np.array(d.ImagePositionPatient, dtype=np.float64) for d in (datasets[0], datasets[-1]))
    step = (last - first) / (len(datasets) - 1) if len(datasets) > 1 else normal * _slice_depth(datasets[0])
    spacing_row, spacing_col = (float(s) for s in datasets[0].PixelSpacing)  # between rows, between columns
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * spacing_col, col * spacing_row, step, first
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    pixels = np.stack([d.pixel_array.astype(np.float64) * float(getattr(d, "RescaleSlope", 1))
                       + float(getattr(d, "RescaleIntercept", 0)) for d in datasets], axis=-1)  # (rows, cols, Z)
    return np.round(pixels).astype(np.int16).transpose(1, 0, 2), affine


def _slice_depth(ds) -> float:
    for name in ("SpacingBetweenSlices", "SliceThickness"):
        value = getattr(ds, name, None)
        if value is not None and float(value) > 0:
            return float(value)
    return 1.0
