"""``evolve``: the time loop around :func:`~lsn_explorer.levelset.step.gac_step`.

Symbols as in :mod:`lsn_explorer.levelset.step`. The loop owns what a single
step does not: resolving ``dt="auto"``, computing ``∇g`` once (per cache-sized
chunk of a CPU batch), the per-image RMS stopping rule, optional
re-initialisation and the iteration callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..errors import InputError
from .backends import BACKENDS, StepProblem, choose_backend, chunk_size
from .initial import reinitialise
from .operators import central_gradient, front_band
from .speeds import Field, as_field, edge_field
from .step import _check_step_inputs, cfl_time_step, check_time_step

__all__ = ["BACKENDS", "evolve", "EvolveResult", "store_evolution_in", "front_band"]


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
    backend: str = "auto",
    clamp: float | None = None,
    tile: int = 16,
) -> torch.Tensor | EvolveResult:
    """Evolve a level set under the geodesic active contour equation.

    Parameters
    ----------
    u0 : (N, 1, H, W) or (H, W) Tensor
        Initial level set, positive inside (see :mod:`~lsn_explorer.levelset.initial`).
        One ``(H, W)`` image is evolved as a batch of one, with its maps (``g``,
        ``grad_g``, speeds) given as ``(H, W)`` or ``(1, 1, H, W)``, and the result
        (and what ``iter_callback`` sees) is ``(H, W)`` too, as
        :func:`~lsn_explorer.levelset.initial.bubbles` and
        :func:`~lsn_explorer.levelset.edges.edge_function` take and give.
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
    backend : {"auto", "reference", "fused", "compiled", "band", "sparse"}
        How the steps run (see :mod:`~lsn_explorer.levelset.backends`). ``"auto"``
        (default) takes ``"reference"`` when gradients, the central scheme or
        learned stencils need it; otherwise ``"sparse"`` on the CPU and ``"fused"``
        on a GPU.
        ``"reference"`` runs :func:`~lsn_explorer.levelset.step.gac_step`
        (convolutions, differentiable); ``"fused"`` the same numbers with fewer
        intermediate images; ``"compiled"`` its ``torch.compile`` version (a
        one-off compilation of ~5-30 s per shape); ``"band"`` the same numbers
        from a numba loop over the tiles that can still change
        (:class:`~lsn_explorer.levelset.band.BandStep`). ``"sparse"`` is a sparse
        field (:class:`~lsn_explorer.levelset.sparse.SparseField`): only a narrow
        band of half-width ``clamp`` (default 3) around the front is stepped and
        kept a signed distance, as ITK's sparse field does, so a step costs time
        in proportion to the front's length; its front follows the others'
        closely, not to rounding, and ``u`` is returned clipped to the band.
    clamp : float, optional
        Clip ``u`` to ``[-clamp, clamp]`` after every step (ITK-SNAP's
        "clamp" option): far from the front ``u`` saturates and stops
        changing, which is what lets the ``"band"`` backend skip it. Use at
        least 3 so the stencils around the front see unclipped values. For
        ``"sparse"``, the band's half-width. Default: no clipping, except on the
        sparse field (what ``"auto"`` runs on a CPU), which returns ``u`` clipped
        to its band of half-width 3.
    tile : int
        Tile side of the ``"band"`` backend, at least 2. Default 16.

    Returns
    -------
    u : (N, 1, H, W) or (H, W) Tensor, or EvolveResult
        Same shape, dtype and device as ``u0``. The segmentation is ``u > 0``.

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
    >>> from lsn_explorer.levelset.edges import edge_function
    >>> g = edge_function(torch.zeros(32, 32))
    >>> evolve(bubbles((32, 32), [(16, 16)]), g, num_iter=5).shape
    torch.Size([32, 32])
    """
    if isinstance(u0, torch.Tensor) and u0.ndim == 2:
        batched = {name: _one_image(value) for name, value in
                   (("g", g), ("alpha", alpha), ("beta", beta), ("gamma", gamma), ("dt", dt))}
        watch = None if iter_callback is None else (lambda u: iter_callback(u[0, 0]))
        out = evolve(
            u0[None, None], batched.pop("g"), num_iter=num_iter, **batched, iter_callback=watch,
            max_rms_change=max_rms_change, reinit_every=reinit_every, curvature_kernels=curvature_kernels,
            grad_g=None if grad_g is None else tuple(_one_image(t) for t in grad_g), scheme=scheme, cfl=cfl,
            return_info=return_info, backend=backend, clamp=clamp, tile=tile,
        )
        return replace(out, u=out.u[0, 0]) if return_info else out[0, 0]
    _check_step_inputs(u0, g, scheme)
    if int(num_iter) != num_iter or num_iter < 0:
        raise InputError(f"num_iter={num_iter}; expected a non-negative integer")
    if reinit_every is not None and (int(reinit_every) != reinit_every or reinit_every < 1):
        raise InputError(f"reinit_every={reinit_every}; expected a positive integer or None")
    if isinstance(dt, str) and dt != "auto":
        raise InputError(f"dt={dt!r}; expected a positive number or 'auto'")
    if int(tile) != tile or tile < 2:
        raise InputError(f"tile={tile}; expected an integer of at least 2")
    g = edge_field(g, u0)
    alpha, beta, gamma = (as_field(n, v, u0) for n, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)))
    batch = StepProblem(u0, g, grad_g, alpha, beta, gamma, dt if isinstance(dt, str) else as_field("dt", dt, u0),
                        scheme, curvature_kernels, clamp, int(tile), max_rms_change is not None)
    chosen = choose_backend(backend, batch)
    n = u0.shape[0]
    size = n if iter_callback is not None else chunk_size(chosen, u0)
    loop = dict(num_iter=num_iter, max_rms_change=max_rms_change, reinit_every=reinit_every, iter_callback=iter_callback)
    parts = [_evolve_rows(chosen, _rows(batch, start, size, n), start, n, cfl, **loop) for start in range(0, n, size)]
    u, steps, rms, active, dts = parts[0] if len(parts) == 1 else (torch.cat(x) for x in zip(*parts))
    if not return_info:
        return u
    return EvolveResult(u=u, num_iter_run=steps, rms_change=rms, dt=dts, converged=~active)


def _one_image(value):
    """An ``(H, W)`` map as ``(1, 1, H, W)``; anything else unchanged."""
    return value[None, None] if isinstance(value, torch.Tensor) and value.ndim == 2 else value


def _evolve_rows(backend, problem: StepProblem, first: int, total: int, cfl: float, **loop):
    """Evolve the images of one chunk, from the CFL limit on (see :func:`_run` for what it returns, and ``dt``).

    The whole computation is per image, so the chunks of a batch give the batch's result;
    ``first`` and ``total`` place the chunk in the batch for messages.
    """
    p = problem
    grad_g = central_gradient(p.g) if p.grad_g is None else tuple(p.grad_g)  # g is fixed: ∇g once per chunk
    limit = cfl_time_step(p.g, alpha=p.alpha, beta=p.beta, gamma=p.gamma, grad_g=grad_g, cfl=1.0).to(p.u0.device)
    if isinstance(p.dt, str):
        dt = torch.where(torch.isfinite(limit), cfl * limit, torch.ones_like(limit)).to(p.u0.dtype)
    else:
        check_time_step(p.dt, limit, first_image=first, num_images=total)  # a tensor dt is used as given
        dt = p.dt
    dt = as_field("dt", dt, p.u0)
    stepper = backend.build(replace(p, grad_g=grad_g, dt=dt))
    dts = torch.as_tensor(dt, dtype=torch.float64).detach().cpu().reshape(-1).expand(p.u0.shape[0])
    return (*_run(stepper, p.u0, clamp=p.clamp, **loop), dts)


def _rows(problem: StepProblem, start: int, size: int, n: int) -> StepProblem:
    """The problem of images ``start .. start + size`` (per-image fields sliced, shared ones kept)."""
    if size >= n:
        return problem

    def take(x):
        return x[start : start + size] if isinstance(x, torch.Tensor) and x.ndim > 0 and x.shape[0] == n else x

    grad_g = None if problem.grad_g is None else tuple(take(t) for t in problem.grad_g)
    return replace(problem, u0=take(problem.u0), g=take(problem.g), grad_g=grad_g, alpha=take(problem.alpha),
                   beta=take(problem.beta), gamma=take(problem.gamma), dt=take(problem.dt))


def _run(stepper, u0, *, num_iter, max_rms_change, reinit_every, clamp, iter_callback):
    """The time loop of one chunk: ``(u, steps taken, last RMS change, still active)`` per image."""
    n = u0.shape[0]
    active = torch.ones(n, dtype=torch.bool, device=u0.device)
    if hasattr(stepper, "run") and iter_callback is None and reinit_every is None and num_iter > 0:
        u, steps, rms = stepper.run(u0, int(num_iter), active=active, max_rms_change=max_rms_change)
        return u, steps, rms, active  # all steps in one call: nothing to do between them
    steps = torch.zeros(n, dtype=torch.int64, device=u0.device)
    rms = torch.full((n,), float("nan"), dtype=u0.dtype, device=u0.device)
    u = u0
    for it in range(int(num_iter)):
        u, step_rms = stepper(u, None if max_rms_change is None else ~active)
        steps += active
        if max_rms_change is not None:
            rms = torch.where(active, step_rms, rms)
            active = active & ~(rms < max_rms_change)
        if reinit_every is not None and (it + 1) % reinit_every == 0:
            fresh = reinitialise(u) if clamp is None else reinitialise(u).clamp(-clamp, clamp)
            u = torch.where(active[:, None, None, None], fresh, u)
        if iter_callback is not None:
            iter_callback(u.clone() if stepper.reuses_buffers else u)
        if max_rms_change is not None and not bool(active.any()):
            break
    return u, steps, rms, active


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
