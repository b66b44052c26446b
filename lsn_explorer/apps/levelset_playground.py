"""The level-set playground: place bubbles on a CT slice, evolve Eq. 1, scrub the evolution, read the Dice.

The computation is a few pure functions on arrays (:mod:`.playground_compute`:
:func:`bubbles_from_clicks`, :func:`time_step_status`, :func:`unstable_warning`,
:func:`network_speeds`, :func:`run_evolution`) and two figures (:mod:`.playground_figures`),
testable without a browser; :class:`LevelSetPlayground`, here, owns the widgets and only wires them to
those functions (whose names are importable from here too).

Two sources of speeds: Eq. 1's weights set by hand with ITK-SNAP's edge function, or
"speeds from the trained network", the maps α(x), g(x) that the bundled speed-map
LSN predicts for the slice, under which the user's bubbles evolve. Every recorded frame's zero contour is
computed once after a run, so playing or scrubbing only replaces the
coordinates of one line trace.

Three switches show why the solver is written the way it is: the scheme (upwind, or
central differences, which are not monotone), "unsafe dt" (let ``dt`` past the CFL
limit and watch ``max|u|`` grow), and the view (the CT slice, or the edge function g
the front runs on).

Symbols as in :mod:`lsn_explorer.levelset.step`: ``α`` propagation (balloon),
``β`` curvature, ``γ`` advection, ``dt`` the time step; ``σ, κ, λ`` the blur,
steepness and exponent of ITK-SNAP's edge function.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from ..errors import LsnExplorerError
from .playground_compute import (
    UNSTABLE_FACTOR,
    Evolution,
    bubbles_from_clicks,
    edge_map,
    network_speeds,
    run_evolution,
    run_summary,
    time_step_status,
    unstable_warning,
)
from .playground_figures import (
    BUBBLE_TRACE,
    FRONT_TRACE,
    IMAGE_TRACE,
    LABEL_TRACE,
    edge_png,
    growth_svg,
    playground_figure,
    slice_png,
)
from .sources import SourcePicker, fill_volume_menu, load_source, volume_menu

__all__ = [
    "Evolution",
    "bubbles_from_clicks",
    "edge_map",
    "time_step_status",
    "unstable_warning",
    "network_speeds",
    "run_evolution",
    "playground_figure",
    "LevelSetPlayground",
]


#: The dt slider's upper end while "unsafe dt" is off (a dt above the CFL limit is then refused at Run).
_DT_MAX = 1.5


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
        self._g = None  # the edge function of the slice under the current σ, κ, λ
        self._build_widgets(network="speed-map-lsn" in bundled_names())
        self._select_volume()
        # built from the slice shown first: changes made before the widget is displayed do not reach the browser
        self._figure = go.FigureWidget(playground_figure(self.image, self.mask))
        self._figure.data[IMAGE_TRACE].on_click(self._on_click)
        self._wire()
        self._slice_status()
        self._on_params()
        self.widget = self._layout()

    def _build_widgets(self, *, network: bool) -> None:
        """The controls; ``network``: offer the speeds of the bundled speed-map LSN."""
        self._speeds = widgets.ToggleButtons(
            options=[("Eq. 1 weights", "weights")] + ([("speeds from the trained network", "network")] if network else []),
            value="weights", description="Speeds", style={"description_width": "90px", "button_width": "230px"})
        self._scheme = widgets.ToggleButtons(
            options=[("upwind", "upwind"), ("central", "central")], value="upwind", description="Scheme",
            tooltips=["Osher–Sethian upwind differences (monotone)", "centred differences (not monotone)"],
            style={"description_width": "90px", "button_width": "110px"})
        self._volume = volume_menu(self._volumes)
        self._slice = widgets.IntSlider(description="Slice", min=0, max=0, continuous_update=False)
        self._view = widgets.ToggleButtons(options=[("CT slice", "slice"), ("edge function g", "g")], value="slice",
                                           description="Show", style={"description_width": "50px", "button_width": "130px"})
        self._view_note = widgets.HTML()
        self._alpha = _slider("α balloon", 1.0, -2.0, 3.0, 0.1)
        self._beta = _slider("β curvature", 0.2, 0.0, 2.0, 0.05)
        self._gamma = _slider("γ advection", 1.0, 0.0, 5.0, 0.1)
        self._dt = _slider("dt", 0.15, 0.01, _DT_MAX, 0.01, ".3f")
        self._unsafe = widgets.Checkbox(value=False, description="unsafe dt: allow dt above the CFL limit", indent=False)
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
        self._growth = widgets.HTML(growth_svg())
        self._status = widgets.HTML()
        widgets.jslink((self._play, "value"), (self._frame, "value"))
        for name in ("scheme", "view", "dt", "unsafe", "cfl", "iterations", "growth", "dice", "status"):
            getattr(self, f"_{name}").add_class(f"lp-{name}")

    # ------------------------------------------------------------------ state

    def _slice_arrays(self, volume: int, z: int) -> tuple[np.ndarray, np.ndarray | None]:
        v = self._volumes[volume]
        return v.image[z], v.slice_mask(z)

    @property
    def image(self) -> np.ndarray:
        """The ``(H, W)`` slice shown now."""
        return self._slice_arrays(self._volume.value, self._slice.value)[0]

    @property
    def mask(self) -> np.ndarray | None:
        """Its ``(H, W)`` label; None for a volume without one."""
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
        for w in (self._alpha, self._beta, self._gamma, self._dt, self._sigma, self._kappa, self._lam, self._speeds,
                  self._unsafe, self._scheme):
            w.observe(self._on_params, names="value")
        self._view.observe(self._on_view, names="value")
        self._frame.observe(self._on_frame, names="value")
        self._run.on_click(lambda _: self.run())
        self._clear.on_click(lambda _: self.clear())
        self._step.on_click(lambda _: self.step())
        self._rewind.on_click(lambda _: self.rewind())

    def _layout(self) -> widgets.Widget:
        controls = widgets.VBox([
            self._speeds, self._scheme, self._alpha, self._beta, self._gamma, self._dt, self._unsafe, self._cfl,
            widgets.HTML("<b>edge function g</b>"), self._sigma, self._kappa, self._lam, self._iterations, self._radius,
            widgets.HBox([self._run, self._clear]), self._growth,
        ], layout=widgets.Layout(width="390px"))
        player = widgets.HBox([self._play, self._step, self._rewind, self._frame])
        return widgets.VBox([
            self._source.widget,
            widgets.HBox([self._volume, self._slice]),
            widgets.HBox([self._view, self._view_note]),
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
            self._figure.data[BUBBLE_TRACE].x = [c for _, c in self._clicks]
            self._figure.data[BUBBLE_TRACE].y = [r for r, _ in self._clicks]
        self._status.value = f"{len(self._clicks)} bubble(s) placed; press Run"

    def clear(self) -> None:
        """Remove the bubbles and the recorded run."""
        self._clicks = []
        with self._figure.batch_update():  # one update message for the whole change
            self._set_result(None)
            self._figure.data[BUBBLE_TRACE].x, self._figure.data[BUBBLE_TRACE].y = [], []
        self._status.value = "bubbles cleared: click the slice to place new ones"

    def run(self) -> Evolution | None:
        """Evolve the bubbles with the current settings; show frame 0 and the Dice."""
        try:
            u0 = bubbles_from_clicks(self.image.shape, self._clicks, radius=self._radius.value)
            result = run_evolution(self.image, u0, num_iter=self._iterations.value, mask=self.mask,
                                   scheme=self._scheme.value, allow_unstable=self._unsafe.value, **self._params())
        except LsnExplorerError as error:
            self._status.value = f"<span style='color:#c00'>{error}</span>"
            return None
        with self._figure.batch_update():  # one update message for the whole change
            self._set_result(result)
            self._frame.value = len(result.frames) - 1
        self._status.value = run_summary(result)
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
            self._slice.value = v.liver_slice()
        return self._slice.value != before

    def _on_volume(self, change=None) -> None:
        if not self._select_volume():  # same index in another volume: the slice observer did not fire
            self._on_slice()

    def _on_slice(self, change=None) -> None:
        fresh = playground_figure(self.image, self.mask)
        with self._figure.batch_update():  # one update message for the whole change
            self._figure.data[LABEL_TRACE].x, self._figure.data[LABEL_TRACE].y = fresh.data[LABEL_TRACE].x, fresh.data[LABEL_TRACE].y
            self.clear()
            self._on_params()  # the image: the new slice, or its g
        self._slice_status()

    def _slice_status(self) -> None:
        v = self._volumes[self._volume.value]
        self._status.value = (f"volume {v.dataid}, slice {self._slice.value + 1} of {v.num_slices}: "
                              "click inside the liver (green) to place bubbles")

    def _on_params(self, change=None) -> None:
        network = self._speeds.value == "network"
        for w in (self._alpha, self._beta, self._gamma, self._dt, self._unsafe, self._sigma, self._kappa, self._lam):
            w.disabled = network
        if network:
            self._cfl.value = ("speeds α(x), g(x) from the bundled speed-map LSN; "
                               "dt = 0.9 × this slice's CFL limit")
            self._show_background()
            return
        p = self._params()
        self._g = edge_map(self.image, sigma=p["sigma"], kappa=p["kappa"], lam=p["lam"])
        limit, problem = time_step_status(self._g, alpha=p["alpha"], beta=p["beta"], gamma=p["gamma"], dt=p["dt"])
        if self._set_dt_range(limit):
            return  # dt was clamped to the new range: its observer has shown that
        warning = unstable_warning(p["dt"], limit) if self._unsafe.value else None
        if warning:
            self._cfl.value = f"<div style='color:#fff;background:#c00;padding:4px 6px;border-radius:4px'>⚠ {warning}</div>"
        elif problem:
            self._cfl.value = f"<span style='color:#c00'>⚠ {problem}</span>"
        else:
            self._cfl.value = f"CFL limit dt ≤ {limit:.3f} ✓"
        if self._scheme.value == "central":
            self._cfl.value += ("<br><i>central differences are not monotone: ripples next to the front can grow "
                                "even below the CFL limit</i>")
        self._show_background()

    def _set_dt_range(self, limit: float) -> bool:
        """The dt slider's upper end: ``_DT_MAX``, or up to ``UNSTABLE_FACTOR`` × ``limit`` with "unsafe dt" on.

        Returns True if ``dt`` had to be lowered into the new range (its observer then runs).
        """
        top = _DT_MAX
        if self._unsafe.value and np.isfinite(limit):
            top = max(_DT_MAX, float(np.ceil(UNSTABLE_FACTOR * limit * 100) / 100))
        if top == self._dt.max:
            return False
        before = self._dt.value
        with self._dt.hold_trait_notifications():
            self._dt.value = min(before, top)
            self._dt.max = top
        return self._dt.value != before

    def _show_background(self) -> None:
        """Draw the slice, or the edge function g the front runs on."""
        if self._view.value == "g":
            g = self._network_maps()[1] if self._speeds.value == "network" else self._g
            source = edge_png(g)
            self._view_note.value = ("g from the trained network: " if self._speeds.value == "network" else "g: ") + (
                "<span style='color:#440154'><b>dark</b></span> ≈ 0 on edges, where the front stops; "
                "<span style='color:#b5a000'><b>yellow</b></span> ≈ 1 where it runs at full speed")
        else:
            source = slice_png(self.image)
            self._view_note.value = ""
        if self._figure.data[IMAGE_TRACE].source != source:
            with self._figure.batch_update():
                self._figure.data[IMAGE_TRACE].source = source

    def _on_view(self, change=None) -> None:
        self._show_background()

    def _on_frame(self, change=None) -> None:
        r = self.result
        k = self._frame.value
        with self._figure.batch_update():
            x, y = (r.contours[k] if r is not None else ([], []))
            self._figure.data[FRONT_TRACE].x, self._figure.data[FRONT_TRACE].y = x, y
        self._growth.value = growth_svg() if r is None else growth_svg(r.steps, r.max_abs, current=k)
        if r is None:
            self._dice.value = "<i>place bubbles, then Run</i>"
        else:
            score = "no label to score against" if r.dice[k] is None else f"<b>Dice {r.dice[k]:.3f}</b> against the label"
            self._dice.value = (f"{score} at step {r.steps[k]} of {r.steps[-1]}"
                                f" · front area {r.area[k]} px · max|u| {r.max_abs[k]:.3g} · {r.scheme}")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
