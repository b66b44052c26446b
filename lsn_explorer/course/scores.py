"""The scores of graded notebooks, and the table a lecturer reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExerciseScore", "NotebookScore", "format_scores"]


@dataclass(frozen=True)
class ExerciseScore:
    """One test cell of a graded notebook.

    Attributes
    ----------
    grade_id : str
        The test cell's ``nbgrader.grade_id``.
    earned : float
        ``possible`` if the cell ran without an error, else 0.
    possible : float
        The cell's ``nbgrader.points``.
    error : str or None
        The first line of the error (``AssertionError: ...``) when the cell failed.
    """

    grade_id: str
    earned: float
    possible: float
    error: str | None = None


@dataclass(frozen=True)
class NotebookScore:
    """A graded notebook: one row per test cell, in notebook order.

    Attributes
    ----------
    path : Path
        The student's notebook.
    exercises : tuple of ExerciseScore
        The test cells, in the order they ran.
    """

    path: Path
    exercises: tuple[ExerciseScore, ...]

    @property
    def name(self) -> str:
        """The notebook's file name."""
        return self.path.name

    @property
    def earned(self) -> float:
        """Points earned over every test cell."""
        return sum(row.earned for row in self.exercises)

    @property
    def possible(self) -> float:
        """Points possible over every test cell."""
        return sum(row.possible for row in self.exercises)


def _points(value: float) -> str:
    return f"{value:g}"


def format_scores(scores: Sequence[NotebookScore]) -> str:
    """A text table: one line per exercise, a total per notebook and a grand total.

    Each exercise line reads ``notebook  grade_id  earned/possible`` followed by the
    first error line when the test failed; the notebook is named by its path as given,
    so that several students' copies of one notebook stay apart.

    Examples
    --------
    >>> row = ExerciseScore("upwind", 0, 2, "AssertionError: wrong sign")
    >>> print(format_scores([NotebookScore(Path("01_step.ipynb"), (row,))]))
    01_step.ipynb  upwind  0/2  AssertionError: wrong sign
    01_step.ipynb  total   0/2
    total                  0/2
    """
    rows = []
    for score in scores:
        label = str(score.path)
        rows += [(label, r.grade_id, f"{_points(r.earned)}/{_points(r.possible)}", r.error or "") for r in score.exercises]
        rows.append((label, "total", f"{_points(score.earned)}/{_points(score.possible)}", ""))
    earned, possible = sum(s.earned for s in scores), sum(s.possible for s in scores)
    rows.append(("total", "", f"{_points(earned)}/{_points(possible)}", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + (f"  {row[3]}" if row[3] else "")
             for row in rows]
    return "\n".join(line.rstrip() for line in lines)
