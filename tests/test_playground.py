"""The level-set playground: its pure functions, its widget logic, and the app in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from plotly.callbacks import Points

from lsn_explorer.apps.levelset_playground import (
    LevelSetPlayground,
    bubbles_from_clicks,
    edge_map,
    playground_figure,
    run_evolution,
    time_step_status,
)
from lsn_explorer.apps.testing import select_real_ct, serve_voila
from lsn_explorer.errors import InputError
from lsn_explorer.levelset import bubble_centers
from lsn_explorer.levelset import evolve

REPO = Path(__file__).resolve().parents[1]


def _square_image(n=32):
    image = np.full((n, n), -0.5, np.float32)
    image[8:24, 8:24] = 0.5
    return image, image > 0


def test_bubbles_from_clicks_are_positive_at_each_click_only():
    u0 = bubbles_from_clicks((20, 30), [(5, 5), (10, 25)], radius=2.0)
    assert u0.shape == (1, 1, 20, 30)
    assert u0[0, 0, 5, 5] == 2.0 and u0[0, 0, 10, 25] == 2.0 and u0[0, 0, 15, 15] < 0
    assert int((u0 > 0).sum()) == 2 * 9  # two discs of radius 2: centre, 4 edge and 4 diagonal neighbours


@pytest.mark.parametrize(("clicks", "radius", "match"), [([], 4.0, "no bubbles"), ([(3, 40)], 4.0, "outside"),
                                                         ([(3, 3)], 0.0, "radius")])
def test_bad_clicks_raise_a_message(clicks, radius, match):
    with pytest.raises(InputError, match=match):
        bubbles_from_clicks((20, 30), clicks, radius=radius)


def test_time_step_status_names_the_limit_when_dt_is_too_large():
    g = torch.ones(1, 1, 8, 8)
    limit, problem = time_step_status(g, alpha=0.0, beta=1.0, gamma=0.0, dt=0.2)
    assert limit == pytest.approx(0.25) and problem is None
    _, problem = time_step_status(g, alpha=0.0, beta=1.0, gamma=0.0, dt=0.8)
    assert "dt=0.8 exceeds the CFL limit 0.25 " in problem and "blow up" in problem


def test_run_evolution_records_frames_ending_at_the_solvers_result():
    image, mask = _square_image()
    u0 = bubbles_from_clicks(image.shape, [(16, 16)], radius=3.0)
    run = run_evolution(image, u0, alpha=1.0, beta=0.2, gamma=1.0, dt=0.2, num_iter=45, mask=mask, max_frames=10)
    assert run.steps[0] == 0 and run.steps[-1] == 45 and len(run.frames) == len(run.contours) == len(run.dice) <= 12
    assert np.array_equal(run.frames[0], u0[0, 0].numpy())
    g = edge_map(image, sigma=1.0, kappa=0.04, lam=3.0)
    expected = evolve(u0, g, num_iter=45, alpha=1.0, beta=0.2, gamma=1.0, dt=0.2)
    np.testing.assert_allclose(run.frames[-1], expected[0, 0].numpy(), atol=1e-5)
    assert run.dice[-1] > run.dice[0], "the bubble grows towards the square"
    assert (run.frames[-1] > 0).sum() > (run.frames[0] > 0).sum()


def test_run_evolution_refuses_a_time_step_above_the_limit():
    image, mask = _square_image()
    u0 = bubbles_from_clicks(image.shape, [(16, 16)])
    with pytest.raises(InputError, match="exceeds the CFL limit"):
        run_evolution(image, u0, alpha=1.0, beta=0.2, gamma=1.0, dt=5.0, num_iter=5)


def test_playground_figure_has_a_clickable_image_and_empty_front():
    image, mask = _square_image()
    fig = playground_figure(image, mask)
    assert [t.type for t in fig.data] == ["image", "scatter", "scatter", "scatter"]
    assert fig.data[0].hoverinfo != "skip" and "row" in fig.data[0].hovertemplate
    assert len(fig.data[1].x) > 0 and len(fig.data[2].x) == 0


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory):
    from lsn_explorer.data.phantom import write_phantom_dataset

    folder = tmp_path_factory.mktemp("phantom")
    write_phantom_dataset(folder, volumes=2, seed=0, size=64, num_slices=10)
    return folder


def _click(app, row, col):
    app._figure.data[0]._dispatch_on_click(Points(point_inds=[0], xs=[col], ys=[row], trace_name="slice", trace_index=0),
                                           None)


def test_a_click_places_a_bubble_and_run_shows_the_dice(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    assert "Run" in app._dice.value and app.result is None
    row, col, _ = bubble_centers(app.mask)[0]
    _click(app, row, col)
    assert app.clicks == [(row, col)] and list(app._figure.data[3].x) == [col]
    result = app.run()
    assert result is not None and app._frame.max == len(result.frames) - 1 == app._frame.value
    assert re.search(r"Dice \d\.\d{3}", app._dice.value) and f"step {result.steps[-1]}" in app._dice.value
    assert len(app._figure.data[2].x) > 0, "the front is drawn"


def test_scrubbing_step_and_rewind_move_the_front(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    app._iterations.value = 50
    result = app.run()
    last = tuple(app._figure.data[2].x)
    app.rewind()
    assert app._frame.value == 0 and "step 0 of" in app._dice.value
    assert tuple(app._figure.data[2].x) != last
    app.step()
    assert app._frame.value == 1 and f"step {result.steps[1]} of" in app._dice.value


def test_a_time_step_over_the_limit_gives_a_message_not_a_traceback(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    app._dt.value = 1.5
    assert "exceeds the CFL limit" in app._cfl.value
    assert app.run() is None and "exceeds the CFL limit" in app._status.value and app.result is None


def test_running_without_bubbles_asks_for_a_click(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    assert app.run() is None and "click the slice" in app._status.value


def test_changing_the_slice_clears_bubbles_and_run(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    app.run()
    source = app._figure.data[0].source
    app._slice.value = 0
    assert app.clicks == [] and app.result is None and app._figure.data[0].source != source


def test_speeds_from_the_trained_network_carry_a_bubble_to_the_liver_boundary():
    # the default phantom at the preset's size, where the bundled speed-map LSN was trained
    app = LevelSetPlayground()
    app._speeds.value = "network"
    assert app._alpha.disabled and "speed-map LSN" in app._cfl.value
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    # the network's g is low inside the liver (it was trained on a front coming from the border, which
    # g slows down there), so a bubble grows at a fraction of the fastest speed: give it time
    app._iterations.value = 800
    result = app.run()
    assert result is not None and result.dice[0] < 0.3
    assert result.dice[-1] > 0.85, f"the front stopped at Dice {result.dice[-1]:.3f}"
    alpha, g = app._network_maps()
    assert alpha.shape == (1, 1, *app.image.shape) and float(alpha.min()) < 0 < float(alpha.max())
    app._speeds.value = "weights"
    assert not app._alpha.disabled and "CFL limit" in app._cfl.value


@pytest.mark.browser
def test_playground_click_places_a_bubble_and_run_shows_dice(page, artifacts, tmp_path, monkeypatch):
    from lsn_explorer.data import PreprocessSettings, load_volumes

    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    volume = load_volumes("phantom", settings=PreprocessSettings(size=128))[0]  # what the app shows first
    z = int(volume.mask.sum(axis=(1, 2)).argmax())
    row, col, _ = bubble_centers(volume.mask[z])[0]
    with serve_voila(REPO / "apps" / "levelset_playground.ipynb", log_path=tmp_path / "voila.log") as url:
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".js-plotly-plot .nsewdrag", timeout=120_000)
        page.wait_for_selector("text=click inside the liver", timeout=60_000)
        shown = page.evaluate("() => { const d = document.querySelector('.js-plotly-plot').data;"
                              " return [d[0].source, d[1].x.length]; }")
        expected = playground_figure(volume.image[z], volume.mask[z])
        assert shown == [expected.data[0].source, len(expected.data[1].x)], "the page shows another slice"
        box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
        h, w = volume.mask.shape[1:]
        x = box["x"] + (col + 0.5) / w * box["width"]
        y = box["y"] + (row + 0.5) / h * box["height"]
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_selector("text=1 bubble(s) placed", timeout=20_000)
        page.locator("button", has_text=re.compile(r"^\s*Run\s*$")).click()
        dice = page.locator("text=/Dice \\d\\.\\d{3}/")
        dice.wait_for(timeout=60_000)
        final = float(re.search(r"Dice (\d\.\d{3})", dice.inner_text()).group(1))
        assert final > 0.5, "a bubble in the liver grows over most of it"
        page.screenshot(path=str(artifacts / "levelset_playground.png"))
        page.locator("button", has_text="Rewind").click()
        page.wait_for_selector("text=/at step 0 of/", timeout=20_000)
        page.locator("button", has_text="Step").click()
        page.wait_for_selector("text=/at step 3 of 300/", timeout=20_000)
        page.locator(".widget-play button").first.click()  # play to the last frame
        page.wait_for_selector("text=/at step 300 of 300/", timeout=30_000)
        select_real_ct(page)
        page.wait_for_selector("text=click inside the liver", timeout=60_000)
        real = page.evaluate("() => document.querySelector('.js-plotly-plot').data[0].source")
        assert real != shown[0], "the page still shows the phantom slice"
        page.screenshot(path=str(artifacts / "levelset_playground_real_ct.png"))
        assert page.errors == [], page.errors
