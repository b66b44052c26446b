"""Where lsn_explorer keeps files, and how it writes them without leaving half-files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["cache_dir", "atomic_path"]


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
