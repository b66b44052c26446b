"""Where lsn_explorer keeps files, and how it writes them without leaving half-files."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["cache_dir", "atomic_path", "write_json", "read_json", "write_table_csv"]


def cache_dir() -> Path:
    """The data cache folder: ``$LSN_EXPLORER_DATA``, else ``~/.cache/lsn_explorer``.

    Returns
    -------
    Path
        The folder, created if missing.
    """
    root = os.environ.get("LSN_EXPLORER_DATA") or Path.home() / ".cache" / "lsn_explorer"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Whatever the body writes to the yielded path appears at ``path`` in one
    ``os.replace``; if the body raises, the temporary file is removed and
    ``path`` is left as it was.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> with atomic_path(target) as tmp:
    ...     np.save(tmp, np.zeros(3))
    >>> np.load(target).shape
    (3,)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep every suffix (".nii.gz", ".npy") so that writers which pick the
    # format from the file name, or append a missing one, see the real one
    suffix = "".join(path.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj, *, sort_keys: bool = False) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (values JSON cannot hold become strings).

    Parameters
    ----------
    path : str or path-like
        The file; its folder is created if missing. An existing file is replaced
        in one ``os.replace`` (see :func:`atomic_path`).
    obj : object
        A JSON-able value, usually a dict; any other value inside it (a Path, a
        numpy array...) is written as its ``str()``.
    sort_keys : bool
        Sort the keys of every dict. Default False (insertion order).

    Returns
    -------
    Path
        ``path``. The file is indented by 2 spaces and ends with a newline.

    Raises
    ------
    TypeError
        A dict key that is not a str, int, float, bool or None (keys are not
        converted); ``path`` is then left as it was.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n")
    return Path(path)


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON object in ``path``, or None when there is no such file (a part not yet done)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def write_table_csv(path: str | os.PathLike, table: dict, sd: dict | None = None) -> Path:
    """Write a ``{row: {column: value}}`` table atomically as CSV, rows headed "fold".

    With ``sd`` (the same shape), each column becomes ``<column>_mean, <column>_sd``.
    Values are written with 4 decimals.
    """
    columns = list(next(iter(table.values())))
    tables = (table,) if sd is None else (table, sd)
    header = columns if sd is None else [f"{c}_{stat}" for c in columns for stat in ("mean", "sd")]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fold", *header])
        for row in table:
            writer.writerow([row, *(f"{t[row][c]:.4f}" for c in columns for t in tables)])
    return Path(path)
