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
    unstable_warning,
)
from lsn_explorer.apps.playground_compute import UNSTABLE_FACTOR, run_summary
from lsn_explorer.apps.playground_figures import edge_png, growth_svg, slice_png
from lsn_explorer.errors import InputError
from lsn_explorer.levelset import bubble_centers
from lsn_explorer.levelset import evolve
from lsn_explorer.viz.slices import png_data_uri

from harness import select_real_ct, serve_voila

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
    expected = evolve(u0, g, num_iter=45, alpha=1.0, beta=0.2, gamma=1.0, dt=0.2, backend="reference")
    np.testing.assert_allclose(run.frames[-1], expected[0, 0].numpy(), atol=1e-5)
    assert run.dice[-1] > run.dice[0], "the bubble grows towards the square"
    assert (run.frames[-1] > 0).sum() > (run.frames[0] > 0).sum()


def test_run_evolution_refuses_a_time_step_above_the_limit():
    image, mask = _square_image()
    u0 = bubbles_from_clicks(image.shape, [(16, 16)])
    with pytest.raises(InputError, match="exceeds the CFL limit"):
        run_evolution(image, u0, alpha=1.0, beta=0.2, gamma=1.0, dt=5.0, num_iter=5)


def _square_run(factor, *, scheme="upwind", num_iter=60, **kwargs):
    """A bubble in the square, at ``factor`` times the CFL limit of the default weights."""
    image, mask = _square_image()
    u0 = bubbles_from_clicks(image.shape, [(16, 16)], radius=3.0)
    weights = dict(alpha=1.0, beta=0.2, gamma=1.0)
    limit, _ = time_step_status(edge_map(image, sigma=1.0, kappa=0.04, lam=3.0), dt=1.0, **weights)
    return run_evolution(image, u0, dt=factor * limit, num_iter=num_iter, mask=mask, scheme=scheme, **weights, **kwargs)


def test_the_unstable_warning_gives_the_factor_and_the_limit():
    assert unstable_warning(0.8, 0.25) == ("dt = 0.80 is 3.2× the CFL limit 0.250: "
                                           "the explicit scheme is unstable; watch max|u| grow")
    assert unstable_warning(0.25, 0.25) is None and unstable_warning(0.1, 0.25) is None


def test_above_the_limit_max_u_grows_and_below_it_stays_bounded():
    with pytest.raises(InputError, match="exceeds the CFL limit"):
        _square_run(3.0)
    stable = _square_run(0.9, allow_unstable=True)  # below the limit the switch changes nothing
    assert not stable.unstable and stable.overflow_step is None
    assert max(stable.max_abs) <= stable.max_abs[0] * 1.001, "the upwind scheme makes no new extrema"
    unstable = _square_run(3.0, allow_unstable=True)
    assert unstable.unstable and unstable.dt == pytest.approx(3.0 * unstable.limit)
    assert unstable.max_abs[-1] > 1e4 * unstable.max_abs[0], unstable.max_abs
    assert len(unstable.area) == len(unstable.frames) and unstable.area[-1] > 2 * stable.area[-1], "the front turns to noise"


def test_a_run_that_overflows_stops_at_the_last_finite_step():
    run = _square_run(UNSTABLE_FACTOR, num_iter=1000, allow_unstable=True)
    assert run.overflow_step is not None and run.steps[-1] == run.overflow_step - 1 < 1000
    assert all(np.isfinite(f).all() for f in run.frames)
    assert "overflowed" in run_summary(run) and "× the CFL limit" in run_summary(run)


def test_central_differences_give_another_front_than_upwind():
    upwind, central = _square_run(0.9), _square_run(0.9, scheme="central")
    assert (upwind.scheme, central.scheme) == ("upwind", "central")
    assert upwind.frames[0].tolist() == central.frames[0].tolist()
    changed = int(((upwind.frames[-1] > 0) != (central.frames[-1] > 0)).sum())
    assert changed > upwind.area[-1], "central differences are not monotone: the front breaks up"
    assert max(central.max_abs) > max(upwind.max_abs)


