"""nbgrader's cell metadata and source markers, read and checked.

A course notebook is marked exactly as nbgrader marks it, so that a lecturer who runs
nbgrader can use the same source tree:

- a *solution* cell has ``metadata.nbgrader.solution = true``; its source holds regions
  from a line containing ``BEGIN SOLUTION`` to one containing ``END SOLUTION``;
- a *test* (autograder) cell has ``grade = true``, ``solution = false`` and ``points``; it
  may hold regions from ``BEGIN HIDDEN TESTS`` to ``END HIDDEN TESTS``;
- any cell may be ``locked`` (read-only for students).

Every nbgrader cell has a ``grade_id``, unique in its notebook.
"""

from __future__ import annotations

import re

from ..errors import InputError

__all__ = [
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "BEGIN_HIDDEN_TESTS",
    "END_HIDDEN_TESTS",
    "CODE_STUB",
    "TEXT_STUB",
    "is_solution",
    "is_test",
    "is_locked",
    "grade_id",
    "points",
    "replace_regions",
    "check_notebook",
]

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN_TESTS = "BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "END HIDDEN TESTS"
#: nbgrader's stub for a solution region of a Python code cell.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
#: nbgrader's stub for a markdown solution.
TEXT_STUB = "YOUR ANSWER HERE"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution(cell) -> bool:
    """Whether ``cell`` is an answer the student writes (``nbgrader.solution``)."""
    return bool(_meta(cell).get("solution", False))


def is_test(cell) -> bool:
    """Whether ``cell`` is an autograder test: a code cell with ``grade`` and without ``solution``.

    A cell with both ``grade`` and ``solution`` is graded by hand in nbgrader and is not
    a test here.
    """
    meta = _meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade", False)) and not meta.get("solution", False)


def is_locked(cell) -> bool:
    """Whether students may not change ``cell``: ``locked`` cells and every test cell."""
    return bool(_meta(cell).get("locked", False)) or is_test(cell)


def grade_id(cell) -> str | None:
    """The cell's ``nbgrader.grade_id``, or None for a cell without one."""
    return _meta(cell).get("grade_id") or None


def points(cell) -> float:
    """The points of a test cell (``nbgrader.points``); 0 for any other cell."""
    return float(_meta(cell).get("points", 0)) if is_test(cell) else 0.0


def replace_regions(source: str, begin: str, end: str, stub: str | None) -> tuple[str, bool]:
    """Replace every ``begin`` ... ``end`` region of ``source`` by ``stub``, as nbgrader does.

    Parameters
    ----------
    source : str
        A cell's source.
    begin, end : str
        The markers; a line that contains one opens or closes a region, and the region
        includes both marker lines.
    stub : str or None
        The lines put in place of each region, indented as its ``begin`` line; None
        removes the region.

    Returns
    -------
    (str, bool)
        The new source, and whether any region was found.

    Raises
    ------
    ValueError
        A region opens inside another, never closes, or closes without opening; the
        message gives the line number (from 1).
    """
    out, inside, found = [], False, False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            if inside:
                raise ValueError(f"line {number} opens '{begin}' inside another '{begin}' region")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)
            out += [indent + stub_line for stub_line in stub.split("\n")] if stub is not None else []
        elif end in line:
            if not inside:
                raise ValueError(f"line {number} has '{end}' without a '{begin}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"'{begin}' is never closed by '{end}'")
    return "\n".join(out), found


def _where(name: str, index: int, cell) -> str:
    ident = grade_id(cell)
    return f"{name}, cell {index}" + (f" ({ident})" if ident else "")


def _check_cell(cell, where: str) -> None:
    meta = _meta(cell)
    if meta and (meta.get("solution") or meta.get("grade") or meta.get("locked")) and not grade_id(cell):
        raise InputError(f"{where}: an nbgrader cell has no grade_id; give every solution, test and locked cell one")
    if meta.get("grade"):
        value = meta.get("points")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InputError(f"{where}: test cell has points={value!r}; expected a number >= 0 in metadata.nbgrader.points")
    for begin, end, allowed, kind in ((BEGIN_SOLUTION, END_SOLUTION, is_solution(cell), "a solution"),
                                      (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, bool(meta.get("grade")), "a graded")):
        try:
            _, found = replace_regions(cell.get("source", ""), begin, end, None)
        except ValueError as error:
            raise InputError(f"{where}: unbalanced markers: {error}") from None
        if found and not allowed:
            raise InputError(f"{where}: '{begin}' in a cell that is not {kind} cell (metadata.nbgrader)")


def check_notebook(nb, name: str = "<notebook>") -> None:
    """Check a source notebook's nbgrader marking.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook (version 4).
    name : str
        How messages name the notebook, usually its file.

    Raises
    ------
    InputError
        Naming the notebook and the cell (index from 0, and grade_id): unbalanced or
        nested markers, a marker in a cell of the wrong kind (solution regions belong in
        solution cells, hidden tests in graded cells), an nbgrader cell without a grade_id,
        a grade_id used twice, a graded cell without points.
    """
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = _where(name, index, cell)
        _check_cell(cell, where)
        ident = grade_id(cell)
        if ident is None:
            continue
        if ident in seen:
            raise InputError(f"{where}: grade_id {ident!r} is used again (first in cell {seen[ident]}); grade_ids must be unique")
        seen[ident] = index
