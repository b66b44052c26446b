"""The slice browser app: its widget logic without a browser, then in headless Chromium."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from lsn_explorer.apps import SliceBrowser

from harness import select_real_ct, serve_voila

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory):
    from lsn_explorer.data.phantom import write_phantom_dataset

    folder = tmp_path_factory.mktemp("phantom")
    write_phantom_dataset(folder, volumes=2, seed=0, size=64, num_slices=10)
    return folder


def test_a_scan_without_a_label_is_browsed_and_evolved_without_one(tmp_path, monkeypatch):
    from _lits_files import case_arrays, write_nifti

    from lsn_explorer.apps import LevelSetPlayground
    from lsn_explorer.apps.explorer_compute import ct_slice

    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path / "cache"))
    write_nifti(tmp_path / "volume-5.nii.gz", case_arrays()[0])
    browser = SliceBrowser(str(tmp_path), size=32)
    assert browser.volume.mask is None and browser.slice == browser.volume.num_slices // 2
    assert "no label" in browser._status.value
    playground = LevelSetPlayground(str(tmp_path), size=32)
    assert playground.mask is None and len(playground._figure.data[1].x) == 0, "no label contour is drawn"
    playground.place_bubble(16, 16)
    playground.run()
    assert "no label to score against" in playground._dice.value and "front area" in playground._dice.value
    middle = browser.volume.image[browser.volume.num_slices // 2]
    np.testing.assert_allclose(ct_slice(str(tmp_path), size=32), middle)   # the kernel explorer's slice


def test_browser_starts_on_the_slice_with_most_liver(phantom_dir):
    app = SliceBrowser(str(phantom_dir), size=64)
    areas = app.volume.mask.sum(axis=(1, 2))
    assert app.slice == int(areas.argmax()) and areas[app.slice] > 0
    assert f"z = {int(app.volume.slice_index[app.slice])}" in app._figure.layout.title.text


def test_moving_the_slider_redraws_image_and_status(phantom_dir):
    app = SliceBrowser(str(phantom_dir), size=64)
    before = app._figure.data[0].source
    app._slice.value = 0
    assert app._figure.data[0].source != before
    assert "slice 1 of" in app._status.value


def test_changing_volume_resets_the_slider_range(phantom_dir):
    app = SliceBrowser(str(phantom_dir), size=64)
    app._volume.value = 1
    assert app.volume.dataid == 1 and app._slice.max == app.volume.num_slices - 1
    assert "volume 1" in app._status.value


@pytest.mark.browser
def test_slice_browser_page_renders_and_slider_responds(page, artifacts, tmp_path):
    with serve_voila(REPO / "apps" / "slice_browser.ipynb", log_path=tmp_path / "voila.log") as url:
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        status = page.locator(".slice-status").first
        first = status.inner_text()
        assert re.search(r"slice \d+ of \d+", first)
        page.locator(".widget-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowLeft")
        deadline = time.monotonic() + 20
        while status.inner_text() == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status.inner_text() != first, "moving the slider did not redraw the slice"
        page.screenshot(path=str(artifacts / "slice_browser.png"))
        image = page.evaluate("() => document.querySelector('.js-plotly-plot').data[0].source")
        select_real_ct(page)
        assert re.search(r"volume 0 · slice \d+ of 20", status.inner_text()), status.inner_text()
        assert page.evaluate("() => document.querySelector('.js-plotly-plot').data[0].source") != image
        page.screenshot(path=str(artifacts / "slice_browser_real_ct.png"))
        assert page.errors == [], page.errors