def test_an_unknown_scheme_is_refused_by_name():
    with pytest.raises(InputError, match="scheme='weno'"):
        _square_run(0.5, scheme="weno")


def test_edge_png_draws_g_on_a_fixed_viridis_scale():
    zeros, ones = np.zeros((4, 5)), torch.ones(1, 1, 4, 5)
    assert edge_png(zeros) == png_data_uri(np.broadcast_to(np.array([0x44, 0x01, 0x54], np.uint8), (4, 5, 3)))
    assert edge_png(ones) == png_data_uri(np.broadcast_to(np.array([0xFD, 0xE7, 0x25], np.uint8), (4, 5, 3)))
    assert edge_png(ones * 3) == edge_png(ones), "g is clipped to [0, 1], not rescaled"


def _svg_line(svg):
    """The (x, y) vertices of the growth line of :func:`growth_svg`."""
    points = re.search(r"<polyline class='growth' points='([^']*)'", svg).group(1)
    return np.array([[float(v) for v in p.split(",")] for p in points.split()])


def test_growth_svg_draws_max_u_on_a_log_axis():
    xy = _svg_line(growth_svg([0, 10, 20], [5.0, 50.0, 500.0], current=1))
    assert xy.shape == (3, 2) and np.all(np.diff(xy[:, 0]) > 0)
    rise = np.diff(xy[:, 1])  # SVG y points down: a rising line has falling y
    assert rise[0] < 0 and rise == pytest.approx([rise[0], rise[0]]), "one equal step up per decade"
    dot = re.search(r"<circle cx='([\d.]+)' cy='([\d.]+)'", growth_svg([0, 10, 20], [5.0, 50.0, 500.0], current=1))
    assert (float(dot.group(1)), float(dot.group(2))) == pytest.approx(tuple(xy[1]), abs=0.1)
    assert "<polyline" not in growth_svg() and "run to see it" in growth_svg()


def test_playground_figure_has_a_clickable_image_and_empty_front():
    image, mask = _square_image()
    fig = playground_figure(image, mask)
    assert [t.type for t in fig.data] == ["image", "scatter", "scatter", "scatter"]
    assert fig.data[0].hoverinfo != "skip" and "row" in fig.data[0].hovertemplate
    assert len(fig.data[1].x) > 0 and len(fig.data[2].x) == 0
    assert fig.data[0].source == slice_png(image)


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


def _default_limit(app):
    g = edge_map(app.image, sigma=app._sigma.value, kappa=app._kappa.value, lam=app._lam.value)
    return time_step_status(g, alpha=app._alpha.value, beta=app._beta.value, gamma=app._gamma.value, dt=1.0)[0]


