"""Load LiTS-style volumes as preprocessed arrays: the one entry point to the data.

:func:`load_volumes` finds the cases of a source (see :mod:`.lits`), reads each
NIfTI pair, checks it, preprocesses it (see :mod:`.preprocess`) and keeps the
result in the on-disk cache (see :mod:`.cache`), so that the second load of the
same files with the same settings only reads ``.npz`` arrays.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DataFileError, InputError, MissingDataError
from . import preprocess as pp
from .cache import cache_entry, read_cached, write_cached
from .lits import Case, find_cases
from .volume import PreprocessSettings, Volume

__all__ = ["load_volumes", "load_volume", "check_settings"]

_TARGETS = ("liver", "tumour")
_SLICES = ("liver", "all")
_LABEL_VALUES = (0, 1, 2)
# what nibabel, gzip and zlib raise on truncated or corrupt files
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, struct.error, nib.filebasedimages.ImageFileError)


def check_settings(settings: PreprocessSettings | None) -> PreprocessSettings:
    """Validate preprocessing settings and return them in normal form.

    Parameters
    ----------
    settings : PreprocessSettings or None
        ``None`` gives the defaults.

    Returns
    -------
    PreprocessSettings
        With ``window`` as a tuple of two floats (or None) and ``size`` an int.

    Raises
    ------
    InputError
        Naming the field, the value found and what is allowed.
    """
    if settings is None:
        return PreprocessSettings()
    if not isinstance(settings, PreprocessSettings):
        raise InputError(f"settings={settings!r}; expected a PreprocessSettings or None")
    window = settings.window
    if window is not None:
        try:
            lower, upper = (float(w) for w in window)
        except (TypeError, ValueError):
            raise InputError(f"PreprocessSettings.window={window!r}; expected (lower, upper) HU or None") from None
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise InputError(f"PreprocessSettings.window={window!r}; expected finite lower < upper")
        window = (lower, upper)
    size = settings.size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise InputError(f"PreprocessSettings.size={size!r}; expected a positive integer (pixels)")
    if settings.target not in _TARGETS:
        raise InputError(f"PreprocessSettings.target={settings.target!r}; expected one of {list(_TARGETS)}")
    if settings.slices not in _SLICES:
        raise InputError(f"PreprocessSettings.slices={settings.slices!r}; expected one of {list(_SLICES)}")
    return replace(settings, window=window, size=int(size))


def load_volumes(
    source: str | os.PathLike,
    *,
    settings: PreprocessSettings | None = None,
    ids: Sequence[int] | None = None,
    cache: bool = True,
) -> list[Volume]:
    """Read, check and preprocess the volumes of a LiTS-style data set.

    Parameters
    ----------
    source : str or path-like
        A folder (flat or ``TrainingBatch1/2``, ``.nii`` or ``.nii.gz``), a CSV
        ``dataid,image,label``, ``"phantom"`` or ``"sample"``; see :func:`find_cases`.
    settings : PreprocessSettings, optional
        Window, in-plane size, target and slice selection; default
        ``PreprocessSettings()`` (HU [-100, 400] -> [-1, 1], 256 px,
        liver ∪ tumour, liver slices).
    ids : sequence of int, optional
        Load only these dataids (default: all).
    cache : bool
        Read and write the preprocessed arrays in ``cache_dir()/preprocessed``.

    Returns
    -------
    list of Volume
        Sorted by dataid. Volumes whose label holds no liver are left out with a
        warning. A volume without a label file loads with ``mask=None`` and all
        its slices (there is no liver extent to select); only a Dice or a loss
        needs the label.

    Raises
    ------
    InputError
        Bad settings, or ``ids`` not in the source.
    MissingDataError
        See :func:`find_cases`.
    DataFileError
        A file that cannot be read, is not 3-D, whose volume and segmentation
        shapes differ, whose image holds NaN/inf, or whose labels are not
        integers in {0, 1, 2}. The message names the file.

    Examples
    --------
    >>> volumes = load_volumes("phantom", settings=PreprocessSettings(size=128))  # doctest: +SKIP
    >>> volumes[0].image.shape  # doctest: +SKIP
    (25, 128, 128)
    """
    settings = check_settings(settings)
    cases = find_cases(source)
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        known = {case.dataid for case in cases}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise InputError(f"ids={unknown} are not in {source!s}; it holds dataids {sorted(known)}")
        cases = [case for case in cases if case.dataid in set(wanted)]
    volumes = []
    for case in cases:
        volume = load_volume(case, settings=settings, cache=cache)
        if volume is not None:
            volumes.append(volume)
    return volumes


def load_volume(case: Case, *, settings: PreprocessSettings | None = None, cache: bool = True) -> Volume | None:
    """Load one case (see :func:`load_volumes`); None, with a warning, if it has no liver."""
    settings = check_settings(settings)
    entry = cache_entry(case, settings) if cache else None
    if entry is not None:
        hit, volume = read_cached(entry, case)
        if hit:
            if volume is None:
                _warn_no_liver(case)
            return volume
    volume = _preprocess_case(case, settings)
    if entry is not None:
        write_cached(entry, volume)
    if volume is None:
        _warn_no_liver(case)
    return volume


def _warn_no_liver(case: Case) -> None:
    warnings.warn(
        f"{case.label_path} has no liver (no label > 0); volume {case.dataid} is skipped",
        stacklevel=4,
    )


def _preprocess_case(case: Case, settings: PreprocessSettings) -> Volume | None:
    """Read, check and preprocess one case; None if its label holds no liver."""
    image, image_affine = _read_nifti(case.image_path)
    _check_image_values(image, case.image_path)
    label, label_affine = _read_label(case, image.shape)
    file_index = pp.file_slice_index(image_affine, image.shape)
    image, label, affine = pp.to_canonical(image, label, image_affine, label_affine, name=str(case.label_path))
    size_x, size_y, size_z = pp.voxel_sizes(affine)
    image = pp.to_display_axes(image)
    index, mask = file_index, None
    if label is not None:
        label = pp.to_display_axes(label)
        extent = pp.liver_slices(label)
        if extent.size == 0:
            return None
        if settings.slices == "liver":
            index = file_index[extent]
            image, label = image[extent[0] : extent[-1] + 1], label[extent[0] : extent[-1] + 1]
        mask = np.ascontiguousarray(pp.select_target(pp.resize_label(label, settings.size), settings.target))
    height, width = image.shape[1:]
    image = pp.window_hu(pp.resize_image(image, settings.size), settings.window)
    spacing = (size_z, size_y * height / settings.size, size_x * width / settings.size)
    return Volume(
        dataid=int(case.dataid),
        image=np.ascontiguousarray(image),
        mask=mask,
        spacing=tuple(float(s) for s in spacing),
        slice_index=index,
        image_path=str(case.image_path),
        label_path=None if case.label_path is None else str(case.label_path),
    )


def _read_label(case: Case, shape: tuple) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The checked uint8 label of a case and its affine; ``(None, None)`` for a case without a label."""
    if case.label_path is None:
        return None, None
    label, label_affine = _read_nifti(case.label_path)
    if label.shape != shape:
        raise DataFileError(
            f"{case.image_path.name} has shape {shape} but {case.label_path.name} has shape "
            f"{label.shape}; expected the same shape ({case.image_path.parent})"
        )
    return _check_label_values(label, case.label_path), label_affine


