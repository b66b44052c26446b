"""What the level-set playground computes, as functions on arrays: testable without a browser.

:func:`bubbles_from_clicks` (the user's clicks as an initial level set), :func:`edge_map`
(ITK-SNAP's g), :func:`time_step_status` (the CFL check shown under the sliders),
:func:`network_speeds` (the maps the bundled speed-map LSN predicts) and
:func:`run_evolution` (the evolution, its recorded frames, contours and Dice).

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
from ..levelset.step import cfl_time_step, time_step_problem
from ..metrics import dice_score
from ..viz.evolution import zero_contour

__all__ = ["Evolution", "bubbles_from_clicks", "edge_map", "time_step_status", "network_speeds", "run_evolution"]


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
    problem = time_step_problem(dt, limit)
    if problem is not None:
        return limit, f"{problem}; above the CFL limit the explicit scheme would blow up. Lower dt (or α, β, γ)."
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
