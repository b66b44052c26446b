"""What the level-set playground computes, as functions on arrays: testable without a browser.

:func:`bubbles_from_clicks` (the user's clicks as an initial level set), :func:`edge_map`
(ITK-SNAP's g), :func:`time_step_status` (the CFL check shown under the sliders),
:func:`unstable_warning` (what the app says when the user runs above that limit on purpose),
:func:`network_speeds` (the maps the bundled speed-map LSN predicts) and
:func:`run_evolution` (the evolution in the upwind or central scheme, its recorded frames,
contours, Dice, area and ``max|u|``) with :func:`run_summary` (the line shown after a run).

Symbols as in :mod:`lsn_explorer.levelset.step`: ``α`` propagation (balloon),
``β`` curvature, ``γ`` advection, ``dt`` the time step; ``σ, κ, λ`` the blur,
steepness and exponent of ITK-SNAP's edge function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..inference import resample
from ..levelset.edges import edge_function
from ..levelset.initial import bubbles
from ..levelset.operators import central_gradient
from ..levelset.solver import evolve, store_evolution_in
from ..levelset.step import SCHEMES, cfl_time_step, gac_step, time_step_problem
from ..metrics import dice_score
from ..viz.evolution import zero_contour

__all__ = ["Evolution", "bubbles_from_clicks", "edge_map", "time_step_status", "unstable_warning", "network_speeds",
           "run_evolution", "run_summary", "UNSTABLE_FACTOR"]

#: How far past the CFL limit the playground's "unsafe dt" switch lets ``dt`` go.
UNSTABLE_FACTOR = 4.0


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
    area : list of int
        Pixels with ``u > 0`` per frame.
    max_abs : list of float
        ``max|u|`` per frame: it stays near its initial value while the scheme is
        stable and grows geometrically when it is not.
    dt : float
        The time step used.
    limit : float
        The CFL limit for these speeds and edge function.
    scheme : {"upwind", "central"}
        Differences used for propagation and advection.
    overflow_step : int or None
        The step at which ``u`` stopped being finite (float32 overflow); the run
        stopped there and its last frame is the step before. None if it did not.
    """

    steps: list
    frames: list
    contours: list
    dice: list
    area: list
    max_abs: list
    dt: float
    limit: float
    scheme: str = "upwind"
    overflow_step: int | None = None

    @property
    def unstable(self) -> bool:
        """True when ``dt`` was above the CFL limit."""
        return self.dt > self.limit


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
    problem = time_step_problem(dt, limit)
    if problem is not None:
        return limit, f"{problem}; above the CFL limit the explicit scheme would blow up. Lower dt (or α, β, γ)."
    return limit, None


