"""One forward-Euler step of the geodesic active contour equation, and its CFL limit.

Symbols
-------
``u``      level set ``(N, 1, H, W)``, ``u > 0`` inside, the segmentation is ``u > 0``
``g``      edge function ``(N, 1, H, W)`` in (0, 1], small on edges
``α``      propagation (balloon) weight; ``α > 0`` grows the region
``β``      curvature weight; ``β > 0`` smooths the front (a disc shrinks)
``γ``      advection weight; ``γ > 0`` pulls the front onto the ridges of ``|∇I|``
``dt``     time step; ``dx`` grid spacing (1 pixel)
"""

from __future__ import annotations

import math

import torch

from ..errors import InputError
from .operators import (
    central_advection,
    central_gradient,
    central_propagation,
    curvature,
    one_sided_differences,
    upwind_advection,
    upwind_propagation,
)

__all__ = ["gac_step", "cfl_time_step", "check_time_step", "SCHEMES"]

#: Spatial schemes for the propagation and advection terms.
SCHEMES = ("upwind", "central")


def gac_step(
    u: torch.Tensor,
    g: torch.Tensor,
    *,
    alpha: float | torch.Tensor,
    beta: float | torch.Tensor,
    gamma: float | torch.Tensor,
    dt: float | torch.Tensor,
    grad_g: tuple[torch.Tensor, torch.Tensor] | None = None,
    curvature_kernels: torch.Tensor | None = None,
    scheme: str = "upwind",
) -> torch.Tensor:
    r"""Advance ``u`` by one forward-Euler step of the level set equation.

    Solves Eq. 1 of Actor et al. (2020), the geodesic active contour equation
    of Caselles, Kimmel & Sapiro (1997) with a balloon force:

    .. math:: u_t = \gamma\, \nabla g \cdot \nabla u + g\,(\alpha + \beta\,\kappa(u))\,|\nabla u|,
              \qquad \kappa(u) = \nabla \cdot \frac{\nabla u}{|\nabla u|}

    Parameters
    ----------
    u : (N, 1, H, W) Tensor
        Level set, positive inside.
    g : (N, 1, H, W) Tensor
        Edge function (see :func:`lsn_explorer.levelset.edges.edge_function`).
    alpha, beta, gamma : float or 0-d Tensor
        Propagation, curvature and advection weights. Tensors (for example
        trainable ``nn.Parameter``\ s) keep the step differentiable in them.
    dt : float or 0-d Tensor
        Time step. Not checked here; see :func:`cfl_time_step`.
    grad_g : pair of (N, 1, H, W) Tensor, optional
        Precomputed ``(∂g/∂x, ∂g/∂y)``. ``g`` does not change between steps,
        so a loop computes it once. Default: centred differences of ``g``.
    curvature_kernels : (4, 1, 3, 3) Tensor, optional
        Stencils for the curvature, in the order (gradient-x, gradient-y,
        divergence-x, divergence-y): ``κ = k2 ⋆ (∇u/|∇u|)_x + k3 ⋆ (∇u/|∇u|)_y``
        with ``∇u = (k0 ⋆ u, k1 ⋆ u)``. Default: centred XC, YC, XC, YC.
        A Level Set Network passes learnable parameters here.
    scheme : {"upwind", "central"}
        Differences for propagation and advection. ``"upwind"`` (default) is
        the stable Osher–Sethian scheme; ``"central"`` exists to show why it
        is needed (it creates new extrema on steep fronts).

    Returns
    -------
    u_next : (N, 1, H, W) Tensor
        Same dtype and device as ``u``.

    Raises
    ------
    InputError
        If ``scheme`` is unknown or the shapes do not match.

    See Also
    --------
    lsn_explorer.levelset.solver.evolve : the loop around this step.
    cfl_time_step : the largest stable ``dt``.

    Notes
    -----
    **Names of the three weights.** This library uses the paper's Eq. 1 and
    ITK-SNAP's names: ``alpha`` = propagation, ``beta`` = curvature,
    ``gamma`` = advection. The authors' Keras code (``jonasactor/livermask``,
    ``lsn.py``) used ``alpha`` = curvature, ``beta`` = transport (advection)
    and ``gamma`` = balloon (propagation). ITK/SimpleITK's
    ``GeodesicActiveContourLevelSetImageFilter`` calls them
    ``PropagationScaling`` (α), ``CurvatureScaling`` (β) and
    ``AdvectionScaling`` (γ), but its level set is **negative inside**: pass
    ``-u`` to it and read its output back as ``-φ``.

    **Discretisation.** Propagation uses the Osher–Sethian upwind gradient
    norm with ``F = α g``: ``max(F,0)·∇⁻ + min(F,0)·∇⁺`` where e.g.
    ``∇⁻ = sqrt(relu(D⁺x u)² + relu(−D⁻x u)² + relu(D⁺y u)² + relu(−D⁻y u)²)``.
    Advection with velocity ``v = γ ∇g`` uses
    ``relu(vx)·D⁺x u − relu(−vx)·D⁻x u + (same in y)``: the ReLU-of-convolution
    form of Table 1 in the paper. Curvature uses centred differences, and its
    ``|∇u|`` is the centred norm. Borders are replicate-padded (zero flux).
    The step is stable for ``dt`` below :func:`cfl_time_step` with ``cfl=1``.

    References
    ----------
    .. [1] S. Osher, J. A. Sethian, "Fronts propagating with curvature-dependent
       speed", J. Comput. Phys. 79 (1988), doi:10.1016/0021-9991(88)90002-2.
    .. [2] V. Caselles, R. Kimmel, G. Sapiro, "Geodesic active contours",
       IJCV 22 (1997), doi:10.1023/A:1007979827043.
    .. [3] J. Actor, D. T. Fuentes, B. Rivière, Proc. SPIE 11313 (2020),
       doi:10.1117/12.2548871.

    Examples
    --------
    >>> import torch
    >>> u = torch.zeros(1, 1, 8, 8); u[..., 2:6, 2:6] = 1.0
    >>> g = torch.ones_like(u)
    >>> gac_step(u, g, alpha=1.0, beta=0.0, gamma=0.0, dt=0.25).shape
    torch.Size([1, 1, 8, 8])
    """
    _check_step_inputs(u, g, scheme)
    if grad_g is None:
        grad_g = central_gradient(g)
    gx, gy = grad_g
    kappa, norm = curvature(u, curvature_kernels)
    if scheme == "upwind":
        d = one_sided_differences(u)
        prop = upwind_propagation(d, alpha * g)
        adv = upwind_advection(d, gamma * gx, gamma * gy)
    else:
        ux, uy = central_gradient(u)
        prop = central_propagation(ux, uy, alpha * g)
        adv = central_advection(ux, uy, gamma * gx, gamma * gy)
    return u + dt * (adv + prop + beta * g * kappa * norm)


