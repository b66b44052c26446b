"""The notebook that is graded: the student's cells, with the source's locked and test cells.

As nbgrader's ``autograde`` overwrites cells from its database, every cell the student was
not meant to change is taken from the source notebook, matched by ``grade_id``: this puts
the hidden tests back and undoes any edit of a visible test.
"""

from __future__ import annotations

import copy

from .markers import grade_id, is_locked

__all__ = ["graded_notebook"]


def _clear(cell) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def _overwrite(student, locked: dict) -> list:
    """The student's cells, each locked one replaced by the source's; a second copy of one is dropped."""
    cells, used = [], set()
    for cell in student.cells:
        ident = grade_id(cell)
        if ident in locked:
            if ident in used:
                continue
            used.add(ident)
            cell = copy.deepcopy(locked[ident])
        else:
            cell = copy.deepcopy(cell)
        _clear(cell)
        cells.append(cell)
    return cells


def _key(cell) -> tuple[str, str] | None:
    """What matches a source cell in the student's notebook: its grade_id, else its cell id."""
    ident = grade_id(cell)
    if ident is not None:
        return ("grade_id", ident)
    return ("id", cell["id"]) if cell.get("id") else None


def _reinsert(cells: list, source) -> list:
    """Put back every locked source cell the student deleted, after the previous matched cell."""
    position = -1
    for cell in source.cells:
        key = _key(cell)
        index = next((i for i, c in enumerate(cells) if key is not None and _key(c) == key), None)
        if index is not None:
            position = index
        elif is_locked(cell) and grade_id(cell):
            position += 1
            inserted = copy.deepcopy(cell)
            _clear(inserted)
            cells.insert(position, inserted)
    return cells


def graded_notebook(student, source):
    """The notebook to run for grading ``student`` against its ``source``.

    Parameters
    ----------
    student : nbformat.NotebookNode
        The student's notebook (a released notebook, filled in). It is not changed.
    source : nbformat.NotebookNode
        The source notebook, with solutions and hidden tests.

    Returns
    -------
    nbformat.NotebookNode
        The student's notebook in which every locked or test cell whose ``grade_id`` is
        locked in the source is the source's cell (source and metadata); a locked cell the
        student deleted is re-inserted just after the nearest cell before it in the source
        that the student's notebook still has (matched by grade_id, else by cell id), or
        first; every output and execution count is cleared.
    """
    locked = {grade_id(cell): cell for cell in source.cells if is_locked(cell) and grade_id(cell)}
    graded = copy.deepcopy(student)
    graded.cells = _reinsert(_overwrite(student, locked), source)
    return graded
