"""The level-set playground: place bubbles on a CT slice, evolve Eq. 1, scrub the evolution, read the Dice.

The computation is a few pure functions on arrays (:func:`bubbles_from_clicks`,
:func:`time_step_status`, :func:`network_speeds`, :func:`run_evolution`,
:func:`playground_figure`), testable without a browser; :class:`LevelSetPlayground`
owns the widgets and only wires them to those functions.

Two sources of speeds: Eq. 1's weights set by hand with ITK-SNAP's edge function, or
"speeds from the trained network", the maps α(x), g(x) that the bundled speed-map
LSN predicts for the slice, under which the user's bubbles evolve. Every recorded frame's zero contour is
computed once after a run, so playing or scrubbing only replaces the
coordinates of one line trace.

Symbols as in :mod:`lsn_explorer.levelset.step`: ``α`` propagation (balloon),
``β`` curvature, ``γ`` advection, ``dt`` the time step; ``σ, κ, λ`` the blur,
steepness and exponent of ITK-SNAP's edge function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from ..errors import InputError, LsnExplorerError
from ..inference import resample
from ..levelset.edges import edge_function
from ..levelset.initial import bubbles
from ..levelset.operators import central_gradient
from ..levelset.solver import evolve, store_evolution_in
from ..levelset.step import cfl_time_step, check_time_step
from ..metrics import dice_score
from ..viz.evolution import zero_contour
from ..viz.slices import mask_contour, png_data_uri, window_to_uint8
from .sources import SourcePicker, fill_volume_menu, load_source, volume_menu

__all__ = [
    "Evolution",
    "bubbles_from_clicks",
    "edge_map",
    "time_step_status",
    "network_speeds",
    "run_evolution",
    "playground_figure",
    "LevelSetPlayground",
]

# trace order of playground_figure
_IMAGE, _LABEL, _FRONT, _BUBBLES = 0, 1, 2, 3


@dataclass(frozen=True)
class Evolution:
    """A recorded run of the solver.

    Attributes
    ----------
    steps : list of int
        The step number of each frame; frame 0 is the initial level set (step 0).
    frames : list of (H, W) float32 ndarray
        ``u`` at those steps.
    contours : list of (x, y) ndarray pairs
        The zero contour of each frame (see :func:`lsn_explorer.viz.evolution.zero_contour`).
    dice : list of float or None
        Dice of ``u > 0`` against the label per frame (None without a label).
    dt : float
        The time step used.
    limit : float
        The CFL limit for these speeds and edge function.
    """

    steps: list
    frames: list
    contours: list
    dice: list
    dt: float
    limit: float


def bubbles_from_clicks(shape: Sequence[int], clicks: Sequence[tuple[float, float]], *, radius: float = 4.0) -> torch.Tensor:
    """The initial level set of bubbles placed by clicks.

    Parameters
    ----------
    shape : (H, W)
    clicks : sequence of (row, col)
        Pixel coordinates of the clicks; outside the image is an error.
    radius : float
        Radius of every bubble in pixels. Default 4.

    Returns
    -------
    u0 : (1, 1, H, W) float32 Tensor
        Signed distance to the union of the discs, positive inside.

    Raises
    ------
    InputError
        No clicks, a click outside the image, or a non-positive radius.
    """
    h, w = (int(s) for s in shape[-2:])
    if not clicks:
        raise InputError("no bubbles yet: click the slice to place at least one")
    if not radius > 0:
        raise InputError(f"radius={radius}; expected a positive number of pixels")
    for row, col in clicks:
        if not (0 <= row <= h - 1 and 0 <= col <= w - 1):
            raise InputError(f"click at (row {row}, col {col}) is outside the {h}x{w} slice")
    return bubbles((1, 1, h, w), [tuple(map(float, c)) for c in clicks], radius=radius)


def edge_map(image: np.ndarray, *, sigma: float, kappa: float, lam: float) -> torch.Tensor:
    """ITK-SNAP's edge function of an ``(H, W)`` slice, as a ``(1, 1, H, W)`` tensor."""
    return edge_function(torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None], sigma=sigma, kappa=kappa, lam=lam)


