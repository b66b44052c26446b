"""Autograding: run a student's notebook with the source's tests and score each test cell.

The semantics are nbgrader's ``autograde``: the locked and test cells come from the source
(:func:`~.merge.graded_notebook`), the whole notebook runs top to bottom in a fresh
``python3`` kernel, and a test cell earns its points if and only if it ran and its outputs
hold no error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .markers import check_notebook, grade_id, is_test, points
from .merge import graded_notebook
from .notebooks import read_notebook, source_notebook
from .scores import ExerciseScore, NotebookScore

__all__ = ["grade_notebook", "grade_course", "execute_notebook", "score_cells"]

#: Set in the kernel's environment when the caller has not chosen a preset.
DEFAULT_PRESET = "quick"


def execute_notebook(nb, *, cwd: str | os.PathLike, timeout: float = 600) -> None:
    """Run every cell of ``nb`` in place in a fresh ``python3`` kernel, errors and all.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Changed in place: outputs and execution counts of the cells that ran.
    cwd : str or Path
        The kernel's working directory.
    timeout : float
        Seconds one cell may run; a cell that runs longer is interrupted and shows a
        ``KeyboardInterrupt`` error, and the next cells still run.

    Notes
    -----
    The kernel inherits the caller's environment, with ``LSN_EXPLORER_PRESET=quick``
    unless the caller set it. If the kernel dies, the cells after that point keep no
    outputs and no execution count.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    env = dict(os.environ)
    env.setdefault("LSN_EXPLORER_PRESET", DEFAULT_PRESET)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=env, cwd=str(cwd))
    except (DeadKernelError, CellTimeoutError):
        pass


def _first_error(cell) -> str | None:
    """The first line of the cell's first error, or None when the cell ran cleanly."""
    if cell.get("execution_count") is None:
        return "not run (the kernel stopped before this cell)"
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip().rstrip(":")
            return message.splitlines()[0] if message else "Error"
    return None


def score_cells(nb, source) -> tuple[ExerciseScore, ...]:
    """One :class:`ExerciseScore` per test cell of ``source``, as it ran in the graded ``nb``, in ``nb``'s order.

    Only the source's test cells count, with the source's points: a cell the student
    marked as a test, or gave more points, earns nothing.
    """
    possible = {grade_id(cell): points(cell) for cell in source.cells if is_test(cell)}
    rows = []
    for cell in nb.cells:
        ident = grade_id(cell)
        if ident in possible and is_test(cell):
            worth, error = possible.pop(ident), _first_error(cell)
            rows.append(ExerciseScore(ident, 0.0 if error else worth, worth, error))
    return tuple(rows)


def grade_notebook(student_path: str | os.PathLike, source_dir: str | os.PathLike, *,
                   cwd: str | os.PathLike | None = None, timeout: float = 600) -> NotebookScore:
    """Grade one student notebook against the source notebook of the same file name.

    Parameters
    ----------
    student_path : str or Path
        The student's notebook, e.g. ``alice/01_level_sets.ipynb``.
    source_dir : str or Path
        The course source folder, holding ``01_level_sets.ipynb`` with its solutions and
        hidden tests.
    cwd : str or Path, optional
        The kernel's working directory; default the student notebook's folder.
    timeout : float
        Seconds one cell may run (see :func:`execute_notebook`). Default 600.

    Returns
    -------
    NotebookScore
        One row per test cell, in the graded notebook's order; a test cell earns its
        points if it ran without an error.

    Raises
    ------
    MissingDataError
        No such student notebook, source folder, or source notebook of that name.
    DataFileError
        One of the files is not a notebook.
    InputError
        The source notebook's marking is wrong (see :func:`~.markers.check_notebook`).
    """
    student_path = Path(student_path)
    student = read_notebook(student_path)
    source_path = source_notebook(student_path.name, source_dir)
    source = read_notebook(source_path)
    check_notebook(source, str(source_path))
    graded = graded_notebook(student, source)
    execute_notebook(graded, cwd=cwd if cwd is not None else student_path.resolve().parent, timeout=timeout)
    return NotebookScore(student_path, score_cells(graded, source))


def grade_course(paths: Sequence[str | os.PathLike], source_dir: str | os.PathLike, *,
                 cwd: str | os.PathLike | None = None, timeout: float = 600) -> list[NotebookScore]:
    """:func:`grade_notebook` for each of ``paths``, in order.

    Every path and its source notebook are looked up before any notebook runs, so a
    typing mistake fails at once.

    Returns
    -------
    list of NotebookScore
        One per path; :func:`~.scores.format_scores` prints them as a table.
    """
    for path in paths:
        read_notebook(path)
        source_notebook(Path(path).name, source_dir)
    return [grade_notebook(path, source_dir, cwd=cwd, timeout=timeout) for path in paths]
