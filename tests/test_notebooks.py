"""Every narrative notebook executes under the quick preset, committed thin and without outputs."""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "00_index.ipynb", "01_level_set_equation.ipynb", "02_level_set_network.ipynb", "03_unet.ipynb",
    "04_table2.ipynb", "05_kernel_atlas.ipynb", "06_exercises.ipynb",
]
TIMES: dict[str, float] = {}

# what a learner who solved the exercises of 06 would write: the library's own operators
SOLUTIONS = {
    "def my_upwind_step": (
        "from lsn_explorer.levelset.operators import upwind_advection\n"
        "def my_upwind_step(u, vx, vy, dt):\n"
        "    d = apply_stencils(u, as_weight([XP, XN, YP, YN], u))\n"
        "    return u + dt * upwind_advection(d, vx, vy)\n"
    ),
    "answer = {": (
        "from lsn_explorer.kernels import identify_kernels\n"
        "answer = dict(zip('ABC', identify_kernels(np.stack([kernels[k] for k in 'ABC'])).operator))\n"
    ),
    "params = {": 'params = {"alpha": 1.0, "beta": 0.2, "gamma": 1.0, "num_iter": 500}\n',
}


@pytest.fixture(scope="module", autouse=True)
def _report_times(request, artifacts):
    """Print every notebook's execution time (even with output captured) and save them as JSON."""
    yield
    if TIMES:
        lines = [f"  {name}: {seconds:.1f} s" for name, seconds in TIMES.items()]
        lines.append(f"  total: {sum(TIMES.values()):.1f} s")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nnotebook execution times (quick preset):\n" + "\n".join(lines))
        (artifacts / "notebook_times.json").write_text(json.dumps(TIMES, indent=1))


def _execute(notebook) -> float:
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()
    return time.perf_counter() - start


def _errors(notebook) -> list[tuple[list, dict]]:
    return [(cell.metadata.get("tags", []), out) for cell in notebook.cells
            for out in cell.get("outputs", []) if out.output_type == "error"]


def test_the_course_is_complete():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_thin_and_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
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
    assert links and all((NOTEBOOK_DIR / link).is_file() for link in links), "end with a link to the next notebook"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_under_the_quick_preset(path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    notebook = nbformat.read(path, as_version=4)
    TIMES[path.name] = seconds = _execute(notebook)
    print(f"{path.name}: {seconds:.1f} s")
    errors = _errors(notebook)
    # the only errors allowed are the exercise checks failing on their blanks
    unexpected = [(out["ename"], out["evalue"]) for tags, out in errors
                  if "raises-exception" not in tags or out["ename"] != "AssertionError"]
    assert not unexpected, unexpected
    shown = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) or "application/vnd.plotly.v1+json" in o.get("data", {})
               or "text/html" in o.get("data", {}) for o in shown) or path.name == "00_index.ipynb"
    printed = "".join(o.get("text", "") for o in shown if o.output_type == "stream")
    CHECKS.get(path.name, lambda printed: None)(printed)


def _front_reaches_the_liver(printed: str) -> None:
    # the speed-map LSN's animation: the front starts at the border and ends on the liver
    first, last = (float(x) for x in re.search(r"against the label: ([\d.]+) at u0, ([\d.]+) after layer", printed).groups())
    assert last - first >= 0.5, (first, last)


def _table_has_every_network(printed: str) -> None:
    assert re.search(r"seeds \[0, 1, 2\]", printed), "the committed table is over 3 seeds"


#: What a reader of each notebook should see, beyond running without error.
CHECKS = {"02_level_set_network.ipynb": _front_reaches_the_liver, "04_table2.ipynb": _table_has_every_network}


@pytest.mark.notebook
def test_exercise_checks_fail_on_the_blanks_and_pass_when_solved(monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    blank = nbformat.read(NOTEBOOK_DIR / "06_exercises.ipynb", as_version=4)
    check_cells = [c for c in blank.cells if "raises-exception" in c.metadata.get("tags", [])]
    assert len(check_cells) == 3
    solved = nbformat.from_dict(json.loads(json.dumps(blank)))
    replaced = 0
    for cell in solved.cells:
        for start, solution in SOLUTIONS.items():
            if cell.cell_type == "code" and cell.source.startswith(start):
                cell.source, replaced = solution, replaced + 1
    assert replaced == 3
    _execute(solved)
    assert _errors(solved) == []
    printed = "".join(o.get("text", "") for c in solved.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert printed.count("✓") == 3, printed
