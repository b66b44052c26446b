"""From a file's voxel array to slices as a viewer shows them, and back.

A NIfTI file (or a DICOM series read as one) stores its voxels in any axis order and
direction; its affine says where each axis points. Networks here were trained on slices
in *radiological display* (:mod:`lsn_explorer.data.preprocess`): an ``(Z, H, W)`` stack,
slice 0 the most inferior, row 0 the most anterior row, column 0 the patient's right.
:func:`to_display` brings a file's ``(X, Y, Z)`` array there, :func:`from_display`
brings a mask back onto the file's grid voxel for voxel (only axes are permuted and
flipped, nothing is resampled), and :func:`display_index` says where a voxel of the file
lands. An axial DICOM series (columns → patient's left, rows → posterior) is already in
display order slice by slice: its ``pixel_array`` is the display slice.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from ..data.preprocess import to_display_axes

__all__ = ["to_display", "from_display", "display_index"]

_RAS = nib.orientations.axcodes2ornt("RAS")


def _to_ras(affine: np.ndarray) -> np.ndarray:
    """The nibabel orientation transform from the file's axes to the closest RAS+ axes."""
    return nib.orientations.ornt_transform(nib.orientations.io_orientation(np.asarray(affine)), _RAS)


def to_display(array: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """A file's ``(X, Y, Z)`` voxel array as ``(Z, H, W)`` slices in radiological display.

    Parameters
    ----------
    array : (X, Y, Z) ndarray
        Voxels in the file's order.
    affine : (4, 4) ndarray
        Voxel index → RAS millimetres (nibabel's ``img.affine``).

    Returns
    -------
    (Z, H, W) ndarray
        A view of ``array``: slices inferior → superior, rows anterior → posterior,
        columns patient's right → left.
    """
    return to_display_axes(nib.orientations.apply_orientation(array, _to_ras(affine)))


def from_display(display: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_display`: ``(Z, H, W)`` display slices back to the file's ``(X, Y, Z)`` order.

    Parameters
    ----------
    display : (Z, H, W) ndarray
    affine : (4, 4) ndarray
        The file's affine.

    Returns
    -------
    (X, Y, Z) ndarray
        ``from_display(to_display(a, affine), affine)`` equals ``a``.
    """
    canonical = np.asarray(display)[:, ::-1, ::-1].transpose(2, 1, 0)
    back = nib.orientations.ornt_transform(_RAS, nib.orientations.io_orientation(np.asarray(affine)))
    return np.ascontiguousarray(nib.orientations.apply_orientation(canonical, back))


def display_index(index, affine: np.ndarray, shape) -> tuple[int, int, int]:
    """Where voxel ``index`` = (i, j, k) of a file's array lands in :func:`to_display`'s ``(Z, H, W)``.

    Parameters
    ----------
    index : (int, int, int)
        Voxel indices in the file's array order (0-based).
    affine : (4, 4) ndarray
    shape : (int, int, int)
        The file's array shape.

    Returns
    -------
    (z, row, col) : tuple of int
        ``to_display(a, affine)[z, row, col] == a[index]``.
    """
    transform = _to_ras(affine)
    canonical, size = [0, 0, 0], [0, 0, 0]
    for axis, (target, flip) in enumerate(transform.astype(int)):
        size[target] = int(shape[axis])
        canonical[target] = int(index[axis]) if flip > 0 else int(shape[axis]) - 1 - int(index[axis])
    return canonical[2], size[1] - 1 - canonical[1], size[0] - 1 - canonical[0]
