"""What students get: the source notebooks without solutions, hidden tests or outputs.

This is nbgrader's ``generate_assignment`` on the cells (solution regions become
nbgrader's stubs, hidden-test regions go, outputs are cleared) without its database:
the ``nbgrader`` metadata stays, so nbgrader and :func:`~.grade.grade_notebook` both
recognise every cell of a released notebook.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from ..errors import InputError
from .markers import (
    BEGIN_HIDDEN_TESTS, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN_TESTS, END_SOLUTION, TEXT_STUB, check_notebook, is_solution,
    replace_regions,
)
from .notebooks import read_notebook, source_notebooks, write_notebook

__all__ = ["release_notebook", "release_course"]

#: Metadata that records how a cell was last run or shown, not what it is.
_RUN_METADATA = ("collapsed", "scrolled", "execution")


def _release_cell(cell) -> None:
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    if is_solution(cell):
        cell.source, found = replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub)
        if not found:
            cell.source = stub
    if cell.metadata.get("nbgrader", {}).get("grade"):
        cell.source, _ = replace_regions(cell.source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    for key in _RUN_METADATA:
        cell.metadata.pop(key, None)


def release_notebook(nb, *, name: str = "<notebook>"):
    """The student's version of a source notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source notebook (version 4), marked as nbgrader marks it (see
        :mod:`~lsn_explorer.course.markers`). It is not changed.
    name : str
        How error messages name the notebook, usually its file.

    Returns
    -------
    nbformat.NotebookNode
        A copy in which every ``BEGIN SOLUTION`` ... ``END SOLUTION`` region is
        ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the region's indentation
        (``YOUR ANSWER HERE`` in markdown; a solution cell without regions becomes the stub
        entirely), every ``BEGIN HIDDEN TESTS`` ... ``END HIDDEN TESTS`` region is gone,
        outputs and execution counts are cleared, and the widget state is dropped. Cell
        ids and ``nbgrader`` metadata are kept.

    Raises
    ------
    InputError
        The marking is wrong (see :func:`~.markers.check_notebook`); the message names
        ``name`` and the cell.
    """
    check_notebook(nb, name)
    released = copy.deepcopy(nb)
    for cell in released.cells:
        _release_cell(cell)
    released.metadata.pop("widgets", None)
    return released


def release_course(source_dir: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Write the student's version of every ``*.ipynb`` of ``source_dir`` into ``out_dir``.

    Parameters
    ----------
    source_dir : str or Path
        The course source folder (``course/source``). Other files in it are not copied.
    out_dir : str or Path
        Created if missing; notebooks of the same name are replaced atomically.

    Returns
    -------
    list of Path
        The written notebooks, in file-name order. The same source gives the same bytes.

    Raises
    ------
    MissingDataError
        ``source_dir`` does not exist.
    InputError
        A notebook's marking is wrong, or ``out_dir`` is ``source_dir``. Every notebook
        is checked before any is written.
    """
    sources = source_notebooks(source_dir)
    if Path(out_dir).resolve() == Path(source_dir).resolve():
        raise InputError(f"{out_dir}: the release folder is the source folder; releasing there would erase the solutions")
    released = [(path.name, release_notebook(read_notebook(path), name=str(path))) for path in sources]
    return [write_notebook(nb, Path(out_dir) / name) for name, nb in released]
