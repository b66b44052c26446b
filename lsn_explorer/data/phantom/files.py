"""The phantom on disk: LiTS-layout NIfTI files, and the default data set in the cache folder.

``volume-N.nii.gz`` (int16 HU) and ``segmentation-N.nii.gz`` (uint8, 0 = background, 1 = liver,
2 = tumour) lie flat in one folder, exactly as the LiTS training batches are laid out. The files
are gzipped with a zero mtime and their headers are filled deterministically, so the same seed
gives byte-identical files.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..._files import atomic_path, cache_dir
from ...errors import InputError
from ...presets import Preset, get_preset
from .scanner import FORMAT, check_sizes, phantom_volume

__all__ = ["default_phantom_dir", "write_phantom_dataset"]


def _nifti_bytes(array, affine, *, descrip):
    """A NIfTI-1 image of ``array`` with ``affine`` as both qform and sform, in mm, as bytes."""
    import nibabel as nib

    img = nib.Nifti1Image(array, affine)
    hdr = img.header
    hdr.set_data_dtype(array.dtype)
    hdr.set_xyzt_units("mm", "sec")
    hdr["descrip"] = descrip.encode()[:79]
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img.to_bytes()


def write_phantom_dataset(
    out_dir,
    *,
    volumes: int = 10,
    seed: int = 0,
    size: int = 256,
    num_slices: int = 32,
    compress: bool = True,
) -> list[tuple[Path, Path]]:
    """Write ``volume-N`` / ``segmentation-N`` NIfTI files of the phantom, LiTS layout.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing); files are flat inside it.
    volumes : int, optional
        Number of volumes, N = 0 .. volumes - 1 (>= 1). Default 10.
    seed : int, optional
        Data set seed. Default 0. Volume N is the same whatever ``volumes`` is.
    size : int, optional
        In-plane size (>= 64). Default 256.
    num_slices : int, optional
        Slices per volume (>= 8). Default 32.
    compress : bool, optional
        ``.nii.gz`` (default) or plain ``.nii`` as the LiTS download.

    Returns
    -------
    list of (Path, Path)
        ``(volume path, segmentation path)`` for each N.

    Raises
    ------
    InputError
        If an argument is out of range (the message names it).

    Notes
    -----
    Each file is written atomically (temporary file + rename). The gzip stream
    carries no time stamp and the NIfTI header is filled deterministically, so
    the same arguments give byte-identical files.
    """
    if isinstance(volumes, bool) or not isinstance(volumes, (int, np.integer)) or volumes < 1:
        raise InputError(f"volumes={volumes!r} is not an integer >= 1 (how many phantom volumes to write)")
    check_sizes(size=size, num_slices=num_slices)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r} is not a non-negative integer")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir={str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    ext = ".nii.gz" if compress else ".nii"
    written = []
    for n in range(int(volumes)):
        hu, label, affine = phantom_volume(n, seed=seed, size=size, num_slices=num_slices)
        pair = []
        for stem, array in (("volume", hu), ("segmentation", label)):
            data = _nifti_bytes(array, affine, descrip=f"lsn_explorer phantom v{FORMAT} seed={seed} case={n}")
            if compress:
                data = gzip.compress(data, compresslevel=1, mtime=0)
            path = out / f"{stem}-{n}{ext}"
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            pair.append(path)
        written.append((pair[0], pair[1]))
    return written


def default_phantom_dir(preset: str | Preset | None = None) -> Path:
    """The default phantom data set of a preset, generated into the cache on first use.

    Parameters
    ----------
    preset : str, Preset or None, optional
        ``"quick"``, ``"paper"``, a :class:`~lsn_explorer.presets.Preset`, or
        ``None`` for the default preset. Its ``phantom_volumes``,
        ``phantom_size`` and ``phantom_slices`` fix the set (seed 0).

    Returns
    -------
    Path
        ``cache_dir() / "phantom-v{FORMAT}-{volumes}x{size}x{slices}-seed0"``,
        holding ``volume-N.nii.gz`` and ``segmentation-N.nii.gz``.

    Notes
    -----
    The set is written into a temporary folder beside the final one and
    renamed into place, so an interrupted generation never leaves a partial
    folder; a later call finds the folder and returns at once.
    """
    pr = get_preset(preset)
    name = f"phantom-v{FORMAT}-{pr.phantom_volumes}x{pr.phantom_size}x{pr.phantom_slices}-seed0"
    root = cache_dir()
    final = root / name
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
    try:
        write_phantom_dataset(
            tmp, volumes=pr.phantom_volumes, seed=0, size=pr.phantom_size, num_slices=pr.phantom_slices
        )
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # another process may have won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