def load_nifti(path) -> tuple[np.ndarray, np.ndarray, object]:
    """Voxels (file order, trailing length-1 axes dropped), affine and header of a NIfTI file.

    Raises
    ------
    MissingDataError
        No such file.
    DataFileError
        A file nibabel cannot read (truncated, corrupt, not NIfTI), naming it.
    """
    if not Path(path).is_file():
        raise MissingDataError(f"{path} does not exist; expected a NIfTI file")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
        affine = np.asarray(img.affine, dtype=np.float64)
    except MemoryError:
        raise
    except _READ_ERRORS as error:
        raise DataFileError(
            f"{path} cannot be read ({type(error).__name__}: {error}); expected a complete NIfTI "
            "(.nii or .nii.gz) file — it may be truncated or corrupt"
        ) from error
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return data, affine, img.header


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Voxel array (3-D, file order) and affine of a NIfTI file, or a DataFileError naming it."""
    data, affine, _ = load_nifti(path)
    if data.ndim != 3:
        raise DataFileError(f"{path} holds a {data.ndim}-D array of shape {data.shape}; expected a 3-D volume (x, y, z)")
    return data, affine


def _check_image_values(image: np.ndarray, path: Path) -> None:
    """Raise DataFileError if a floating image holds NaN or inf."""
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        bad = int(image.size - np.count_nonzero(np.isfinite(image)))
        raise DataFileError(f"{path} holds {bad} NaN/inf voxels; expected finite HU values")


def _check_label_values(label: np.ndarray, path: Path) -> np.ndarray:
    """Return the label as uint8 after checking it holds only integers in {0, 1, 2}."""
    if np.issubdtype(label.dtype, np.floating):
        if not np.isfinite(label).all() or np.any(label != np.round(label)):
            odd = label[~np.isfinite(label) | (label != np.round(label))]
            raise DataFileError(
                f"{path} holds non-integer label values, e.g. {np.unique(odd)[:5].tolist()}; "
                f"expected integers in {set(_LABEL_VALUES)}"
            )
    elif not np.issubdtype(label.dtype, np.integer) and label.dtype != np.bool_:
        raise DataFileError(f"{path} has label dtype {label.dtype}; expected integers in {set(_LABEL_VALUES)}")
    if label.min() < min(_LABEL_VALUES) or label.max() > max(_LABEL_VALUES):
        found = np.unique(label)
        outside = [v for v in found.tolist() if v not in _LABEL_VALUES]
        raise DataFileError(
            f"{path} holds label values {outside[:10]} (all values found: {found[:10].tolist()}"
            f"{'...' if found.size > 10 else ''}); expected only {set(_LABEL_VALUES)} "
            "(0 background, 1 liver, 2 tumour)"
        )
    return label.astype(np.uint8, copy=False)