def test_unsafe_dt_lets_dt_past_the_limit_warns_and_shows_the_blow_up(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    app._iterations.value = 100
    limit = _default_limit(app)
    assert not app._unsafe.value and app._dt.max == 1.5
    app._unsafe.value = True
    assert app._dt.max >= UNSTABLE_FACTOR * limit and "CFL limit dt ≤" in app._cfl.value, "no warning below the limit"
    app._dt.value = round(3 * limit, 2)
    assert unstable_warning(app._dt.value, limit) in app._cfl.value
    result = app.run()
    assert result is not None and result.unstable and result.max_abs[-1] > 1e4 * result.max_abs[0]
    assert "× the CFL limit" in app._status.value and "max|u|" in app._dice.value
    assert len(_svg_line(app._growth.value)) == len(result.steps) and app._growth.value.count("<circle") == 1
    app._unsafe.value = False  # as before the switch: the run is refused, with the message
    assert app._dt.max == 1.5 and "exceeds the CFL limit" in app._cfl.value
    assert app.run() is None and "exceeds the CFL limit" in app._status.value


def test_the_scheme_switch_changes_the_front(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    app.place_bubble(*bubble_centers(app.mask)[0][:2])
    app._iterations.value = 100
    upwind = app.run()
    front = tuple(app._figure.data[2].x)
    app._scheme.value = "central"
    assert "not monotone" in app._cfl.value
    central = app.run()
    assert central.scheme == "central" and "· central" in app._dice.value
    assert tuple(app._figure.data[2].x) != front and abs(central.area[-1] - upwind.area[-1]) > 0.2 * upwind.area[-1]


def test_the_g_view_shows_the_edge_function_the_front_runs_on(phantom_dir):
    app = LevelSetPlayground(str(phantom_dir), size=64)
    slice_source = app._figure.data[0].source
    app._view.value = "g"
    assert app._figure.data[0].source == edge_png(edge_map(app.image, sigma=1.0, kappa=0.04, lam=3.0))
    assert "edges" in app._view_note.value
    app._kappa.value = 0.2
    assert app._figure.data[0].source == edge_png(edge_map(app.image, sigma=1.0, kappa=0.2, lam=3.0))
    _click(app, *bubble_centers(app.mask)[0][:2])
    assert len(app.clicks) == 1, "bubbles are placed on the g view too"
    app._view.value = "slice"
    assert app._figure.data[0].source == slice_source == slice_png(app.image) and app._view_note.value == ""


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


def _first_slice():
    """The slice the app shows first (quick preset, 128 px) and a click position inside its liver."""
    from lsn_explorer.data import PreprocessSettings, load_volumes

    volume = load_volumes("phantom", settings=PreprocessSettings(size=128))[0]
    z = int(volume.mask.sum(axis=(1, 2)).argmax())
    row, col, _ = bubble_centers(volume.mask[z])[0]
    return volume.image[z], volume.mask[z], (row, col)


def _click_pixel(page, shape, row, col):
    """Click pixel (row, col) of the playground's image, as a user does (scrolled into view first)."""
    image = page.locator(".js-plotly-plot .nsewdrag").first
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    h, w = shape
    x = box["x"] + (col + 0.5) / w * box["width"]
    y = box["y"] + (row + 0.5) / h * box["height"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def _type_into_slider(page, selector, text):
    """Type a value into a slider's readout and press Enter, as a user does."""
    readout = page.locator(f"{selector} .widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


# the dice line of a run's last frame ("... at step 300 of 300 · front area ... · upwind"), new since `before`
_RUN_SHOWN = """([scheme, before]) => {
  const t = document.querySelector('.lp-dice').innerText.trim();
  return t !== before && new RegExp('at step (\\\\d+) of \\\\1 · front area .* · ' + scheme + '$').test(t); }"""


def _run_and_read(page, scheme, before=""):
    """Press Run; the dice line of the last frame of the new run, in ``scheme``."""
    page.locator("button", has_text=re.compile(r"^\s*Run\s*$")).click()
    page.wait_for_function(_RUN_SHOWN, arg=[scheme, before], timeout=60_000)
    return page.locator(".lp-dice").first.inner_text().strip()


@pytest.mark.browser
def test_playground_click_places_a_bubble_and_run_shows_dice(page, artifacts, tmp_path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    image, mask, (row, col) = _first_slice()  # what the app shows first
    with serve_voila(REPO / "apps" / "levelset_playground.ipynb", log_path=tmp_path / "voila.log") as url:
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".js-plotly-plot .nsewdrag", timeout=120_000)
        page.wait_for_selector(".lp-status >> text=click inside the liver", timeout=60_000)
        shown = page.evaluate("() => { const d = document.querySelector('.js-plotly-plot').data;"
                              " return [d[0].source, d[1].x.length]; }")
        expected = playground_figure(image, mask)
        assert shown == [expected.data[0].source, len(expected.data[1].x)], "the page shows another slice"
        _click_pixel(page, mask.shape, row, col)
        page.wait_for_selector(".lp-status >> text=1 bubble(s) placed", timeout=20_000)
        final = float(re.search(r"Dice (\d\.\d{3})", _run_and_read(page, "upwind")).group(1))
        assert final > 0.5, "a bubble in the liver grows over most of it"
        page.screenshot(path=str(artifacts / "levelset_playground.png"))
        page.locator("button", has_text="Rewind").click()
        page.wait_for_selector(".lp-dice >> text=/at step 0 of/", timeout=20_000)
        page.locator("button", has_text="Step").click()
        page.wait_for_selector(".lp-dice >> text=/at step 3 of 300/", timeout=20_000)
        page.locator(".widget-play button").first.click()  # play to the last frame
        page.wait_for_selector(".lp-dice >> text=/at step 300 of 300/", timeout=30_000)
        select_real_ct(page)
        page.wait_for_selector(".lp-status >> text=click inside the liver", timeout=60_000)
        page.wait_for_function("(old) => document.querySelector('.js-plotly-plot').data[0].source !== old", arg=shown[0],
                               timeout=20_000)  # the page no longer shows the phantom slice
        page.screenshot(path=str(artifacts / "levelset_playground_real_ct.png"))
        assert page.errors == [], page.errors


@pytest.mark.browser
def test_playground_unsafe_dt_warns_and_central_differences_move_the_front(page, artifacts, tmp_path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_PRESET", "quick")
    _, mask, (row, col) = _first_slice()
    with serve_voila(REPO / "apps" / "levelset_playground.ipynb", log_path=tmp_path / "voila.log") as url:
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".js-plotly-plot .nsewdrag", timeout=120_000)
        page.wait_for_selector(".lp-cfl >> text=CFL limit dt ≤", timeout=60_000)
        answers = page.locator("details", has=page.locator("summary", has_text="Answer"))
        assert answers.count() == 3 and page.locator("h2", has_text="Legend").is_visible(), "the notebook's tasks and legend"
        assert not answers.first.locator("p").first.is_visible(), "answers start folded"
        _click_pixel(page, mask.shape, row, col)
        page.wait_for_selector(".lp-status >> text=1 bubble(s) placed", timeout=20_000)
        _type_into_slider(page, ".lp-iterations", "100")  # enough to tell the schemes apart, and to blow up
        upwind = _run_and_read(page, "upwind")
        assert "at step 100 of 100" in upwind, upwind

        page.locator(".lp-unsafe input[type=checkbox]").check()
        _type_into_slider(page, ".lp-dt", "1.00")
        warning = page.locator(".lp-cfl", has_text="× the CFL limit")
        warning.wait_for(timeout=20_000)
        assert warning.is_visible() and "the explicit scheme is unstable; watch max|u| grow" in warning.inner_text()
        assert re.search(r"dt = 1\.00 is \d\.\d× the CFL limit 0\.\d{3}", warning.inner_text()), warning.inner_text()
        blown = _run_and_read(page, "upwind", upwind)
        assert float(re.search(r"max\|u\| (\S+)", blown).group(1)) > 1e6, blown
        page.locator(".lp-status", has_text="× the CFL limit").wait_for(timeout=20_000)  # sent after the frame
        page.screenshot(path=str(artifacts / "levelset_playground_unsafe_dt.png"))

        _type_into_slider(page, ".lp-dt", "0.15")
        page.wait_for_selector(".lp-cfl >> text=CFL limit dt ≤", timeout=20_000)
        page.locator(".lp-scheme button", has_text="central").click()
        central = _run_and_read(page, "central")
        area = r"front area (\d+) px"
        assert re.search(area, central).group(1) != re.search(area, upwind).group(1), (upwind, central)
        page.screenshot(path=str(artifacts / "levelset_playground_central.png"))
        assert page.errors == [], page.errors
