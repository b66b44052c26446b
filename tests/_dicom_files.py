"""Small DICOM series for the segmentation tests (not a test module).

Each slice is a real CT Image Storage file with ImagePositionPatient, ImageOrientationPatient
(columns → patient's left, rows → posterior, the usual axial LPS), PixelSpacing and a
RescaleSlope / RescaleIntercept, written with pydicom one file per slice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_series", "write_non_image_dicom", "series_affine", "ct_slice"]


def series_affine(spacing=(0.8, 0.9), step=2.5, origin=(-12.0, -10.0, -100.0)) -> np.ndarray:
    """The RAS affine of :func:`write_series`'s voxel array (column, row, slice)."""
    lps = np.diag([spacing[1], spacing[0], step, 1.0])
    lps[:3, 3] = origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def write_series(folder, hu: np.ndarray, *, spacing=(0.8, 0.9), step=2.5, origin=(-12.0, -10.0, -100.0),
                 uid: str | None = None, description: str = "CT Body", modality: str = "CT") -> list[Path]:
    """Write ``hu`` ``(Z, rows, columns)`` (slice 0 nearest the feet) as one DICOM series in ``folder``.

    Stored values are ``hu + 1024`` (uint16) with RescaleSlope 1 and RescaleIntercept -1024;
    files are named in reverse slice order so a reader must sort by position.
    """
    from pydicom.uid import generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    uid = uid or generate_uid()
    study = generate_uid()
    paths = []
    for k, pixels in enumerate(np.asarray(hu)):
        position = [origin[0], origin[1], origin[2] + step * k]
        path = folder / f"IM{len(hu) - k:04d}.dcm"
        ct_slice(pixels, position, spacing, uid, study, description, modality, k).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _file_dataset(sop_class):
    """An empty DICOM file dataset of SOP class ``sop_class``, with its meta header and a new instance UID."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    return ds


def ct_slice(pixels, position, spacing, series_uid, study_uid, description="CT Body", modality="CT", number=0):
    """One CT Image Storage dataset: ``pixels`` (rows, columns) in HU stored as ``hu + 1024``, axial LPS."""
    from pydicom.uid import CTImageStorage

    ds = _file_dataset(CTImageStorage)
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study_uid, series_uid, number + 1
    ds.Modality, ds.SeriesDescription = modality, description
    ds.Rows, ds.Columns = pixels.shape
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [float(p) for p in position]
    ds.PixelSpacing = [float(s) for s in spacing]
    ds.SliceThickness = 2.0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = (np.asarray(pixels, dtype=np.int32) + 1024).astype(np.uint16).tobytes()
    return ds


def write_non_image_dicom(path) -> Path:
    """A DICOM file that holds no image (a structure set without contours)."""
    from pydicom.uid import RTStructureSetStorage, generate_uid

    ds = _file_dataset(RTStructureSetStorage)
    ds.Modality, ds.SeriesInstanceUID = "RTSTRUCT", generate_uid()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
