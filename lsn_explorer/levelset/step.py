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
from .speeds import Field, RateFields, as_field, edge_field

__all__ = ["gac_step", "cfl_time_step", "check_time_step", "time_step_problem", "stability_rate", "PROPAGATION_WAVE", "SCHEMES"]

#: Spatial schemes for the propagation and advection terms.
SCHEMES = ("upwind", "central")

#: The upwind propagation term's wave speed per unit ``|α| g``, summed over both axes (√2).
PROPAGATION_WAVE = math.sqrt(2.0)


def stability_rate(wave, diffusion, *, dx: float = 1.0):
    """``1 / dt`` at the CFL limit: ``wave / dx + 4 diffusion / dx²`` (4 = 2·dim).

    Parameters
    ----------
    wave : float or Tensor
        The largest upwind wave speed, summed over both axes:
        ``max(√2 |α| g + |γ| (|g_x| + |g_y|))``.
    diffusion : float or Tensor
        The largest curvature weight ``max(|β| g)``.
    dx : float
        Grid spacing. Default 1.0.
    """
    return wave / dx + 4.0 * diffusion / dx**2


def gac_step(
    u: torch.Tensor,
    g: Field,
    *,
    alpha: Field,
    beta: Field,
    gamma: Field,
    dt: Field,
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
    g : (N, 1, H, W) Tensor, (N,) Tensor or float
        Edge function (see :func:`lsn_explorer.levelset.edges.edge_function`);
        usually a map, ``(1, 1, H, W)`` for one map shared by the batch.
    alpha, beta, gamma : float, 0-d, (N,) or (N, 1, H, W) Tensor
        Propagation, curvature and advection weights: one value, one per image
        or one per pixel (see :mod:`lsn_explorer.levelset.speeds`). Tensors (for
        example trainable ``nn.Parameter``\ s or a network's output maps) keep
        the step differentiable in them.
    dt : float, 0-d or (N,) Tensor
        Time step, for all images or per image. Not checked here; see
        :func:`cfl_time_step`.
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
        If ``scheme`` is unknown, or a shape or dtype does not fit; the message
        names the argument and the shapes it accepts.

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
    g = edge_field(g, u)
    if grad_g is None:
        grad_g = central_gradient(g)
    alpha, beta, gamma = (as_field(n, v, u) for n, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)))
    fields = RateFields.of(g, grad_g, alpha, beta, gamma)
    div_normal, norm = curvature(u, curvature_kernels)
    if scheme == "upwind":
        d = one_sided_differences(u)
        prop = upwind_propagation(d, fields.speed)
        adv = upwind_advection(d, fields.vx, fields.vy)
    else:
        ux, uy = central_gradient(u)
        prop = central_propagation(ux, uy, fields.speed)
        adv = central_advection(ux, uy, fields.vx, fields.vy)
    return u + as_field("dt", dt, u) * (adv + prop + fields.curvature * div_normal * norm)


def _check_step_inputs(u: torch.Tensor, g, scheme: str) -> None:
    if scheme not in SCHEMES:
        raise InputError(f"scheme={scheme!r} is not one of {set(SCHEMES)}")
    if not isinstance(u, torch.Tensor) or u.ndim != 4 or u.shape[1] != 1:
        shape = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__
        raise InputError(f"u has shape {shape}; expected a (N, 1, H, W) tensor")
    as_field("g", g, u)