def unstable_warning(dt: float, limit: float) -> str | None:
    """What the playground says when ``dt`` is above the CFL ``limit`` on purpose, or None.

    Returns
    -------
    str or None
        ``"dt = 0.80 is 3.2× the CFL limit 0.250: the explicit scheme is unstable; watch max|u| grow"``
        when ``dt > limit``, else None.

    Examples
    --------
    >>> unstable_warning(0.8, 0.25)
    'dt = 0.80 is 3.2× the CFL limit 0.250: the explicit scheme is unstable; watch max|u| grow'
    >>> unstable_warning(0.2, 0.25) is None
    True
    """
    if not float(dt) > float(limit):
        return None
    return (f"dt = {dt:.2f} is {dt / limit:.1f}× the CFL limit {limit:.3f}: "
            "the explicit scheme is unstable; watch max|u| grow")


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
    scheme: str = "upwind",
    allow_unstable: bool = False,
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
    scheme : {"upwind", "central"}
        Differences for propagation and advection (see
        :func:`~lsn_explorer.levelset.step.gac_step`). Default "upwind".
    allow_unstable : bool
        Run a ``dt`` above the CFL limit instead of refusing it, to watch the
        explicit scheme blow up. Default False.

    Returns
    -------
    Evolution
        Its ``max_abs`` shows the growth of an unstable run; a run whose ``u``
        overflows stops at that step (``overflow_step``).

    Raises
    ------
    InputError
        ``dt`` above the CFL limit without ``allow_unstable`` (the message gives
        both numbers), ``dt`` not positive, an unknown ``scheme``, bad shapes.

    Notes
    -----
    An upwind run below the limit uses the solver's fused backend. A central or
    an unstable run steps :func:`~lsn_explorer.levelset.step.gac_step` itself,
    since :func:`~lsn_explorer.levelset.solver.evolve` refuses a ``dt`` above the
    limit, and stops once ``u`` is no longer finite.
    """
    if scheme not in SCHEMES:
        raise InputError(f"scheme={scheme!r} is not one of {set(SCHEMES)}")
    u0 = torch.as_tensor(u0, dtype=torch.float32)
    u0 = u0[None, None] if u0.ndim == 2 else u0
    g = edge_map(image, sigma=sigma, kappa=kappa, lam=lam) if g is None else g
    limit, problem = time_step_status(g, alpha=alpha, beta=beta, gamma=gamma, dt=1.0 if dt == "auto" else dt)
    if dt == "auto":
        dt, problem = 0.9 * limit, None
    if problem and not (allow_unstable and float(dt) > limit):
        raise InputError(problem)
    record = _Recorder(u0, int(num_iter), int(max_frames))
    weights = dict(alpha=alpha, beta=beta, gamma=gamma, dt=dt, grad_g=central_gradient(g))
    overflow = None
    if scheme == "upwind" and not float(dt) > limit:
        # the fused step keeps a classroom's kernels small: the band backend's numba adds ~130 MB to each
        evolve(u0, g, num_iter=int(num_iter), iter_callback=record, backend="fused", **weights)
    else:
        overflow = _explicit_steps(u0, g, num_iter=int(num_iter), scheme=scheme, record=record, **weights)
    arrays = [f[0, 0].numpy() for f in record.frames]
    dice = [dice_score(a > 0, mask) if mask is not None else None for a in arrays]
    return Evolution(steps=record.steps, frames=arrays, contours=[zero_contour(a) for a in arrays], dice=dice,
                     area=[int((a > 0).sum()) for a in arrays], max_abs=[float(np.abs(a).max()) for a in arrays],
                     dt=float(dt), limit=float(limit), scheme=scheme, overflow_step=overflow)


class _Recorder:
    """An ``iter_callback`` keeping ``u0`` and every ``ceil(num_iter / max_frames)``-th step, the last one always."""

    def __init__(self, u0: torch.Tensor, num_iter: int, max_frames: int) -> None:
        self.every = max(1, -(-num_iter // max_frames))
        self.num_iter, self.count = num_iter, 0
        self.frames, self.steps = [u0.clone()], [0]
        self._store = store_evolution_in(self.frames)

    def __call__(self, u: torch.Tensor) -> None:
        self.count += 1
        if self.count % self.every == 0 or self.count == self.num_iter:
            self._store(u)
            self.steps.append(self.count)

    def close(self, u: torch.Tensor) -> None:
        """Keep ``u``, the latest step, as the last frame (a run that stops early)."""
        if self.steps[-1] != self.count:
            self._store(u)
            self.steps.append(self.count)


def _explicit_steps(u0: torch.Tensor, g: torch.Tensor, *, num_iter: int, scheme: str, record: _Recorder,
                    **weights) -> int | None:
    """Forward Euler with :func:`~lsn_explorer.levelset.step.gac_step` and ``dt`` as given.

    ``u0`` and ``g`` are ``(1, 1, H, W)``; ``weights`` are ``gac_step``'s ``alpha``, ``beta``,
    ``gamma``, ``dt`` and ``grad_g``. Calls ``record(u)`` after each step; returns the step at
    which ``u`` overflowed (the run stops there, ``u`` of the step before is recorded), or None.
    """
    u = u0
    with torch.no_grad():
        for k in range(1, num_iter + 1):
            new = gac_step(u, g, scheme=scheme, **weights)
            if not bool(torch.isfinite(new).all()):
                record.close(u)
                return k
            u = new
            record(u)
    return None


def run_summary(result: Evolution) -> str:
    """The HTML line the playground shows after a run: steps, scheme, ``dt``, and how ``max|u|`` went.

    An unstable run (``dt`` above the limit) starts with :func:`unstable_warning`, and a run
    that overflowed says at which step it stopped.

    Examples
    --------
    >>> r = Evolution(steps=[0, 10], frames=[], contours=[], dice=[], area=[], max_abs=[4.0, 3.9], dt=0.2, limit=0.25)
    >>> run_summary(r)
    'ran 10 upwind steps with dt = 0.2 (CFL limit 0.250); 2 frames — play, step or scrub; max|u| 4 → 3.9'
    """
    r = result
    text = (f"ran {r.steps[-1]} {r.scheme} steps with dt = {r.dt:g} (CFL limit {r.limit:.3f}); "
            f"{len(r.steps)} frames — play, step or scrub; max|u| {r.max_abs[0]:.3g} → {r.max_abs[-1]:.3g}")
    if r.overflow_step is not None:
        text = (f"<b>u overflowed float32 at step {r.overflow_step}</b>: the run stopped there, "
                f"max|u| grew {r.max_abs[-1] / r.max_abs[0]:.2g}-fold. ") + text
    if r.unstable:
        text = f"<span style='color:#c00'>⚠ {unstable_warning(r.dt, r.limit)}.</span> " + text
    return text
