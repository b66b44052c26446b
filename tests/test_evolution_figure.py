import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.initial import bubbles
from lsn_explorer.levelset.solver import evolve, store_evolution_in
from lsn_explorer.viz.evolution import evolution_figure, zero_contour

from problems import one_thread  # noqa: F401


def test_zero_contour_of_a_disc_lies_on_the_circle():
    u = bubbles((40, 40), [(20.0, 18.0)], radius=9.3).double()
    x, y = zero_contour(u)
    ok = ~np.isnan(x)
    r = np.hypot(x[ok] - 18.0, y[ok] - 20.0)
    assert np.isnan(x[2::3]).all() and ok.sum() > 100
    np.testing.assert_allclose(r, 9.3, atol=0.05)


def test_zero_contour_handles_saddles():
    u = np.array([[1.0, -1.0], [-1.0, 1.0]])
    x, y = zero_contour(u)
    assert np.isnan(x).sum() == 2 and (~np.isnan(x)).sum() == 4


def test_figure_has_one_image_and_one_contour_per_frame_for_120_frames_of_256():
    u0 = bubbles((1, 1, 256, 256), [(128, 128)], radius=10.0)
    frames = []
    evolve(u0, torch.ones_like(u0), num_iter=120, alpha=1.0, beta=0.2, iter_callback=store_evolution_in(frames))
    image = np.random.default_rng(0).normal(size=(256, 256))
    fig = evolution_figure(image, frames)
    assert isinstance(fig, go.Figure) and len(fig.frames) == 120
    assert isinstance(fig.data[0], go.Image) and fig.data[0].source.startswith("data:image/png;base64,")
    assert all(f.traces == (1,) and len(f.data) == 1 and isinstance(f.data[0], go.Scatter) for f in fig.frames)
    assert len(fig.layout.sliders[0].steps) == 120 and len(fig.layout.updatemenus[0].buttons) == 2
    # the front grows: the last contour is farther from the centre than the first
    def mean_radius(tr):
        x = np.array(tr.x, dtype=float)
        y = np.array(tr.y, dtype=float)
        return np.nanmean(np.hypot(x - 128, y - 128))
    assert mean_radius(fig.frames[-1].data[0]) > mean_radius(fig.frames[0].data[0]) + 20
    # the image is sent once: the whole figure stays small
    assert len(json.dumps(fig.to_plotly_json(), cls=_Encoder)) < 8_000_000


class _Encoder(json.JSONEncoder):
    def default(self, o):
        return o.tolist() if isinstance(o, np.ndarray) else float(o)


def test_max_frames_and_bad_input():
    frames = [bubbles((16, 16), [(8, 8)], radius=2.0 + k / 10) for k in range(50)]
    fig = evolution_figure(np.zeros((16, 16)), frames, steps=range(10, 60), max_frames=10)
    assert len(fig.frames) == 10 and fig.frames[-1].name == "59"
    with pytest.raises(InputError, match="frames is empty"):
        evolution_figure(np.zeros((16, 16)), [])
    with pytest.raises(InputError, match="expected the image's"):
        evolution_figure(np.zeros((8, 8)), frames)
