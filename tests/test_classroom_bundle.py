"""The kernel explorer's page carries a third of plotly's figure code: the partial plotly.js bundle, and its fallbacks."""

from __future__ import annotations

import time
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest

from lsn_explorer.apps import plotly_bundle
from lsn_explorer.apps.plotly_bundle import BUNDLE, PLOTLY_BUNDLE, TRACES, ScatterFigureWidget, bundle_info, esm_path
from lsn_explorer.apps.visit_probe import VISIT_PROBE, read_visit
from lsn_explorer.errors import InputError

from harness import serve_voila, voila_kernels

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "apps" / "kernel_explorer.ipynb"


def test_the_shipped_bundle_holds_the_installed_plotlys_widget_code_and_the_explorers_traces():
    info = bundle_info()
    assert info is not None, f"{BUNDLE} was not written by build_bundle"
    assert info["plotly"] == plotly.__version__, "rebuild it: python -m lsn_explorer.apps.plotly_bundle"
    assert {"scatter", "scattergl"} <= set(info["traces"]) == TRACES
    assert BUNDLE.stat().st_size < 0.4 * PLOTLY_BUNDLE.stat().st_size
    text = BUNDLE.read_text()
    assert f"plotly.js ({info['partial']} - minified) v{info['plotly.js']}" in text, "the partial bundle keeps its licence"


def test_the_explorers_figure_uses_the_partial_bundle():
    from lsn_explorer.apps import KernelExplorer

    scatter = KernelExplorer()._scatter
    assert isinstance(scatter, ScatterFigureWidget) and scatter.partial_bundle
    assert {trace.type for trace in scatter.data} <= TRACES
    assert scatter._esm == BUNDLE.read_text()


def test_a_trace_the_bundle_cannot_draw_is_refused():
    assert ScatterFigureWidget(go.Scatter(x=[1], y=[2])).data[0].type == "scatter"
    with pytest.raises(InputError, match="bar"):
        ScatterFigureWidget(go.Bar(x=[1], y=[2]))


def test_plotlys_own_code_when_asked_or_when_the_bundle_is_stale(monkeypatch):
    assert esm_path() == BUNDLE
    monkeypatch.setenv("LSN_EXPLORER_PLOTLY_BUNDLE", "full")
    assert esm_path() == PLOTLY_BUNDLE
    monkeypatch.delenv("LSN_EXPLORER_PLOTLY_BUNDLE")
    monkeypatch.setattr(plotly_bundle.plotly, "__version__", "0.0.0")
    assert esm_path() == PLOTLY_BUNDLE
    assert bundle_info(REPO / "voila.json") is None


@pytest.mark.browser
def test_a_preheated_visit_draws_the_kernels_with_the_partial_bundle(browser, tmp_path):
    with serve_voila(APP, log_path=tmp_path / "voila.log") as url:
        deadline = time.monotonic() + 90
        while voila_kernels(url) < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(5)  # the pool's kernel runs the app
        context = browser.new_context(viewport={"width": 1280, "height": 1500})
        context.add_init_script(script=VISIT_PROBE)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url, timeout=120_000)
        page.wait_for_function("() => window.__lsnVisit.drawn !== null", timeout=120_000)
        visit = read_visit(page)
        context.close()
    assert not errors, errors
    assert visit["module_bytes"] == len(BUNDLE.read_bytes())
    # Voila's own code (about 5 MB) and the figure's: was 10.0 MB with plotly's own figure code
    assert visit["javascript_bytes"] < 7.0e6, visit["javascript_bytes"]
    assert all(v is not None and v >= 0 for v in visit["phases"].values()), visit["phases"]
    print(f"pre-heated visit: {visit['tti_s']:.2f} s, {visit['javascript_bytes'] / 1e6:.2f} MB of JavaScript; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in visit["phases"].items()))
