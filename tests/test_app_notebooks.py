"""Every app notebook executes headless (nbclient), as Voila would run it."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
APPS = sorted((REPO / "apps").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", APPS, ids=[p.name for p in APPS])
def test_app_notebook_executes(path):
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit without outputs"
    start = time.perf_counter()
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