def time_step_status(g: torch.Tensor, *, alpha, beta, gamma, dt: float) -> tuple[float, str | None]:
    """The CFL limit of ``dt`` and, if ``dt`` is above it, a message saying so.

    ``alpha``, ``beta``, ``gamma`` are numbers or ``(1, 1, H, W)`` maps.

    Returns
    -------
    limit : float
        :func:`~lsn_explorer.levelset.step.cfl_time_step` with ``cfl=1`` (``inf`` if all weights are 0).
    problem : str or None
        None when ``0 < dt <= limit``.
    """
    limit = float(cfl_time_step(g, alpha=alpha, beta=beta, gamma=gamma, cfl=1.0)[0])
    try:
        check_time_step(dt, limit)
    except InputError as problem:  # its first clause, in the app's words
        return limit, f"{str(problem).split(';')[0]}: the explicit scheme would blow up. Lower dt (or α, β, γ)."
    return limit, None


def network_speeds(image: np.ndarray, model) -> tuple[torch.Tensor, torch.Tensor]:
    """The speed maps α(x) and g(x) a trained speed-map LSN predicts for an ``(H, W)`` slice.

    The slice is resampled to the size the network was trained on (its
    ``preprocessing``) and the maps back to the slice's size.

    Parameters
    ----------
    image : (H, W) ndarray
        A slice windowed to [-1, 1].
    model : SpeedMapLSN
        The network (its ``speed_maps``); put in eval mode.

    Returns
    -------
    alpha, g : (1, 1, H, W) float32 Tensor
    """
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]
    trained = getattr(model, "preprocessing", None)
    size = x.shape[-2:] if trained is None else (trained.size, trained.size)
    with torch.no_grad():
        _, alpha, g = model.eval().speed_maps(resample(x, size))
    return resample(alpha, x.shape[-2:]), resample(g, x.shape[-2:])


