"""``segment``: a CT in, the liver out, by a network or by the classical level set from seeds.

Orientation
-----------
Everything is segmented as ``(Z, H, W)`` slices in radiological display (slice 0 the
most inferior, row 0 anterior, column 0 the patient's right), the orientation the
networks were trained in, and the mask is returned in the input's own layout:

========================================  ==================================================
input                                     how its axes are read; seeds ``(x, y, z)``
========================================  ==================================================
``(H, W)`` array                          one axial slice as a viewer shows it (a DICOM
                                          ``pixel_array`` in HU); seeds ``(x, y)`` =
                                          ``image[y, x]``
``(Z, H, W)`` array                       a stack of such slices, feet first (SimpleITK's
                                          ``GetArrayFromImage`` of an axial series, or
                                          :func:`read_ct`); seeds = ``image[z, y, x]``
``(X, Y, Z)`` array with ``affine=``      a NIfTI voxel array as nibabel gives it and its
                                          affine; reoriented by the affine; seeds =
                                          ``image[x, y, z]``
a ``.nii[.gz]`` path or a DICOM folder    read by :func:`read_scan`; seeds are indices of
                                          the file's voxel array ``[x, y, z]`` (nibabel's
                                          order, 3D Slicer's IJK); a DICOM series is
                                          ``[column, row, slice]``, slices sorted feet to head
========================================  ==================================================

Seeds are 0-based voxel indices (rounded to the nearest voxel).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..errors import InputError
from .levelset import levelset_volume
from .networks import network_volume, resolve_model
from .orientation import display_index, from_display, to_display
from .scan import Scan, check_hu, read_scan
from .settings import TUNED_LEVELSET, LevelSetParams

__all__ = ["segment", "segment_scan"]


def segment(
    image,
    method="unet",
    *,
    seeds: Sequence[Sequence[float]] | None = None,
    affine: np.ndarray | None = None,
    series: str | None = None,
    levelset: LevelSetParams | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
    iter_callback: Callable[[int, torch.Tensor], None] | None = None,
    batch_size: int = 16,
):
    """Segment the liver in a CT: an array in HU, a NIfTI file or a DICOM folder.

    Parameters
    ----------
    image : (H, W) or (Z, H, W) array, (X, Y, Z) array with ``affine``, path or Scan
        Hounsfield units (see the module's table for how each layout is read), or a
        ``.nii`` / ``.nii.gz`` file, or a folder of DICOM slices.
    method : str, path-like or nn.Module
        ``"unet"`` (default, the bundled UNet), any bundled model (``"speed-map-lsn"``...),
        a checkpoint file, a model, or ``"levelset"``: the classical geodesic active
        contour grown from ``seeds`` with the tuned settings.
    seeds : sequence of (x, y, z), optional
        Points inside the liver, for ``"levelset"`` (``(x, y)`` for a 2-D image):
        0-based voxel indices of the input as the module's table says.
    affine : (4, 4) ndarray, optional
        For an ``(X, Y, Z)`` array in a NIfTI file's order: its voxel → RAS affine.
    series : str, optional
        The ``SeriesInstanceUID`` of a DICOM folder holding several series.
    levelset : LevelSetParams, optional
        Level-set settings; default :data:`~lsn_explorer.segmentation.TUNED_LEVELSET`.
    device : str or torch.device
        Where the network or the solver runs. Default "auto".
    progress : bool
        A tqdm bar over the slices (on stderr). Default False.
    iter_callback : callable, optional
        ``"levelset"`` only: ``iter_callback(z, u)`` after every step of display slice
        ``z``, with its ``(h, w)`` level set (positive inside): watch the front move.
    batch_size : int
        Slices per forward pass of a network. Default 16.

    Returns
    -------
    mask : uint8 ndarray of the input's shape
        1 = liver. For a path (or Scan), ``(mask, affine)``: the mask in the file's
        voxel order and the file's voxel → RAS affine.

    Raises
    ------
    InputError
        Not a 2-D or 3-D numeric array; values that are not CT HU (an MR, a PNG: see
        :func:`check_hu`); ``"levelset"`` without seeds, seeds with a network, or a
        seed outside the image; an unknown method.
    MissingDataError, DataFileError
        From reading a file (see :func:`read_scan`): the message names it.

    Examples
    --------
    >>> ct = read_ct("ct.nii.gz")                                     # doctest: +SKIP
    >>> liver = segment(ct[10])                                       # doctest: +SKIP
    >>> mask, affine = segment("ct.nii.gz", "levelset", seeds=[(300, 260, 10)])  # doctest: +SKIP
    """
    options = dict(levelset=levelset, device=device, progress=progress, iter_callback=iter_callback,
                   batch_size=batch_size)
    if isinstance(image, (str, os.PathLike, Scan)):
        if affine is not None:
            raise InputError("affine= is for an (X, Y, Z) array; a file carries its own affine")
        scan = image if isinstance(image, Scan) else read_scan(image, series=series)
        return segment_scan(scan, method, seeds=seeds, **options), scan.affine
    array = _hu_array(image, affine)
    if array.ndim == 2:
        display, restore = array[None], (lambda m: m[0])
    elif affine is None:
        display, restore = array, (lambda m: m)
    else:
        display, restore = to_display(array, affine), (lambda m: from_display(m, affine))
    points = None if seeds is None else _display_seeds(seeds, array.shape, affine, "image")
    return np.ascontiguousarray(restore(_segment_display(display, method, points, **options)))


def segment_scan(scan: Scan, method="unet", *, seeds=None, levelset: LevelSetParams | None = None,
                 device: str | torch.device = "auto", progress: bool = False, iter_callback=None,
                 batch_size: int = 16) -> np.ndarray:
    """:func:`segment` of a :class:`Scan`: the ``(X, Y, Z)`` uint8 mask on its grid (keywords as ``segment``)."""
    points = None if seeds is None else _display_seeds(seeds, scan.hu.shape, scan.affine, str(scan.path))
    mask = _segment_display(scan.display(), method, points, levelset=levelset, device=device, progress=progress,
                            iter_callback=iter_callback, batch_size=batch_size)
    return from_display(mask, scan.affine)


def _segment_display(display, method, seeds, *, levelset, device, progress, iter_callback, batch_size) -> np.ndarray:
    """The ``(Z, H, W)`` uint8 mask of display slices in HU."""
    if isinstance(method, str) and method == "levelset":
        if not seeds:
            raise InputError("method='levelset' needs seeds: points inside the liver as (x, y, z) voxel indices "
                             "(--seed X,Y,Z on the command line)")
        return levelset_volume(np.asarray(display), seeds, levelset or TUNED_LEVELSET, device=device,
                               progress=progress, iter_callback=iter_callback)
    if seeds is not None or iter_callback is not None:
        raise InputError(f"seeds and iter_callback are for method='levelset'; method={method!r} is a network")
    return network_volume(np.asarray(display), resolve_model(method), device=device, progress=progress,
                          batch_size=batch_size)


def _hu_array(image, affine) -> np.ndarray:
    """``image`` as a checked 2-D or 3-D numeric array of HU."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"image has dtype {array.dtype}; expected numbers in Hounsfield units")
    if array.ndim not in (2, 3) or (affine is not None and array.ndim != 3):
        raise InputError(f"image has shape {array.shape}; expected (H, W), (Z, H, W), or (X, Y, Z) with affine=")
    if affine is not None and np.asarray(affine).shape != (4, 4):
        raise InputError(f"affine has shape {np.asarray(affine).shape}; expected (4, 4)")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise InputError(f"image holds {int(array.size - np.isfinite(array).sum())} NaN/inf values; expected finite HU")
    check_hu(array, "image")
    return array


def _display_seeds(seeds, shape, affine, name: str) -> list[tuple[int, int, int]]:
    """Seeds ``(x, y[, z])`` of an input as display ``(z, row, col)``, each checked to lie inside it."""
    if len(shape) == 2:
        sizes, order = (shape[1], shape[0], 1), "image[y, x]"
    elif affine is None:
        sizes, order = (shape[2], shape[1], shape[0]), "image[z, y, x]"
    else:
        sizes, order = tuple(shape), "the voxel array's [x, y, z]"
    points = []
    for seed in seeds:
        point = _seed_point(seed, len(shape))
        if not all(0 <= p < n for p, n in zip(point, sizes)):
            raise InputError(f"seed {point} is outside {name}, whose voxel array has shape {tuple(shape)}; expected "
                             f"0 <= x < {sizes[0]}, 0 <= y < {sizes[1]}, 0 <= z < {sizes[2]} (indices of {order})")
        x, y, z = point
        points.append((z, y, x) if affine is None else display_index((x, y, z), affine, shape))
    return points


def _seed_point(seed, ndim: int) -> tuple[int, int, int]:
    """One seed as three rounded ints ``(x, y, z)``; ``(x, y)`` is allowed for a 2-D image."""
    try:
        values = [float(v) for v in seed]
    except (TypeError, ValueError):
        raise InputError(f"seed {seed!r} is not a sequence of numbers; expected (x, y, z) voxel indices") from None
    if len(values) == 2 and ndim == 2:
        values.append(0.0)
    if len(values) != 3:
        raise InputError(f"seed {tuple(seed)} has {len(values)} values; expected (x, y, z) voxel indices"
                         + (" or (x, y)" if ndim == 2 else ""))
    if not all(np.isfinite(values)):
        raise InputError(f"seed {tuple(seed)} is not finite; expected (x, y, z) voxel indices")
    return tuple(int(round(v)) for v in values)
