"""The course: one source tree with solutions and hidden tests, its release in ``notebooks/``, and the grader.

Every source notebook runs under the quick preset with its solutions in place and scores full marks;
the released blanks score zero; a wrong answer loses its own exercise's marks and no other's.
"""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from lsn_explorer.cli import main
from lsn_explorer.course import release_course
from lsn_explorer.course.grade import execute_notebook, score_cells
from lsn_explorer.course.markers import is_solution, is_test
from lsn_explorer.course.merge import graded_notebook

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "course" / "source"
RELEASE = REPO / "notebooks"
EXPECTED = [
    "00_index.ipynb", "01_finite_differences.ipynb", "02_level_set_equation.ipynb", "03_level_set_network.ipynb",
    "04_unet.ipynb", "05_table2.ipynb", "06_kernel_atlas.ipynb",
]
SOURCES = [SOURCE / name for name in EXPECTED]
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_times(request, artifacts):
    """Print every notebook's execution time (even with output captured) and save them as JSON."""
    yield
    if TIMES:
        lines = [f"  {name}: {seconds:.1f} s" for name, seconds in TIMES.items()]
        lines.append(f"  total: {sum(TIMES.values()):.1f} s")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nnotebook execution times, solutions filled in (quick preset):\n" + "\n".join(lines))
        (artifacts / "notebook_times.json").write_text(json.dumps(TIMES, indent=1))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _graded_run(student, source_path: Path):
    """Run ``student`` with the source's tests, as ``course grade`` does; return (notebook as run, scores)."""
    source = _read(source_path)
    graded = graded_notebook(student, source)
    execute_notebook(graded, cwd=RELEASE)
    return graded, {row.grade_id: row for row in score_cells(graded, source)}


def _errors(notebook) -> list[tuple[str, str, str]]:
    return [(cell.get("id"), out["ename"], out["evalue"]) for cell in notebook.cells
            for out in cell.get("outputs", []) if out.output_type == "error"]


def test_the_course_is_complete():
    assert sorted(p.name for p in SOURCE.glob("*.ipynb")) == EXPECTED
    assert sorted(p.name for p in RELEASE.glob("*.ipynb")) == EXPECTED


def test_the_released_notebooks_are_the_release_of_the_source(tmp_path):
    release_course(SOURCE, tmp_path)
    for name in EXPECTED:
        assert (RELEASE / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"notebooks/{name} is not the release of course/source: run `lsn-explorer course release notebooks`")


