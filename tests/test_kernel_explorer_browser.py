"""The kernel explorer served by Voila, driven in headless Chromium.

One server and one page serve the whole module (a Voila page is one kernel, one
session), so the tests run in file order, as a user would: look, move the layer
slider, click a kernel, select a group, try a bad file.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from pathlib import Path

import pytest

from harness import (
    APP_DRAWN,
    CLICKABLE_KERNELS,
    DETAIL_TITLE,
    SCATTER,
    SCATTER_DRAWN,
    select_real_ct,
    serve_voila,
)

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def unet_layers():
    from lsn_explorer.kernels import collect_kernels
    from lsn_explorer.models import bundled_model

    return collect_kernels(bundled_model("unet")).layers


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory):
    """The app's page, loaded once: it records uncaught page errors in ``page.errors``."""
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with serve_voila(REPO / "apps" / "kernel_explorer.ipynb", log_path=log) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1500})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url, timeout=120_000)
        page.wait_for_function(SCATTER_DRAWN, timeout=120_000)
        page.wait_for_function(APP_DRAWN, timeout=60_000)
        yield page
        context.close()


def _poll(page, expression: str, predicate, timeout: float = 20.0):
    """Evaluate ``expression`` until ``predicate(value)``; return the last value."""
    deadline = time.monotonic() + timeout
    value = page.evaluate(expression)
    while not predicate(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = page.evaluate(expression)
    return value


def _n_points(page) -> int:
    return page.evaluate(f"document.querySelector('{SCATTER}').data[0].x.length")


def _press_layer(page, key: str) -> None:
    """Move the layer slider one step with the keyboard, as a user would (focus its handle, press a key).

    The key press is repeated once if the slider's readout has not moved after 5 s
    (a key event lost while the page was busy); what the tests check is that the
    scatter then follows the slider.
    """
    handle = page.locator(".kx-layer .noUi-handle").first
    readout = page.locator(".kx-layer .widget-readout").first
    for _ in range(2):
        before = readout.inner_text()
        handle.focus()
        page.keyboard.press(key)
        deadline = time.monotonic() + 5
        while readout.inner_text() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        if readout.inner_text() != before:
            return


def test_page_renders_without_errors(app, artifacts):
    assert _n_points(app) == 16  # layer 1 of the bundled UNet
    assert "conv1" in app.locator(".kx-layer-label").inner_text() and "encoder" in app.locator(".kx-layer-label").inner_text()
    assert "14608 kernels in 18 layers" in app.locator(".kx-message").inner_text()
    assert app.locator(".kx-centroids table").count() == 3 and app.locator("img.kx-response").count() == 1
    assert "layer 1:" in app.locator(".kx-fractions").inner_text()
    app.screenshot(path=str(artifacts / "kernel_explorer_app.png"))
    assert app.errors == [], app.errors


def test_layer_slider_shows_that_layers_kernels(app, unet_layers):
    before = _n_points(app)
    _press_layer(app, "ArrowRight")
    expected = unet_layers[1].n_kernels
    assert expected != before
    assert _poll(app, f"document.querySelector('{SCATTER}').data[0].x.length", lambda n: n == expected) == expected
    label = app.locator(".kx-layer-label").inner_text()
    assert "conv2" in label and f"{expected} kernels" in label
    title = app.evaluate(f"document.querySelector('{SCATTER}').layout.title.text")
    assert title.startswith("layer 2 (conv2, encoder)")
    # the linked views follow: first kernel of the layer, its cluster centres, its summary
    for js, prefix in ((DETAIL_TITLE, "layer 2 · out 0 · in 0"),
                       ("document.querySelector('.kx-centroids-title').innerText", "layer 2 "),
                       ("document.querySelector('.kx-fractions-title').innerText", "layer 2:")):
        assert _poll(app, js, lambda t: t.startswith(prefix)).startswith(prefix), js
    assert app.errors == [], app.errors


def test_clicking_a_kernel_shows_its_heatmap_and_name(app):
    title_js = DETAIL_TITLE
    z_js = "document.querySelector('.kx-detail table').innerText"  # the kernel's nine weights
    before_title, before_z = app.evaluate(title_js), app.evaluate(z_js)
    # a kernel well apart from the other markers, not the one shown at start
    point = next((p for p in app.evaluate(CLICKABLE_KERNELS) if p["i"] != 0), None)
    assert point is not None and point["gap"] > 6, point
    assert point["name"] != before_title
    app.mouse.click(point["x"], point["y"])
    title = _poll(app, title_js, lambda t: t == point["name"])
    assert title == point["name"], f"clicked {point}, heatmap title is {title!r}"
    assert app.evaluate(z_js) != before_z
    assert point["name"] in app.locator(".kx-identity").inner_text()
    assert app.errors == [], app.errors


def test_box_selection_offers_the_kernels_as_csv(app):
    gd = app.evaluate(f"""(() => {{ const gd = document.querySelector('{SCATTER}'), b = gd.getBoundingClientRect();
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return {{x0: b.left + xa._offset, y0: b.top + ya._offset, w: xa._length, h: ya._length}}; }})()""")
    x0, y0 = gd["x0"] + 0.05 * gd["w"], gd["y0"] + 0.05 * gd["h"]
    x1, y1 = gd["x0"] + 0.6 * gd["w"], gd["y0"] + 0.95 * gd["h"]
    app.mouse.move(x0, y0)
    app.mouse.down()
    app.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    app.mouse.move(x1, y1, steps=5)
    app.mouse.up()
    link = app.locator(".kx-download a.kx-csv")
    link.wait_for(timeout=20_000)
    n_selected = app.evaluate(f"document.querySelector('{SCATTER}').data[0].selectedpoints.length")
    text = base64.b64decode(link.get_attribute("href").split(",", 1)[1]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert n_selected > 0 and len(rows) == n_selected
    assert {"layer", "out_channel", "in_channel", "w11", "cluster", "x", "y", "nearest_stencil", "operator", "residual"} <= set(rows[0])
    assert {r["layer"] for r in rows} == {"2"}
    assert app.errors == [], app.errors


def test_changing_k_redraws_the_cluster_centres(app):
    centres = "document.querySelectorAll('.kx-centroids table').length"
    before = app.evaluate(centres)
    readout = app.locator(".kx-k .widget-readout").first
    readout.click()
    app.keyboard.press("Control+A")
    app.keyboard.type(str(before + 1))
    app.keyboard.press("Enter")
    n = _poll(app, centres, lambda n: n == before + 1)
    assert n == before + 1, f"k readout shows {readout.inner_text()!r}"
    assert f"k = {before + 1}" in app.evaluate(f"document.querySelector('{SCATTER}').layout.title.text")
    assert app.errors == [], app.errors


def test_a_bad_upload_shows_a_message_and_the_app_keeps_working(app, unet_layers):
    with app.expect_file_chooser(timeout=30_000) as chooser:
        app.locator(".kx-upload").first.click()
    chooser.value.set_files(
        files=[{"name": "broken.pt", "mimeType": "application/octet-stream", "buffer": b"this is not a checkpoint"}]
    )
    error = app.locator(".kx-error")
    error.wait_for(timeout=30_000)
    text = error.inner_text()
    assert "broken.pt" in text and "Still showing bundled phantom UNet" in text
    assert "Traceback" not in app.inner_text("body")
    layer = int(app.evaluate(f"document.querySelector('{SCATTER}').layout.title.text").split()[1])
    _press_layer(app, "ArrowRight")
    expected = unet_layers[layer].n_kernels
    assert _poll(app, f"document.querySelector('{SCATTER}').layout.title.text", lambda t: t.startswith(f"layer {layer + 1} ")).startswith(f"layer {layer + 1} ")
    assert _n_points(app) == expected
    assert app.errors == [], app.errors


def test_the_ct_slice_can_be_a_real_ct(app, artifacts):
    ct_source = "document.querySelector('img.kx-ct').src"
    before = app.evaluate(ct_source)
    select_real_ct(app)
    assert _poll(app, ct_source, lambda src: src != before) != before, "the CT slice did not change"
    app.screenshot(path=str(artifacts / "kernel_explorer_real_ct.png"))
    assert app.errors == [], app.errors