def _check_step_inputs(u: torch.Tensor, g: torch.Tensor, scheme: str) -> None:
    if scheme not in SCHEMES:
        raise InputError(f"scheme={scheme!r} is not one of {set(SCHEMES)}")
    for name, t in (("u", u), ("g", g)):
        if not isinstance(t, torch.Tensor) or t.ndim != 4 or t.shape[1] != 1:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise InputError(f"{name} has shape {shape}; expected a (N, 1, H, W) tensor")
    if g.shape[-2:] != u.shape[-2:] or g.shape[0] not in (1, u.shape[0]):
        raise InputError(f"g has shape {tuple(g.shape)} but u has {tuple(u.shape)}; expected matching (N, 1, H, W)")


def _as_float(x: float | torch.Tensor) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def cfl_time_step(
    g: torch.Tensor,
    *,
    alpha: float | torch.Tensor,
    beta: float | torch.Tensor,
    gamma: float | torch.Tensor,
    grad_g: tuple[torch.Tensor, torch.Tensor] | None = None,
    dx: float = 1.0,
    cfl: float = 0.5,
) -> float:
    r"""The largest stable forward-Euler time step, times ``cfl``.

    Parameters
    ----------
    g : (N, 1, H, W) Tensor
        Edge function.
    alpha, beta, gamma : float or 0-d Tensor
        Propagation, curvature and advection weights (see :func:`gac_step`).
    grad_g : pair of (N, 1, H, W) Tensor, optional
        Precomputed ``(∂g/∂x, ∂g/∂y)``.
    dx : float
        Grid spacing. Default 1.0 (pixels).
    cfl : float
        Safety factor (Courant number) in (0, 1]. Default 0.5.

    Returns
    -------
    dt : float
        ``cfl / (A/dx + 4 B/dx²)`` with ``A = max(|γ|(|g_x|+|g_y|) + √2 |α| g)``
        (the largest upwind wave speed, summed over both axes) and
        ``B = max(|β| g)`` (the diffusion-like curvature term; 4 = 2·dim).
        The maximum is over the whole batch, so one ``dt`` serves all images.
        ``inf`` when all three weights are zero.

    Raises
    ------
    InputError
        If ``cfl`` or ``dx`` is not positive.

    Notes
    -----
    Hyperbolic terms (propagation, advection) need ``dt·speed/dx ≤ 1``
    (Courant–Friedrichs–Lewy); the parabolic curvature term needs
    ``dt ≤ dx²/(4β g)``, as ITK's ``1/(2·dim)`` base step. The two limits are
    combined harmonically.

    Examples
    --------
    >>> import torch
    >>> cfl_time_step(torch.ones(1, 1, 8, 8), alpha=0.0, beta=1.0, gamma=0.0, cfl=1.0)
    0.25
    """
    if not cfl > 0 or not dx > 0:
        raise InputError(f"cfl={cfl} and dx={dx} must both be positive")
    a, b, c = abs(_as_float(alpha)), abs(_as_float(beta)), abs(_as_float(gamma))
    with torch.no_grad():
        if grad_g is None:
            grad_g = central_gradient(g)
        gx, gy = grad_g
        wave = float((c * (gx.abs() + gy.abs()) + math.sqrt(2.0) * a * g.abs()).amax())
        diff = float((b * g.abs()).amax())
    rate = wave / dx + 4.0 * diff / dx**2
    return math.inf if rate == 0 else cfl / rate


def check_time_step(dt: float, limit: float, *, dx: float = 1.0) -> None:
    """Raise if ``dt`` exceeds the stability ``limit`` (from ``cfl_time_step(..., cfl=1)``).

    Raises
    ------
    InputError
        ``dt=0.8 exceeds the CFL limit 0.25 for dx=1.0 ...``, with the numbers.
    """
    if not dt > 0:
        raise InputError(f"dt={dt} must be positive (or 'auto')")
    if dt > limit * (1 + 1e-9):
        raise InputError(
            f"dt={dt:g} exceeds the CFL limit {limit:.4g} for dx={dx:g} with these alpha, beta, gamma "
            "and g; use a smaller dt or dt='auto'"
        )
