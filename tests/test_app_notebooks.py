"""Every app notebook executes headless (nbclient), as Voila would run it, and shows what it should.

nbclient keeps the widgets' state in the executed notebook (as Voila sends it to the browser), so
the test reads what a visitor sees: the model and kernel count, the volumes offered, the status
lines.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
APPS = sorted((REPO / "apps").glob("*.ipynb"))
PHANTOM_VOLUMES = [f"volume {i}" for i in range(10)]


def run_app(path: Path) -> list[tuple[str, dict]]:
    """Execute an app notebook; ``(model name, state)`` of every widget it shows. Fails on an error output."""
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit without outputs"
    start = time.perf_counter()
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [(w["model_name"], w["state"]) for w in state.values()]


def _with(widgets, model: str, description: str) -> dict:
    (state,) = [s for m, s in widgets if m == model and s.get("description") == description]
    return state


def _html(widgets) -> list[str]:
    return [s["value"] for m, s in widgets if m == "HTMLModel"]


def _options(state: dict) -> list[str]:
    return list(state["_options_labels"])


@pytest.mark.notebook
def test_the_kernel_explorer_shows_the_bundled_unet_and_all_its_kernels():
    from lsn_explorer.models import bundled_model

    layers = bundled_model("unet").named_kernel_layers()
    kernels = sum(int(w.shape[0] * w.shape[1]) for _, _, w in layers)
    widgets = run_app(REPO / "apps" / "kernel_explorer.ipynb")
    model = _with(widgets, "DropdownModel", "Model")
    assert _options(model)[model["index"]] == "bundled phantom UNet"
    assert f"bundled phantom UNet: {kernels} kernels in {len(layers)} layers" in " ".join(_html(widgets))
    assert _with(widgets, "IntSliderModel", "Layer")["max"] == len(layers)
    name, part, weight = layers[0]
    assert f"<b>{name}</b> · {part} · {weight.shape[0] * weight.shape[1]} kernels" in _html(widgets)


@pytest.mark.notebook
def test_the_playground_offers_the_phantom_and_a_stable_time_step():
    widgets = run_app(REPO / "apps" / "levelset_playground.ipynb")
    assert _options(_with(widgets, "DropdownModel", "Volume")) == PHANTOM_VOLUMES
    status = next(v for v in _html(widgets) if v.startswith("CFL limit"))
    assert status.endswith("✓"), status
    where = next(v for v in _html(widgets) if "click inside the liver" in v)
    shown, total = map(int, re.search(r"slice (\d+) of (\d+)", where).groups())
    slider = _with(widgets, "IntSliderModel", "Slice")
    assert slider["max"] == total - 1 and slider["value"] == shown - 1


@pytest.mark.notebook
def test_the_slice_browser_shows_a_slice_with_liver():
    widgets = run_app(REPO / "apps" / "slice_browser.ipynb")
    assert _options(_with(widgets, "DropdownModel", "Volume")) == PHANTOM_VOLUMES
    line = next(v for v in _html(widgets) if "liver pixels" in v)
    shown, total, liver = map(int, re.search(r"slice (\d+) of (\d+) · liver pixels: (\d+)", line).groups())
    slider = _with(widgets, "IntSliderModel", "Slice")
    assert slider["max"] == total - 1 and slider["value"] == shown - 1 and liver > 1000


def test_every_app_notebook_is_tested():
    tested = {"kernel_explorer.ipynb", "levelset_playground.ipynb", "slice_browser.ipynb"}
    assert {p.name for p in APPS} == tested


# the controls and panels each app's Legend must explain, by the names the app shows
LEGEND_NAMES = {
    "kernel_explorer.ipynb": ["Model", "Load file", "Upload", "Layer", "**k**", "View", "global PCA", "per-layer PCA", "UMAP",
                              "cluster canonical forms", "Stencils shown", "Red squares", "black diamonds", "Scatter",
                              "silhouette", "Kernel heatmap", "CT slice", "kernel response", "Cluster centres", "Bars"],
    "levelset_playground.ipynb": ["Data", "Volume", "Slice", "Show", "edge function g", "Speeds", "Scheme", "α balloon",
                                  "β curvature", "γ advection", "dt", "unsafe dt", "σ blur", "κ steepness", "λ exponent",
                                  "iterations", "bubble radius", "Run", "Clear bubbles", "max|u| per frame", "Play",
                                  "Step", "Rewind", "frame"],
    "slice_browser.ipynb": ["Data", "Volume", "Slice", "Status line", "Image"],
}


@pytest.mark.parametrize("path", APPS, ids=lambda p: p.name)
def test_every_app_notebook_states_goals_a_legend_and_three_tasks_with_folded_answers(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    text = "\n\n".join(markdown)
    assert re.search(r"^# \S", markdown[0], re.M) and re.search(r"^## Goals\n\n\S", text, re.M), "a title and the goals first"
    tasks = re.findall(r"^### Task (\d): [^\n]+\n\n(.+?)\n\n<details><summary>Answer</summary>\n\n(.+?)\n\n</details>", text,
                       re.M | re.S)
    assert [n for n, _, _ in tasks] == ["1", "2", "3"] and text.count("<details>") == text.count("</details>") == 3
    assert all(len(question) > 80 and len(answer) > 150 for _, question, answer in tasks)
    legend = next(source for source in markdown if source.startswith("## Legend"))
    missing = [name for name in LEGEND_NAMES[path.name] if name not in legend]
    assert not missing, f"{path.name}: the legend does not explain {missing}"
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) == 2 and code[0].startswith("from lsn_explorer.apps import "), "the app stays two code cells"
