"""The course tooling on a small synthetic course: release, autograde, slides, and the CLI."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lsn_explorer.cli import main
from lsn_explorer.course import check_notebook, format_scores, grade_course, grade_notebook, release_course, write_slides
from lsn_explorer.course.merge import graded_notebook
from lsn_explorer.course.release import release_notebook
from lsn_explorer.errors import InputError, MissingDataError

NAME = "01_double.ipynb"
SOLUTION_1 = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TEST_1 = "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6, 'double(-3)'\n### END HIDDEN TESTS"
SOLUTION_2 = "### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION"
TEST_2 = "assert answer == 42"


def _meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"solution": solution, "grade": grade, "locked": locked, "grade_id": grade_id, "schema_version": 3, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _source_notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Doubling", metadata={"slideshow": {"slide_type": "slide"}}),
        new_code_cell("import math", metadata=_meta("setup", locked=True)),
        new_code_cell(SOLUTION_1, metadata=_meta("double", solution=True)),
        new_code_cell(TEST_1, metadata=_meta("test-double", grade=True, locked=True, points=2)),
        new_markdown_cell("Why does it work?", metadata={"slideshow": {"slide_type": "subslide"}}),
        new_markdown_cell("Because 2x = x + x.", metadata=_meta("why", solution=True)),
        new_code_cell(SOLUTION_2, metadata=_meta("answer", solution=True)),
        new_code_cell(TEST_2, metadata=_meta("test-answer", grade=True, locked=True, points=3)),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="solved\n")]
    nb.cells[2].execution_count = 7
    return nb


def _cell(nb, grade_id):
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "course" / "source"
    folder.mkdir(parents=True)
    nbformat.write(_source_notebook(), folder / NAME)
    (folder / "data.csv").write_text("a,b\n")
    return folder


def _student(tmp_path, name, edit):
    """A released notebook after ``edit(nb)``, saved as ``tmp_path/<name>/01_double.ipynb``."""
    nb = release_notebook(_source_notebook())
    edit(nb)
    path = tmp_path / name / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _solve(nb, double="return 2 * x", answer="answer = 42"):
    _cell(nb, "double").source = f"def double(x):\n    {double}"
    _cell(nb, "answer").source = answer


def test_release_strips_solutions_and_hidden_tests_keeps_visible_tests(source, tmp_path):
    (path,) = release_course(source, tmp_path / "release")
    assert path == tmp_path / "release" / NAME and sorted(p.name for p in path.parent.iterdir()) == [NAME]
    text = path.read_text()
    for secret in ("return 2 * x", "6 * 7", "double(-3)", "Because 2x", "BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS",
                   "solved"):
        assert secret not in text, secret
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert _cell(nb, "double").source == "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert _cell(nb, "answer").source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert _cell(nb, "why").source == "YOUR ANSWER HERE"
    assert _cell(nb, "test-double").source == "assert double(2) == 4"
    assert _cell(nb, "test-answer").source == TEST_2
    assert _cell(nb, "test-answer").metadata["nbgrader"]["points"] == 3
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_release_is_deterministic(source, tmp_path):
    (first,) = release_course(source, tmp_path / "a")
    (second,) = release_course(source, tmp_path / "b")
    release_course(source, tmp_path / "a")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().endswith(b"}\n") and not first.read_bytes().endswith(b"\n\n")


@pytest.mark.parametrize("edit, message", [
    (lambda nb: setattr(nb.cells[2], "source", "### BEGIN SOLUTION\nx = 1"), "never closed"),
    (lambda nb: setattr(nb.cells[3], "source", "assert True\n### END HIDDEN TESTS"), "without a 'BEGIN HIDDEN TESTS'"),
    (lambda nb: nb.cells[7].metadata["nbgrader"].update(grade_id="test-double"), "'test-double' is used again"),
    (lambda nb: nb.cells[7].metadata["nbgrader"].pop("points"), "points=None"),
    (lambda nb: setattr(nb.cells[1], "source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "not a solution cell"),
])
def test_bad_markers_name_the_file_and_cell(source, tmp_path, edit, message):
    nb = _source_notebook()
    edit(nb)
    nbformat.write(nb, source / "02_bad.ipynb")
    with pytest.raises(InputError, match=message) as error:
        release_course(source, tmp_path / "release")
    assert "02_bad.ipynb, cell " in str(error.value)
    assert not (tmp_path / "release").exists(), "nothing is written when a notebook is wrong"


def test_check_notebook_accepts_the_source():
    check_notebook(_source_notebook())


def test_grading_solved_blank_and_half_wrong(source, tmp_path):
    solved = _student(tmp_path, "solved", _solve)
    blank = _student(tmp_path, "blank", lambda nb: None)
    half = _student(tmp_path, "half", lambda nb: _solve(nb, double="return x + 2"))
    scores = grade_course([solved, blank, half], source)
    assert [(s.earned, s.possible) for s in scores] == [(5, 5), (0, 5), (3, 5)]
    assert [r.grade_id for r in scores[0].exercises] == ["test-double", "test-answer"]
    assert scores[0].exercises[0].error is None
    assert "NotImplementedError" in scores[1].exercises[0].error
    assert scores[2].exercises[0].error == "AssertionError: double(-3)", "the hidden test is restored"
    table = format_scores(scores).splitlines()
    assert table[0].split() == [str(solved), "test-double", "2/2"]
    assert table[-1].split() == ["total", "8/15"]
    assert [str(half), "total", "3/5"] in [line.split() for line in table]


def test_editing_or_adding_tests_does_not_help(source, tmp_path):
    def cheat(nb):
        _solve(nb, answer="answer = 0")
        _cell(nb, "test-answer").source = "pass"
        _cell(nb, "test-answer").metadata["nbgrader"]["points"] = 30
        nb.cells.append(new_code_cell("assert True", metadata=_meta("bonus", grade=True, locked=True, points=10)))
    score = grade_notebook(_student(tmp_path, "cheat", cheat), source)
    assert (score.earned, score.possible) == (2, 5)
    assert [(r.grade_id, r.earned) for r in score.exercises] == [("test-double", 2), ("test-answer", 0)]
    assert score.exercises[1].error == "AssertionError"


def test_a_deleted_test_is_put_back_and_scores_zero(source, tmp_path):
    def delete(nb):
        _solve(nb, answer="answer = 41")
        nb.cells.remove(_cell(nb, "test-answer"))
    score = grade_notebook(_student(tmp_path, "delete", delete), source)
    assert [(r.grade_id, r.earned, r.possible) for r in score.exercises] == [("test-double", 2, 2), ("test-answer", 0, 3)]


def test_deleted_locked_cells_go_back_after_the_previous_matched_cell():
    source = _source_notebook()
    student = release_notebook(source)
    student.cells = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in ("setup", "test-double")]
    student.cells.append(new_code_cell("print('extra')"))
    graded = graded_notebook(student, source)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in graded.cells]
    assert ids == [None, "setup", "double", "test-double", None, "why", "answer", "test-answer", None]
    assert "HIDDEN TESTS" in _cell(graded, "test-double").source


def test_grading_working_directory_is_the_notebook_folder(source, tmp_path):
    path = _student(tmp_path, "cwd", lambda nb: _solve(nb, answer="answer = len(open('answer.txt').read())"))
    (path.parent / "answer.txt").write_text("x" * 42)
    assert grade_notebook(path, source).earned == 5


@pytest.mark.parametrize("preset", [None, "paper"])
def test_the_kernel_gets_the_callers_preset_else_quick(source, tmp_path, monkeypatch, preset):
    if preset is None:
        monkeypatch.delenv("LSN_EXPLORER_PRESET", raising=False)
    else:
        monkeypatch.setenv("LSN_EXPLORER_PRESET", preset)
    answer = f"import os\nanswer = 42 if os.environ['LSN_EXPLORER_PRESET'] == {preset or 'quick'!r} else 0"
    assert grade_notebook(_student(tmp_path, "preset", lambda nb: _solve(nb, answer=answer)), source).earned == 5


def test_a_cell_that_hangs_is_interrupted_and_the_rest_still_runs(source, tmp_path):
    path = _student(tmp_path, "hang", lambda nb: _solve(nb, answer="while True:\n    pass"))
    score = grade_notebook(path, source, timeout=3)
    assert [(r.earned, r.possible) for r in score.exercises] == [(2, 2), (0, 3)]
    assert score.exercises[1].error.startswith("NameError")


def test_tests_after_a_dead_kernel_earn_nothing(source, tmp_path):
    path = _student(tmp_path, "exit", lambda nb: _solve(nb, answer="import os\nos._exit(0)"))
    score = grade_notebook(path, source)
    assert [(r.earned, r.possible) for r in score.exercises] == [(2, 2), (0, 3)]
    assert "not run" in score.exercises[1].error


def test_missing_source_notebook_names_it(source, tmp_path):
    other = tmp_path / "student" / "09_other.ipynb"
    other.parent.mkdir()
    nbformat.write(_source_notebook(), other)
    with pytest.raises(MissingDataError, match="09_other.ipynb.*01_double.ipynb"):
        grade_notebook(other, source)
    with pytest.raises(MissingDataError, match="nowhere"):
        grade_course([other], tmp_path / "nowhere")


def test_slides_come_from_the_released_notebook(source, tmp_path):
    nb = _source_notebook()
    for cell in nb.cells:
        cell.metadata.pop("slideshow", None)
    nbformat.write(nb, source / "02_no_slides.ipynb")
    (path,) = write_slides(source, tmp_path / "slides")
    assert path.name == "01_double.slides.html"
    html = path.read_text()
    assert "reveal" in html.lower() and "Doubling" in html and "YOUR CODE HERE" in html
    for secret in ("return 2 * x", "double(-3)", "Because 2x", "BEGIN SOLUTION"):
        assert secret not in html, secret


def test_cli_release_grade_and_slides(source, tmp_path, capsys):
    out = tmp_path / "release"
    assert main(["course", "release", str(out), "--source", str(source)]) == 0
    assert (out / NAME).is_file() and "wrote 1 notebooks" in capsys.readouterr().out
    student = _student(tmp_path, "cli", _solve)
    assert main(["course", "grade", str(student), "--source", str(source), "--cwd", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].split() == ["total", "5/5"] and len(lines) == 4
    assert main(["course", "slides", str(tmp_path / "slides"), "--source", str(source)]) == 0
    assert (tmp_path / "slides" / "01_double.slides.html").is_file()


def test_cli_without_a_source_folder_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["course", "release", "out"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert str(tmp_path / "course" / "source") in error and "--source" in error
    assert main(["course", "slides", "out", "--source", "elsewhere"]) == 2
    assert str(tmp_path / "elsewhere") in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