def _solution_lines(notebook) -> list[str]:
    """The lines between BEGIN/END SOLUTION and BEGIN/END HIDDEN TESTS, stripped, non-trivial."""
    found, inside = [], False
    for cell in notebook.cells:
        for line in cell.source.splitlines():
            if re.match(r"\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line):
                inside = "BEGIN" in line
            elif inside and len(line.strip()) > 12:
                found.append(line.strip())
    return found


def test_the_release_holds_no_solution_and_no_hidden_test(tmp_path):
    assert main(["course", "release", str(tmp_path), "--source", str(SOURCE)]) == 0
    for name in EXPECTED:
        released = (tmp_path / name).read_text()
        assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released, name
        leaked = [line for line in _solution_lines(_read(SOURCE / name)) if json.dumps(line)[1:-1] in released]
        assert not leaked, f"{name} gives away: {leaked}"


@pytest.mark.parametrize("path", SOURCES + [RELEASE / name for name in EXPECTED],
                         ids=[f"source/{n}" for n in EXPECTED] + [f"release/{n}" for n in EXPECTED])
def test_notebook_is_committed_thin_and_without_outputs(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in notebook.metadata, "strip the widget state before committing"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit without outputs"
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.FunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    assert length <= 15, f"{node.name} is {length} lines; move it into the library"
    last = notebook.cells[-1]
    assert last.cell_type == "markdown" and "Learn more" in last.source
    links = re.findall(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", last.source)
    assert links and all((path.parent / link).is_file() for link in links), "end with a link to the next notebook"


@pytest.mark.parametrize("path", SOURCES, ids=EXPECTED)
def test_every_notebook_opens_with_goals_prerequisites_and_time(path):
    opening = _read(path).cells[0].source
    for heading in ("**Goals.**", "**Prerequisites.**", "**Time.**"):
        assert heading in opening, f"{path.name} does not open with {heading}"


def test_every_notebook_after_the_index_has_graded_exercises():
    points = {}
    for path in SOURCES[1:]:
        tests = [cell for cell in _read(path).cells if is_test(cell)]
        assert tests, f"{path.name} has no graded exercise"
        points[path.name] = len(tests)
    assert sum(points.values()) >= 10, points


@pytest.mark.notebook
@pytest.mark.parametrize("path", SOURCES, ids=EXPECTED)
def test_the_solutions_run_under_the_quick_preset_and_score_full_marks(path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    start = time.perf_counter()
    notebook, scores = _graded_run(_read(path), path)
    TIMES[path.name] = seconds = time.perf_counter() - start
    assert not _errors(notebook), _errors(notebook)
    assert all(row.earned == row.possible for row in scores.values()), scores
    assert seconds <= 150, f"{path.name} took {seconds:.0f} s under the quick preset"
    shown = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) or "application/vnd.plotly.v1+json" in o.get("data", {})
               or "text/html" in o.get("data", {}) for o in shown) or path.name == "00_index.ipynb"
    printed = "".join(o.get("text", "") for o in shown if o.output_type == "stream")
    CHECKS.get(path.name, lambda printed: None)(printed)


@pytest.mark.notebook
@pytest.mark.parametrize("name", EXPECTED[1:])
def test_the_released_blanks_score_zero(name, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    _, scores = _graded_run(_read(RELEASE / name), SOURCE / name)
    assert scores and all(row.earned == 0 for row in scores.values()), scores


#: A deliberately wrong answer per exercise of notebook 1: (solution cell, right text, wrong text).
WRONG_ANSWERS = {
    "a downwind stencil": ("upwind-step", "F.relu(vx) * dxp - F.relu(-vx) * dxn + F.relu(vy) * dyp - F.relu(-vy) * dyn",
                           "F.relu(vx) * dxn - F.relu(-vx) * dxp + F.relu(vy) * dyn - F.relu(-vy) * dyp"),
    "a sign error": ("godunov-norm", "F.relu(dxp) ** 2 + F.relu(-dxn) ** 2 + F.relu(dyp) ** 2 + F.relu(-dyn) ** 2",
                     "F.relu(-dxp) ** 2 + F.relu(dxn) ** 2 + F.relu(-dyp) ** 2 + F.relu(dyn) ** 2"),
    "a dt over the limit": ("cfl-dt", "1.0 / (vx.abs() + vy.abs()).max()", "2.0 / (vx.abs() + vy.abs()).max()"),
}


@pytest.mark.notebook
@pytest.mark.parametrize("mistake", WRONG_ANSWERS)
def test_a_wrong_answer_loses_exactly_its_exercise(mistake, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    cell_id, right, wrong = WRONG_ANSWERS[mistake]
    path = SOURCE / "01_finite_differences.ipynb"
    student = _read(path)
    (cell,) = [c for c in student.cells if c.get("id") == cell_id and is_solution(c)]
    assert right in cell.source
    cell.source = cell.source.replace(right, wrong)
    _, scores = _graded_run(student, path)
    lost = {ident: row.possible for ident, row in scores.items() if row.earned < row.possible}
    assert list(lost) == [f"{cell_id}-test"] and lost[f"{cell_id}-test"] > 0, scores


def _front_reaches_the_liver(printed: str) -> None:
    # the speed-map LSN's animation: the front starts at the border and ends on the liver
    first, last = (float(x) for x in re.search(r"against the label: ([\d.]+) at u0, ([\d.]+) after layer", printed).groups())
    assert last - first >= 0.5, (first, last)


def _table_has_every_network(printed: str) -> None:
    assert re.search(r"seeds \[0, 1, 2\]", printed), "the committed table is over 3 seeds"


#: What a reader of each notebook should see, beyond running without error.
CHECKS = {"03_level_set_network.ipynb": _front_reaches_the_liver, "05_table2.ipynb": _table_has_every_network}


def test_the_key_notebooks_build_as_reveal_slides_without_solutions(tmp_path):
    assert main(["course", "slides", str(tmp_path), "--source", str(SOURCE)]) == 0
    decks = sorted(p.name for p in tmp_path.glob("*.slides.html"))
    assert {"01_finite_differences.slides.html", "02_level_set_equation.slides.html"} <= set(decks), decks
    html = (tmp_path / "01_finite_differences.slides.html").read_text()
    assert "reveal" in html and "Finite differences, upwinding and the CFL limit" in html
    assert "BEGIN SOLUTION" not in html and "moments(q)" in html and "math.factorial(i)" not in html