def run_evolution(
    image: np.ndarray,
    u0: torch.Tensor,
    *,
    alpha,
    beta,
    gamma,
    dt: float | str,
    num_iter: int,
    sigma: float = 1.0,
    kappa: float = 0.04,
    lam: float = 3.0,
    g: torch.Tensor | None = None,
    mask: np.ndarray | None = None,
    max_frames: int = 100,
) -> Evolution:
    """Evolve ``u0`` on ``image`` and record at most ``max_frames`` + 1 evenly spaced frames.

    Parameters
    ----------
    image : (H, W) array
        The slice.
    u0 : (1, 1, H, W) or (H, W) Tensor
        Initial level set (see :func:`bubbles_from_clicks`).
    alpha, beta, gamma : float or (1, 1, H, W) Tensor
        Weights of Eq. 1: numbers, or maps (see :func:`network_speeds`).
    dt : float or "auto"
        The time step (checked against the CFL limit), or 0.9 times that limit.
    num_iter : int
        Number of steps.
    sigma, kappa, lam : float
        Edge function settings.
    g : (1, 1, H, W) Tensor, optional
        An edge map to use instead of ITK-SNAP's edge function of ``image``.
    mask : (H, W) array, optional
        Label for the Dice of each frame.
    max_frames : int
        Frames kept besides step 0; the last step is always kept. Default 100.

    Returns
    -------
    Evolution

    Raises
    ------
    InputError
        ``dt`` above the CFL limit (the message gives both numbers), bad shapes.
    """
    u0 = torch.as_tensor(u0, dtype=torch.float32)
    u0 = u0[None, None] if u0.ndim == 2 else u0
    g = edge_map(image, sigma=sigma, kappa=kappa, lam=lam) if g is None else g
    limit, problem = time_step_status(g, alpha=alpha, beta=beta, gamma=gamma, dt=1.0 if dt == "auto" else dt)
    if dt == "auto":
        dt, problem = 0.9 * limit, None
    if problem:
        raise InputError(problem)
    every = max(1, -(-int(num_iter) // int(max_frames)))
    frames, steps, count = [u0.clone()], [0], [0]
    store = store_evolution_in(frames)

    def record(u):
        count[0] += 1
        if count[0] % every == 0 or count[0] == num_iter:
            store(u)
            steps.append(count[0])

    # the fused step keeps a classroom's kernels small: the band backend's numba adds ~130 MB to each
    evolve(u0, g, num_iter=int(num_iter), alpha=alpha, beta=beta, gamma=gamma, dt=dt, iter_callback=record,
           grad_g=central_gradient(g), backend="fused")
    arrays = [f[0, 0].numpy() for f in frames]
    dice = [dice_score(a > 0, mask) if mask is not None else None for a in arrays]
    return Evolution(steps=steps, frames=arrays, contours=[zero_contour(a) for a in arrays], dice=dice,
                     dt=float(dt), limit=float(limit))


def playground_figure(image: np.ndarray, mask: np.ndarray | None = None, *, title: str | None = None) -> go.Figure:
    """The slice (clickable PNG), the label contour, the front and the bubble markers.

    Returns
    -------
    go.Figure
        Traces: 0 the image (hover reports row and column, so clicks carry
        them), 1 the label (green), 2 the zero contour of ``u`` (red, empty),
        3 the bubble centres (markers, empty).
    """
    img = np.asarray(image)
    rgb = np.repeat(window_to_uint8(img)[..., None], 3, -1)
    lx, ly = mask_contour(mask) if mask is not None else ([], [])
    fig = go.Figure([
        go.Image(source=png_data_uri(rgb), hovertemplate="row %{y}, col %{x}<extra></extra>", name="slice"),
        go.Scatter(x=lx, y=ly, mode="lines", line=dict(color="#34c759", width=1.5), hoverinfo="skip", name="label"),
        go.Scatter(x=[], y=[], mode="lines", line=dict(color="#ff3b30", width=2), hoverinfo="skip", name="u = 0"),
        go.Scatter(x=[], y=[], mode="markers", marker=dict(color="#ffcc00", size=9, symbol="circle-open", line=dict(width=2)),
                   hoverinfo="skip", name="bubbles"),
    ])
    fig.update_layout(
        title=title, width=560, height=560, margin=dict(l=10, r=10, t=40 if title else 10, b=10), showlegend=False,
        xaxis=dict(visible=False, range=[-0.5, img.shape[1] - 0.5]),
        yaxis=dict(visible=False, range=[img.shape[0] - 0.5, -0.5], scaleanchor="x"),
        hovermode="closest", dragmode=False,
    )
    return fig


def _slider(description, value, low, high, step, fmt=".2f"):
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               readout_format=fmt, continuous_update=False, style={"description_width": "90px"})


class LevelSetPlayground:
    """Click a CT slice to place bubbles, set Eq. 1's weights, run, then play or scrub the evolution.

    Parameters
    ----------
    source : str or path
        ``"phantom"`` (default), ``"sample"`` (the real CT, fetched once) or a LiTS
        folder / CSV (see :func:`lsn_explorer.data.load_volumes`). The "Data" menu
        switches between the phantom and the real CT.
    size : int, optional
        In-plane size of the slices; default the preset's ``image_size`` (128 quick, 256 paper).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app.
    result : Evolution or None
        The latest run, for further analysis in a notebook.

    Examples
    --------
    >>> LevelSetPlayground()  # doctest: +SKIP
    """

    def __init__(self, source: str = "phantom", *, size: int | None = None) -> None:
        from ..data import PreprocessSettings
        from ..models import bundled_names
        from ..presets import get_preset

        size = get_preset().image_size if size is None else int(size)
        settings = PreprocessSettings(size=size)
        self._volumes = load_source(source, settings)
        self._source = SourcePicker(lambda name, progress: load_source(name, settings, progress), self._set_volumes,
                                    source=source)
        self.result: Evolution | None = None
        self._clicks: list[tuple[float, float]] = []
        self._network = None  # the bundled speed-map LSN, loaded on first use
        self._maps: dict = {}  # (volume, slice) -> its α and g maps
        self._speeds = widgets.ToggleButtons(
            options=[("Eq. 1 weights", "weights")] + ([("speeds from the trained network", "network")]
                                                      if "speed-map-lsn" in bundled_names() else []),
            value="weights", description="Speeds", style={"description_width": "90px", "button_width": "230px"})
        self._volume = volume_menu(self._volumes)
        self._slice = widgets.IntSlider(description="Slice", min=0, max=0, continuous_update=False)
        self._alpha = _slider("α balloon", 1.0, -2.0, 3.0, 0.1)
        self._beta = _slider("β curvature", 0.2, 0.0, 2.0, 0.05)
        self._gamma = _slider("γ advection", 1.0, 0.0, 5.0, 0.1)
        self._dt = _slider("dt", 0.15, 0.01, 1.5, 0.01, ".3f")
        self._cfl = widgets.HTML()
        self._sigma = _slider("σ blur (px)", 1.0, 0.0, 4.0, 0.25)
        self._kappa = _slider("κ steepness", 0.04, 0.01, 0.5, 0.01, ".3f")
        self._lam = _slider("λ exponent", 3.0, 1.0, 6.0, 0.5, ".1f")
        self._iterations = widgets.IntSlider(value=300, min=10, max=1000, step=10, description="iterations",
                                             continuous_update=False, style={"description_width": "90px"})
        self._radius = _slider("bubble radius", 4.0, 1.0, 15.0, 0.5, ".1f")
        self._run = widgets.Button(description="Run", button_style="primary", icon="play-circle")
        self._clear = widgets.Button(description="Clear bubbles", icon="eraser")
        self._play = widgets.Play(value=0, min=0, max=0, step=1, interval=80, description="Play", show_repeat=False)
        self._frame = widgets.IntSlider(value=0, min=0, max=0, description="frame", continuous_update=True)
        self._step = widgets.Button(description="Step", icon="step-forward", layout=widgets.Layout(width="90px"))
        self._rewind = widgets.Button(description="Rewind", icon="fast-backward", layout=widgets.Layout(width="100px"))
        self._dice = widgets.HTML("<i>place bubbles, then Run</i>")
        self._status = widgets.HTML()
        widgets.jslink((self._play, "value"), (self._frame, "value"))
        self._select_volume()
        # built from the slice shown first: changes made before the widget is displayed do not reach the browser
        self._figure = go.FigureWidget(playground_figure(self.image, self.mask))
        self._figure.data[_IMAGE].on_click(self._on_click)
        self._wire()
        self._slice_status()
        self._on_params()
        self.widget = self._layout()

    # ------------------------------------------------------------------ state

    def _slice_arrays(self, volume: int, z: int) -> tuple[np.ndarray, np.ndarray]:
        v = self._volumes[volume]
        return v.image[z], v.mask[z]

    @property
    def image(self) -> np.ndarray:
        """The ``(H, W)`` slice shown now."""
        return self._slice_arrays(self._volume.value, self._slice.value)[0]

    @property
    def mask(self) -> np.ndarray:
        """Its ``(H, W)`` label."""
        return self._slice_arrays(self._volume.value, self._slice.value)[1]

    @property
    def clicks(self) -> list[tuple[float, float]]:
        """Bubble centres placed so far, as (row, col)."""
        return list(self._clicks)

    def _params(self) -> dict:
        """The solver's arguments: the sliders', or the network's maps (and dt from the CFL limit)."""
        if self._speeds.value == "network":
            alpha, g = self._network_maps()
            return dict(alpha=alpha, beta=self._network.config["beta"], gamma=0.0, dt="auto", g=g)
        return dict(alpha=self._alpha.value, beta=self._beta.value, gamma=self._gamma.value, dt=self._dt.value,
                    sigma=self._sigma.value, kappa=self._kappa.value, lam=self._lam.value)

    def _network_maps(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._network is None:
            from ..models import bundled_model

            self._network = bundled_model("speed-map-lsn")
        key = (self._volume.value, self._slice.value)
        if key not in self._maps:
            self._maps[key] = network_speeds(self.image, self._network)
        return self._maps[key]

    # ------------------------------------------------------------------ wiring

    def _wire(self) -> None:
        self._volume.observe(self._on_volume, names="value")
        self._slice.observe(self._on_slice, names="value")
        for w in (self._alpha, self._beta, self._gamma, self._dt, self._sigma, self._kappa, self._lam, self._speeds):
            w.observe(self._on_params, names="value")
        self._frame.observe(self._on_frame, names="value")
        self._run.on_click(lambda _: self.run())
        self._clear.on_click(lambda _: self.clear())
        self._step.on_click(lambda _: self.step())
        self._rewind.on_click(lambda _: self.rewind())

    def _layout(self) -> widgets.Widget:
        controls = widgets.VBox([
            self._speeds, self._alpha, self._beta, self._gamma, self._dt, self._cfl, widgets.HTML("<b>edge function g</b>"),
            self._sigma, self._kappa, self._lam, self._iterations, self._radius, widgets.HBox([self._run, self._clear]),
        ], layout=widgets.Layout(width="380px"))
        player = widgets.HBox([self._play, self._step, self._rewind, self._frame])
        return widgets.VBox([
            self._source.widget,
            widgets.HBox([self._volume, self._slice]),
            widgets.HBox([self._figure, controls]),
            player, self._dice, self._status,
        ])

    # ------------------------------------------------------------------ actions

    def place_bubble(self, row: float, col: float) -> None:
        """Add a bubble centred at pixel (row, col), as a click on the slice does."""
        h, w = self.image.shape
        if not (0 <= row <= h - 1 and 0 <= col <= w - 1):
            self._status.value = f"<span style='color:#c00'>click at ({row:.0f}, {col:.0f}) is outside the slice</span>"
            return
        self._clicks.append((float(row), float(col)))
        with self._figure.batch_update():
            self._figure.data[_BUBBLES].x = [c for _, c in self._clicks]
            self._figure.data[_BUBBLES].y = [r for r, _ in self._clicks]
        self._status.value = f"{len(self._clicks)} bubble(s) placed; press Run"

    def clear(self) -> None:
        """Remove the bubbles and the recorded run."""
        self._clicks = []
        self._set_result(None)
        with self._figure.batch_update():
            self._figure.data[_BUBBLES].x, self._figure.data[_BUBBLES].y = [], []
        self._status.value = "bubbles cleared: click the slice to place new ones"

    def run(self) -> Evolution | None:
        """Evolve the bubbles with the current settings; show frame 0 and the Dice."""
        try:
            u0 = bubbles_from_clicks(self.image.shape, self._clicks, radius=self._radius.value)
            result = run_evolution(self.image, u0, num_iter=self._iterations.value, mask=self.mask, **self._params())
        except LsnExplorerError as error:
            self._status.value = f"<span style='color:#c00'>{error}</span>"
            return None
        self._set_result(result)
        self._frame.value = len(result.frames) - 1
        self._status.value = (f"ran {result.steps[-1]} steps with dt = {result.dt:g} (CFL limit {result.limit:.3f}); "
                              f"{len(result.frames)} frames — play, step or scrub")
        return result

    def step(self) -> None:
        """Show the next recorded frame."""
        if self.result is not None:
            self._frame.value = min(self._frame.value + 1, self._frame.max)

    def rewind(self) -> None:
        """Back to frame 0 (the bubbles)."""
        self._play.playing = False
        self._frame.value = 0

    def _set_result(self, result: Evolution | None) -> None:
        self.result = result
        last = 0 if result is None else len(result.frames) - 1
        with self._frame.hold_trait_notifications(), self._play.hold_trait_notifications():
            self._play.playing = False
            self._frame.value = 0
            self._play.max = self._frame.max = last
        self._on_frame()

    # ------------------------------------------------------------------ callbacks

    def _on_click(self, trace, points, state) -> None:
        if points.xs:
            self.place_bubble(float(points.ys[0]), float(points.xs[0]))

    def _set_volumes(self, volumes) -> None:
        """Play on another data set (from the "Data" menu)."""
        self._volumes, self._maps = volumes, {}
        fill_volume_menu(self._volume, volumes)
        self._on_volume()

    def _select_volume(self) -> bool:
        """Show the slice of the chosen volume with the most liver; True if the slice index changed."""
        v = self._volumes[self._volume.value]
        before = self._slice.value
        with self._slice.hold_trait_notifications():
            self._slice.max = v.num_slices - 1
            self._slice.value = int(v.mask.sum(axis=(1, 2)).argmax())
        return self._slice.value != before

    def _on_volume(self, change=None) -> None:
        if not self._select_volume():  # same index in another volume: the slice observer did not fire
            self._on_slice()

    def _on_slice(self, change=None) -> None:
        fresh = playground_figure(self.image, self.mask)
        with self._figure.batch_update():
            self._figure.data[_IMAGE].source = fresh.data[_IMAGE].source
            self._figure.data[_LABEL].x, self._figure.data[_LABEL].y = fresh.data[_LABEL].x, fresh.data[_LABEL].y
        self.clear()
        self._slice_status()
        self._on_params()

    def _slice_status(self) -> None:
        v = self._volumes[self._volume.value]
        self._status.value = (f"volume {v.dataid}, slice {self._slice.value + 1} of {v.num_slices}: "
                              "click inside the liver (green) to place bubbles")

    def _on_params(self, change=None) -> None:
        network = self._speeds.value == "network"
        for w in (self._alpha, self._beta, self._gamma, self._dt, self._sigma, self._kappa, self._lam):
            w.disabled = network
        if network:
            self._cfl.value = ("speeds α(x), g(x) from the bundled speed-map LSN; "
                               "dt = 0.9 × this slice's CFL limit")
            return
        p = self._params()
        g = edge_map(self.image, sigma=p["sigma"], kappa=p["kappa"], lam=p["lam"])
        limit, problem = time_step_status(g, alpha=p["alpha"], beta=p["beta"], gamma=p["gamma"], dt=p["dt"])
        if problem:
            self._cfl.value = f"<span style='color:#c00'>⚠ {problem}</span>"
        else:
            self._cfl.value = f"CFL limit dt ≤ {limit:.3f} ✓"

    def _on_frame(self, change=None) -> None:
        r = self.result
        k = self._frame.value
        with self._figure.batch_update():
            x, y = (r.contours[k] if r is not None else ([], []))
            self._figure.data[_FRONT].x, self._figure.data[_FRONT].y = x, y
        if r is None:
            self._dice.value = "<i>place bubbles, then Run</i>"
        else:
            self._dice.value = f"<b>Dice {r.dice[k]:.3f}</b> against the label at step {r.steps[k]} of {r.steps[-1]}"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
