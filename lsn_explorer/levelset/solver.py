"""``evolve``: the time loop around :func:`~lsn_explorer.levelset.step.gac_step`.

Symbols as in :mod:`lsn_explorer.levelset.step`. The loop owns what a single
step does not: resolving ``dt="auto"``, computing ``∇g`` once, the per-image
RMS stopping rule, optional re-initialisation and the iteration callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import InputError
from .fast import TiledStep, compiled_gac_step, fused_gac_step
from .initial import signed_distance
from .operators import central_gradient
from .speeds import Field, RateFields, as_field, edge_field
from .step import _check_step_inputs, cfl_time_step, check_time_step, gac_step

#: Values of ``evolve(..., backend=...)``.
BACKENDS = ("reference", "fused", "compiled", "tiled", "tiled_compiled")

__all__ = ["BACKENDS", "evolve", "EvolveResult", "store_evolution_in", "front_band", "reinitialise"]


@dataclass(frozen=True)
class EvolveResult:
    """What :func:`evolve` returns with ``return_info=True``.

    Attributes
    ----------
    u : (N, 1, H, W) Tensor
        The final level set.
    num_iter_run : (N,) int64 Tensor
        Steps each image actually took (fewer than ``num_iter`` once its RMS
        change fell below ``max_rms_change``).
    rms_change : (N,) Tensor
        RMS change of ``u`` on the front band in each image's last step.
    dt : (N,) float64 Tensor
        The time step each image used.
    converged : (N,) bool Tensor
        Whether each image stopped on the RMS rule.
    """

    u: torch.Tensor
    num_iter_run: torch.Tensor
    rms_change: torch.Tensor
    dt: torch.Tensor
    converged: torch.Tensor


def evolve(
    u0: torch.Tensor,
    g: Field,
    *,
    num_iter: int,
    alpha: Field = 1.0,
    beta: Field = 0.2,
    gamma: Field = 0.0,
    dt: Field | str = "auto",
    iter_callback: Callable[[torch.Tensor], None] | None = None,
    max_rms_change: float | None = None,
    reinit_every: int | None = None,
    curvature_kernels: torch.Tensor | None = None,
    grad_g: tuple[torch.Tensor, torch.Tensor] | None = None,
    scheme: str = "upwind",
    cfl: float = 0.5,
    return_info: bool = False,
    backend: str = "reference",
    clamp: float | None = None,
    tile: int = 16,
) -> torch.Tensor | EvolveResult:
    """Evolve a level set under the geodesic active contour equation.

    Parameters
    ----------
    u0 : (N, 1, H, W) Tensor
        Initial level set, positive inside (see :mod:`~lsn_explorer.levelset.initial`).
    g : (N, 1, H, W) or (1, 1, H, W) Tensor, (N,) Tensor or float
        Edge function (see :func:`~lsn_explorer.levelset.edges.edge_function`).
    num_iter : int
        Maximum number of steps.
    alpha, beta, gamma : float, 0-d, (N,) or (N, 1, H, W) Tensor
        Propagation, curvature and advection weights (Eq. 1 and ITK-SNAP names;
        see :func:`~lsn_explorer.levelset.step.gac_step` for the authors' and
        ITK's names): one value, one per image or a map per image (see
        :mod:`~lsn_explorer.levelset.speeds`). Defaults 1.0, 0.2, 0.0
        (ITK-SNAP's edge mode without advection).
    dt : float, 0-d or (N,) Tensor, or "auto"
        Time step. ``"auto"`` gives each image ``cfl`` times its own CFL limit
        (:func:`~lsn_explorer.levelset.step.cfl_time_step`); an explicit value
        above the limit of any image raises.
    iter_callback : callable, optional
        Called as ``iter_callback(u)`` after every step, with the current
        ``(N, 1, H, W)`` level set (see :func:`store_evolution_in`).
    max_rms_change : float, optional
        Stop an image once the RMS change of ``u`` in one step, over the pixels
        next to its zero level, is below this (as ITK's ``MaximumRMSError``).
        Converged images are frozen while the others go on; ``None`` (default)
        always runs ``num_iter`` steps.
    reinit_every : int, optional
        Re-initialise ``u`` to a signed distance every this many steps
        (see :func:`reinitialise`). Default: never.
    curvature_kernels : (4, 1, 3, 3) Tensor, optional
        Passed to the step (learned curvature stencils).
    grad_g : pair of (N, 1, H, W) Tensor, optional
        The advection field ``(∂g/∂x, ∂g/∂y)``. Default: centred differences
        of ``g``, computed once. ITK's GAC filter uses a Gaussian derivative
        (σ = 1 px) instead; see :func:`~lsn_explorer.levelset.edges.gaussian_gradient`.
    scheme : {"upwind", "central"}
        Spatial scheme of propagation and advection. Default "upwind".
    cfl : float
        Courant number for ``dt="auto"``. Default 0.5.
    return_info : bool
        ``False`` (default): return the final ``u``. ``True``: return an
        :class:`EvolveResult` with iteration counts and the last RMS change.
    backend : {"reference", "fused", "compiled", "tiled", "tiled_compiled"}
        ``"reference"`` (default) runs :func:`~lsn_explorer.levelset.step.gac_step`
        (convolutions, differentiable). ``"fused"`` runs
        :func:`~lsn_explorer.levelset.fast.fused_gac_step`, the same numbers
        with fewer intermediate images (3-4x faster on CPU), and
        ``"compiled"`` its ``torch.compile`` version (several times faster
        again, after a one-off compilation of ~5-30 s per shape and weights).
        ``"tiled"`` is the fused step restricted to the tiles near the front
        (:class:`~lsn_explorer.levelset.fast.TiledStep`); it needs ``clamp``
        and H, W divisible by ``tile``; ``"tiled_compiled"`` compiles its
        per-tile arithmetic. The fast backends need the upwind scheme and the
        default curvature stencils; their weights and maps may be tensors, but
        only ``"fused"`` passes gradients.
    clamp : float, optional
        Clip ``u`` to ``[-clamp, clamp]`` after every step (ITK-SNAP's
        "clamp" option): far from the front ``u`` saturates, which is what
        lets the ``"tiled"`` backend skip those tiles. Use at least 3 so the
        stencils around the front see unclipped values. Default: no clipping.
    tile : int
        Tile size of the ``"tiled"`` backend. Default 16.

    Returns
    -------
    u : (N, 1, H, W) Tensor or EvolveResult
        Same dtype and device as ``u0``. The segmentation is ``u > 0``.

    Raises
    ------
    InputError
        Bad shapes, ``num_iter < 0``, ``dt`` not positive, or ``dt`` above the
        CFL limit (the message gives both numbers).

    Notes
    -----
    Forward Euler in time, upwind (Osher–Sethian) differences for propagation
    and advection, centred differences for curvature, zero-flux borders.
    Every computation is per image, ``dt="auto"`` included, so a batch evolves
    as separate calls would. Autograd flows through the loop (the time step is
    not differentiated), so a network can unroll it.

    Examples
    --------
    >>> import torch
    >>> from lsn_explorer.levelset.initial import bubbles
    >>> u0 = bubbles((1, 1, 32, 32), [(16, 16)], radius=4.0)
    >>> u = evolve(u0, torch.ones_like(u0), num_iter=20, alpha=1.0, beta=0.0)
    >>> bool((u > 0).sum() > (u0 > 0).sum())
    True
    """
    _check_step_inputs(u0, g, scheme)
    if int(num_iter) != num_iter or num_iter < 0:
        raise InputError(f"num_iter={num_iter}; expected a non-negative integer")
    if reinit_every is not None and (int(reinit_every) != reinit_every or reinit_every < 1):
        raise InputError(f"reinit_every={reinit_every}; expected a positive integer or None")
    g = edge_field(g, u0)
    alpha, beta, gamma = (as_field(n, v, u0) for n, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)))
    if grad_g is None:
        grad_g = central_gradient(g)  # g is fixed: its gradient is computed once
    limit = cfl_time_step(g, alpha=alpha, beta=beta, gamma=gamma, grad_g=grad_g, cfl=1.0).to(u0.device)
    if isinstance(dt, str):
        if dt != "auto":
            raise InputError(f"dt={dt!r}; expected a positive number or 'auto'")
        dt = torch.where(torch.isfinite(limit), cfl * limit, torch.ones_like(limit)).to(u0.dtype)
    else:
        check_time_step(dt, limit)  # a tensor dt is used as given
    step = _backend_step(backend, u0, g, grad_g, alpha, beta, gamma, as_field("dt", dt, u0), scheme,
                         curvature_kernels, clamp, tile)
    if clamp is not None and not backend.startswith("tiled"):
        step = (lambda s: lambda u: s(u).clamp(-clamp, clamp))(step)
    n = u0.shape[0]
    active = torch.ones(n, dtype=torch.bool, device=u0.device)
    steps = torch.zeros(n, dtype=torch.int64, device=u0.device)
    rms = torch.full((n,), float("nan"), dtype=u0.dtype, device=u0.device)
    u = u0
    for it in range(int(num_iter)):
        new = step(u)
        if max_rms_change is not None:
            rms = torch.where(active, _front_rms(u, new), rms)
            new = torch.where(active[:, None, None, None], new, u)
        steps += active
        if max_rms_change is not None:
            active = active & ~(rms < max_rms_change)
        u = new
        if reinit_every is not None and (it + 1) % reinit_every == 0:
            fresh = reinitialise(u) if clamp is None else reinitialise(u).clamp(-clamp, clamp)
            u = torch.where(active[:, None, None, None], fresh, u)
        if iter_callback is not None:
            iter_callback(u)
        if max_rms_change is not None and not bool(active.any()):
            break
    if not return_info:
        return u
    dts = torch.as_tensor(dt, dtype=torch.float64).detach().cpu().reshape(-1).expand(n)
    return EvolveResult(u=u, num_iter_run=steps, rms_change=rms, dt=dts, converged=~active)


def _backend_step(backend, u0, g, grad_g, alpha, beta, gamma, dt, scheme, curvature_kernels, clamp, tile):
    if backend == "reference":
        return lambda u: gac_step(u, g, alpha=alpha, beta=beta, gamma=gamma, dt=dt, grad_g=grad_g,
                                  curvature_kernels=curvature_kernels, scheme=scheme)
    if backend not in BACKENDS:
        raise InputError(f"backend={backend!r} is not one of {set(BACKENDS)}")
    weights = [w for w in (alpha, beta, gamma, dt, g) if isinstance(w, torch.Tensor)]
    if scheme != "upwind" or curvature_kernels is not None or any(w.requires_grad for w in weights):
        raise InputError(
            f"backend={backend!r} needs scheme='upwind', no curvature_kernels and speeds without gradients; "
            "use backend='reference' for learning"
        )
    with torch.no_grad():
        fields = RateFields.of(g, grad_g, alpha, beta, gamma).scaled(dt)
    if backend.startswith("tiled"):
        h, w = u0.shape[-2:]
        if clamp is None or not clamp > 0 or tile % 4 or w % tile or h % tile:
            raise InputError(f"backend='tiled' needs clamp > 0 (got {clamp}), tile a multiple of 4 and H, W "
                             f"divisible by tile={tile} "
                             f"(got {(h, w)})")
        return TiledStep(fields.maps(u0), clamp=clamp, tile=tile, compiled=backend == "tiled_compiled")
    fn = fused_gac_step if backend == "fused" else compiled_gac_step()
    parts = [torch.as_tensor(f, dtype=u0.dtype, device=u0.device) for f in (fields.speed, fields.vx, fields.vy, fields.curvature)]

    def step(u):
        with torch.no_grad():
            return fn(u, *parts)

    return step


def front_band(u: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` bool: pixels whose 3x3 neighbourhood contains both signs of ``u > 0``."""
    inside = (u > 0).to(u.dtype)
    grown = F.max_pool2d(inside, 3, stride=1, padding=1)
    shrunk = -F.max_pool2d(-inside, 3, stride=1, padding=1)
    return grown != shrunk


def _front_rms(u: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    # RMS over the front band of each image (not batch nor channels);
    # an image without a front uses all its pixels
    with torch.no_grad():
        band = front_band(u)
        band = torch.where(band.flatten(1).any(1)[:, None, None, None], band, torch.ones_like(band))
        sq = ((new - u) ** 2 * band).sum(dim=(1, 2, 3))
        return torch.sqrt(sq / band.sum(dim=(1, 2, 3)))


def reinitialise(u: torch.Tensor) -> torch.Tensor:
    """Re-initialise ``u`` to a signed distance with the same zero level.

    Far from the front the result is the exact Euclidean signed distance of
    the mask ``u > 0`` (computed on the CPU with SciPy, see
    :func:`~lsn_explorer.levelset.initial.signed_distance`). On the front band
    (:func:`front_band`) it is the sub-pixel estimate ``u / |∇u|``, so the
    zero level does not snap to pixel edges.

    Parameters
    ----------
    u : (N, 1, H, W) Tensor

    Returns
    -------
    u : (N, 1, H, W) Tensor, same dtype and device (no gradient)
    """
    with torch.no_grad():
        sd = signed_distance(u > 0).to(dtype=u.dtype, device=u.device)
        ux, uy = central_gradient(u)
        local = u / torch.sqrt(ux**2 + uy**2).clamp_min(1e-3)
        return torch.where(front_band(u), local.clamp(-1.0, 1.0), sd)


def store_evolution_in(frames: list) -> Callable[[torch.Tensor], None]:
    """A callback for :func:`evolve` that appends a detached CPU copy of ``u`` to ``frames``.

    Examples
    --------
    >>> import torch
    >>> frames = []
    >>> _ = evolve(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4), num_iter=3,
    ...            iter_callback=store_evolution_in(frames))
    >>> len(frames)
    3
    """

    def _store(u: torch.Tensor) -> None:
        frames.append(u.detach().to("cpu", copy=True))

    return _store
