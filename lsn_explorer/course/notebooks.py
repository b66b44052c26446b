"""Reading the course's notebooks and writing them atomically, the same bytes every time."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from .._files import atomic_path
from ..errors import DataFileError, MissingDataError

__all__ = ["read_notebook", "write_notebook", "source_notebooks", "source_notebook"]


def read_notebook(path: str | os.PathLike):
    """The notebook in ``path``, as nbformat version 4.

    Raises
    ------
    MissingDataError
        ``path`` is not a file.
    DataFileError
        The file is not a notebook (not JSON, or not nbformat); the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such notebook")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:
        raise DataFileError(f"{path}: not a Jupyter notebook ({type(error).__name__}: {error})") from None


def write_notebook(nb, path: str | os.PathLike) -> Path:
    """Write ``nb`` to ``path`` with :func:`nbformat.write`, atomically.

    nbformat sorts keys and indents by one space, and the file ends with one newline,
    so the same notebook gives the same bytes.
    """
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)
    return Path(path)


def source_notebooks(source_dir: str | os.PathLike) -> list[Path]:
    """The ``*.ipynb`` files of a course source folder, sorted by name.

    Checkpoint copies (``.ipynb_checkpoints``) are not in the folder itself, so they
    are never listed.

    Raises
    ------
    MissingDataError
        ``source_dir`` is not a folder.
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise MissingDataError(f"{source_dir}: no such course source folder")
    return sorted(source_dir.glob("*.ipynb"))


def source_notebook(name: str, source_dir: str | os.PathLike) -> Path:
    """The source notebook called ``name`` (a file name) in ``source_dir``.

    Raises
    ------
    MissingDataError
        ``source_dir`` has no such notebook; the message lists the ones it has.
    """
    found = source_notebooks(source_dir)
    for path in found:
        if path.name == name:
            return path
    names = ", ".join(p.name for p in found) or "none"
    raise MissingDataError(f"{name}: no source notebook of that name in {source_dir} (it has: {names})")