def cfl_time_step(
    g: Field,
    *,
    alpha: Field,
    beta: Field,
    gamma: Field,
    grad_g: tuple[torch.Tensor, torch.Tensor] | None = None,
    dx: float = 1.0,
    cfl: float = 0.5,
) -> torch.Tensor:
    r"""The largest stable forward-Euler time step of each image, times ``cfl``.

    Parameters
    ----------
    g : (N, 1, H, W) Tensor, (N,) Tensor or float
        Edge function.
    alpha, beta, gamma : float, 0-d, (N,) or (N, 1, H, W) Tensor
        Propagation, curvature and advection weights (see :func:`gac_step`).
    grad_g : pair of (N, 1, H, W) Tensor, optional
        Precomputed ``(∂g/∂x, ∂g/∂y)``.
    dx : float
        Grid spacing. Default 1.0 (pixels).
    cfl : float
        Safety factor (Courant number) in (0, 1]. Default 0.5.

    Returns
    -------
    dt : (N,) float64 Tensor
        For each image, ``cfl / (A/dx + 4 B/dx²)`` with
        ``A = max(|γ|(|g_x|+|g_y|) + √2 |α| g)`` (the largest upwind wave speed,
        summed over both axes) and ``B = max(|β| g)`` (the diffusion-like
        curvature term; 4 = 2·dim), the maxima over that image's pixels.
        ``inf`` for an image where all three terms vanish. ``N`` is the batch
        size the arguments broadcast to (1 when all are shared). No gradient.

    Raises
    ------
    InputError
        If ``cfl`` or ``dx`` is not positive, or a speed has the wrong shape.

    Notes
    -----
    Hyperbolic terms (propagation, advection) need ``dt·speed/dx ≤ 1``
    (Courant–Friedrichs–Lewy); the parabolic curvature term needs
    ``dt ≤ dx²/(4β g)``, as ITK's ``1/(2·dim)`` base step. The two limits are
    combined harmonically. Each image gets its own limit, so a batch steps as
    separate calls would (see :func:`lsn_explorer.levelset.solver.evolve`).

    Examples
    --------
    >>> import torch
    >>> cfl_time_step(torch.ones(1, 1, 8, 8), alpha=0.0, beta=1.0, gamma=0.0, cfl=1.0)
    tensor([0.2500], dtype=torch.float64)
    """
    if not cfl > 0 or not dx > 0:
        raise InputError(f"cfl={cfl} and dx={dx} must both be positive")
    if not isinstance(g, torch.Tensor) or g.ndim != 4:
        ref = next((v for v in (alpha, beta, gamma) if isinstance(v, torch.Tensor) and v.ndim == 4), None)
        if ref is None:
            raise InputError("cfl_time_step needs g or one of alpha, beta, gamma as a (N, 1, H, W) map")
        g = edge_field(g, ref)
    n = max([g.shape[0]] + [v.shape[0] for v in (alpha, beta, gamma) if isinstance(v, torch.Tensor) and v.ndim in (1, 4)])
    like = g.detach().expand(n, *g.shape[1:]) if g.shape[0] == 1 else g.detach()
    a, b, c = (_abs_field(name, v, like) for name, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)))
    with torch.no_grad():
        g = g.detach()
        wave = PROPAGATION_WAVE * a * g.abs()
        if not (isinstance(c, float) and c == 0.0):  # advection's wave speed needs ∇g
            gx, gy = central_gradient(g) if grad_g is None else (t.detach() for t in grad_g)
            wave = wave + c * (gx.abs() + gy.abs())
        diff = b * g.abs()
        rate = stability_rate(_per_image_max(wave, n), _per_image_max(diff, n), dx=dx)
    return torch.where(rate > 0, cfl / rate, torch.full_like(rate, math.inf))


def _abs_field(name: str, value, like: torch.Tensor) -> Field:
    """``|value|`` of a checked speed (see :func:`as_field`), without gradient."""
    v = as_field(name, value, like)
    return abs(v) if isinstance(v, float) else v.detach().abs()


def _per_image_max(field: torch.Tensor, n: int) -> torch.Tensor:
    """``(n,)`` float64 maxima over the pixels of each image of a ``(1 | n, 1, H, W)`` field."""
    return field.amax(dim=(1, 2, 3)).double().expand(n)


def time_step_problem(dt: Field, limit: float | torch.Tensor, *, dx: float = 1.0, first_image: int = 0,
                      num_images: int | None = None) -> str | None:
    """What is wrong with ``dt`` against the stability ``limit`` of each image, or None if nothing.

    Parameters
    ----------
    dt : float, 0-d or (N,) Tensor
        The time step, shared or per image.
    limit : float or (N,) Tensor
        The CFL limit of each image (from ``cfl_time_step(..., cfl=1)``).
    dx : float
        Grid spacing, for the message. Default 1.0.
    first_image, num_images : int, optional
        Where these images sit in a larger batch, for the message (default: they
        are the batch).

    Returns
    -------
    str or None
        ``"dt=0.8 exceeds the CFL limit 0.25 for dx=1 ..."`` or ``"dt=0 must be
        positive"``, with the numbers (and the image, in a batch).
    """
    steps = torch.as_tensor(dt, dtype=torch.float64).detach().cpu().reshape(-1)
    limits = torch.as_tensor(limit, dtype=torch.float64).detach().cpu().reshape(-1)
    if not bool((steps > 0).all()):
        return f"dt={_fmt(steps)} must be positive"
    steps, limits = torch.broadcast_tensors(steps, limits)
    over = steps > limits * (1 + 1e-9)
    if not bool(over.any()):
        return None
    i = int(torch.argmax(steps / limits))
    total = len(limits) if num_images is None else num_images
    where = f" in image {first_image + i} of {total}" if total > 1 else ""
    return f"dt={float(steps[i]):g} exceeds the CFL limit {float(limits[i]):.4g} for dx={dx:g}{where} with these alpha, beta, gamma and g"


def check_time_step(dt: Field, limit: float | torch.Tensor, *, dx: float = 1.0, first_image: int = 0,
                    num_images: int | None = None) -> None:
    """Raise if ``dt`` exceeds the stability ``limit`` (from ``cfl_time_step(..., cfl=1)``) of any image.

    Parameters are those of :func:`time_step_problem`.

    Raises
    ------
    InputError
        The problem :func:`time_step_problem` names, and what to do about it.
    """
    problem = time_step_problem(dt, limit, dx=dx, first_image=first_image, num_images=num_images)
    if problem is not None:
        raise InputError(f"{problem}; use a positive dt below the CFL limit, or dt='auto'")


def _fmt(values: torch.Tensor) -> str:
    return f"{float(values[0]):g}" if values.numel() == 1 else str([round(float(v), 6) for v in values])
