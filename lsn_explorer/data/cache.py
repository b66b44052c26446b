"""A keyed on-disk cache of preprocessed volumes.

Each preprocessed volume is one uncompressed ``.npz`` in
``cache_dir()/preprocessed/``. Its name is the SHA-256 of the cache format
version, the case's dataid, the resolved paths, sizes and modification times of
its two files (of its image alone for a volume without a label), and the
preprocessing settings: editing or replacing a source file, or changing a
setting, gives a new key, so a stale entry is never read.
Entries are written with :func:`lsn_explorer._files.atomic_path`, so a failed
or interrupted write leaves no partial entry under the final name.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._files import atomic_path, cache_dir
from ..errors import MissingDataError
from .lits import Case
from .volume import PreprocessSettings, Volume

__all__ = ["CACHE_VERSION", "cache_key", "cache_entry", "read_cached", "write_cached"]

#: Bump when the preprocessing or the entry format changes.
CACHE_VERSION = 1

_ARRAYS = ("image", "mask", "spacing", "slice_index", "no_liver")


def _file_fingerprint(path: Path) -> list:
    if not Path(path).is_file():
        raise MissingDataError(f"{path} does not exist (any more); expected a NIfTI file")
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]


def cache_key(case: Case, settings: PreprocessSettings) -> str:
    """SHA-256 hex digest naming the cache entry of ``case`` under ``settings``.

    Parameters
    ----------
    case : Case
    settings : PreprocessSettings

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    record = {
        "version": CACHE_VERSION,
        "dataid": int(case.dataid),
        "image": _file_fingerprint(case.image_path),
        "label": None if case.label_path is None else _file_fingerprint(case.label_path),
        "settings": settings.to_dict(),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def cache_entry(case: Case, settings: PreprocessSettings) -> Path:
    """Path of the cache entry (``cache_dir()/preprocessed/<key>.npz``)."""
    return cache_dir() / "preprocessed" / f"{cache_key(case, settings)}.npz"


def read_cached(path: Path, case: Case) -> tuple[bool, Volume | None]:
    """Read a cache entry.

    Parameters
    ----------
    path : Path
        The entry, from :func:`cache_entry`.
    case : Case
        The case it belongs to (gives dataid and file names).

    Returns
    -------
    hit : bool
        False if there is no usable entry (missing, or unreadable: it is then
        removed with a warning and the volume is preprocessed again).
    volume : Volume or None
        The cached volume; None for a hit on a volume that has no liver.
    """
    if not path.is_file():
        return False, None
    try:
        with np.load(path, allow_pickle=False) as entry:
            arrays = {name: entry[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"cache entry {path} is unreadable ({error}); rebuilding it", stacklevel=2)
        path.unlink(missing_ok=True)
        return False, None
    if bool(arrays["no_liver"]):
        return True, None
    volume = Volume(
        dataid=int(case.dataid),
        image=arrays["image"],
        mask=None if case.label_path is None else arrays["mask"],
        spacing=tuple(float(s) for s in arrays["spacing"]),
        slice_index=arrays["slice_index"],
        image_path=str(case.image_path),
        label_path=None if case.label_path is None else str(case.label_path),
    )
    return True, volume


def write_cached(path: Path, volume: Volume | None) -> None:
    """Write a cache entry atomically; ``volume=None`` records "no liver".

    Parameters
    ----------
    path : Path
        The entry, from :func:`cache_entry`.
    volume : Volume or None
    """
    if volume is None:
        arrays = {
            "image": np.zeros((0, 0, 0), np.float32),
            "mask": np.zeros((0, 0, 0), np.uint8),
            "spacing": np.zeros(3),
            "slice_index": np.zeros(0, np.int64),
            "no_liver": np.array(True),
        }
    else:
        arrays = {
            "image": volume.image,
            "mask": np.zeros((0, 0, 0), np.uint8) if volume.mask is None else volume.mask,
            "spacing": np.asarray(volume.spacing, dtype=np.float64),
            "slice_index": volume.slice_index,
            "no_liver": np.array(False),
        }
    _remove_stale_temporaries(path.parent)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def _remove_stale_temporaries(folder: Path, *, age_s: float = 3600.0) -> None:
    """Delete temporary files an interrupted process (killed mid-write) left over an hour ago."""
    if not folder.is_dir():
        return
    now = time.time()
    for stale in folder.glob(".*.npz.tmp-*"):
        try:
            if now - stale.stat().st_mtime > age_s:
                stale.unlink()
        except OSError:
            pass  # another process removed or renamed it meanwhile
