"""The pieces of the level-set step, each a few tensor operations.

Symbols
-------
``u``        level set, ``(N, 1, H, W)``, ``u > 0`` inside
``F``        normal speed (``α g``), ``(N, 1, H, W)`` or broadcastable
``vx, vy``   advection velocity components (``γ ∂g/∂x``, ``γ ∂g/∂y``)
``D±x/y``    one-sided differences (see :mod:`lsn_explorer.levelset.stencils`)

Boundary handling: every stencil is applied after replicate padding by one
pixel (``F.pad(mode="replicate")``), i.e. a zero-flux (Neumann) condition:
one-sided differences pointing out of the image are zero and the level set
neither enters nor leaves through the border. Zero padding would instead make
the border look like a front at ``u = 0``.

The upwind forms follow Osher & Sethian (1988) and are written as ReLU of
convolutions, as in Table 1 of Actor et al. (2020):
``max(0, D⁺ ⋆ u) − max(0, −D⁻ ⋆ u)``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .stencils import XC, XN, XP, YC, YN, YP, as_weight

__all__ = [
    "apply_stencils",
    "one_sided_differences",
    "central_gradient",
    "upwind_propagation",
    "upwind_advection",
    "propagation_from_differences",
    "advection_from_differences",
    "central_propagation",
    "central_advection",
    "curvature",
    "curvature_of_padded",
    "front_band",
    "EPS",
    "ROOT_EPS",
    "NORMAL_EPS",
]

#: Added under every square root so that autograd stays finite where ``|∇u| = 0``;
#: ``sqrt(s + EPS) - ROOT_EPS`` is then exactly 0 on flat regions (they do not creep).
EPS = 1e-20
ROOT_EPS = 1e-10
#: Added to ``|∇u|²`` under the unit normal ``∇u / |∇u|`` of the curvature: on flat ground
#: (a plateau of a clipped level set) the normal fades to 0 instead of dividing by ~0, which
#: keeps the gradients of a network trained through many steps finite; at unit slope the
#: normal changes by 5e-7.
NORMAL_EPS = 1e-6


@functools.lru_cache(maxsize=64)
def _fixed_weight(names: tuple[str, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    table = {"XP": XP, "XN": XN, "YP": YP, "YN": YN, "XC": XC, "YC": YC}
    return as_weight([table[n] for n in names], torch.empty(0, dtype=dtype, device=device))


def apply_stencils(u: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W) ⋆ (K, C, 3, 3) -> (N, K, H, W)`` with replicate padding."""
    return F.conv2d(F.pad(u, (1, 1, 1, 1), mode="replicate"), weight)


def one_sided_differences(u: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W) -> (N, 4, H, W)``: channels D⁺x, D⁻x, D⁺y, D⁻y of ``u``."""
    return apply_stencils(u, _fixed_weight(("XP", "XN", "YP", "YN"), u.dtype, u.device))


def central_gradient(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 1, H, W) -> (∂u/∂x, ∂u/∂y)``, centred differences with the ½ (the stencils XC, YC).

    Written with slices of the replicate-padded image rather than a convolution: the
    same numbers, several times faster on large batches.
    """
    return _centred_of_padded(F.pad(u, (1, 1, 1, 1), mode="replicate"))


def _centred_of_padded(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(∂u/∂x, ∂u/∂y)`` by centred differences from ``u`` replicate-padded by one pixel."""
    return 0.5 * p[..., 1:-1, 2:] - 0.5 * p[..., 1:-1, :-2], 0.5 * p[..., 2:, 1:-1] - 0.5 * p[..., :-2, 1:-1]


def upwind_propagation(d: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
    """Upwind ``F |∇u|`` for ``u_t = F |∇u|`` from one-sided differences ``d`` (N, 4, H, W)."""
    return propagation_from_differences(d[:, 0:1], d[:, 1:2], d[:, 2:3], d[:, 3:4], speed)


def upwind_advection(d: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
    """Upwind ``v·∇u`` for ``u_t = v·∇u`` from one-sided differences ``d`` (N, 4, H, W)."""
    return advection_from_differences(d[:, 0:1], d[:, 1:2], d[:, 2:3], d[:, 3:4], vx, vy)


def propagation_from_differences(dxp, dxn, dyp, dyn, speed: torch.Tensor) -> torch.Tensor:
    """Upwind ``F |∇u|`` from the four one-sided differences D⁺x, D⁻x, D⁺y, D⁻y (each (N, 1, H, W))."""
    # F > 0 grows u (the front moves outwards): information comes from inside
    grow = torch.sqrt(F.relu(dxp) ** 2 + F.relu(-dxn) ** 2 + F.relu(dyp) ** 2 + F.relu(-dyn) ** 2 + EPS) - ROOT_EPS
    shrink = torch.sqrt(F.relu(-dxp) ** 2 + F.relu(dxn) ** 2 + F.relu(-dyp) ** 2 + F.relu(dyn) ** 2 + EPS) - ROOT_EPS
    return F.relu(speed) * grow - F.relu(-speed) * shrink


def advection_from_differences(dxp, dxn, dyp, dyn, vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
    """Upwind ``v·∇u`` from the four one-sided differences D⁺x, D⁻x, D⁺y, D⁻y (each (N, 1, H, W))."""
    return F.relu(vx) * dxp - F.relu(-vx) * dxn + F.relu(vy) * dyp - F.relu(-vy) * dyn


def central_propagation(ux: torch.Tensor, uy: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
    """Centred ``F |∇u|`` (not upwind; unstable on steep fronts, for comparison)."""
    return speed * (torch.sqrt(ux**2 + uy**2 + EPS) - ROOT_EPS)


def central_advection(ux: torch.Tensor, uy: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
    """Centred ``v·∇u`` (not upwind; oscillates on steep fronts, for comparison)."""
    return vx * ux + vy * uy


def curvature(u: torch.Tensor, kernels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``κ = div(∇u / |∇u|)`` and ``|∇u|`` (0 where flat); kernels (4, 1, 3, 3) = (grad-x, grad-y, div-x, div-y).

    Without ``kernels`` the centred stencils XC, YC, computed with slices of the padded
    ``u`` (:func:`curvature_of_padded`); learned kernels run as convolutions.
    """
    if kernels is None:
        return curvature_of_padded(F.pad(u, (1, 1, 1, 1), mode="replicate"))
    grad = apply_stencils(u, kernels[0:2])
    squared = grad[:, 0:1] ** 2 + grad[:, 1:2] ** 2
    unit = grad / torch.sqrt(squared + NORMAL_EPS)
    div_normal = apply_stencils(unit[:, 0:1], kernels[2:3]) + apply_stencils(unit[:, 1:2], kernels[3:4])
    return div_normal, torch.sqrt(squared + EPS) - ROOT_EPS


def curvature_of_padded(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`curvature` with the centred stencils, from ``u`` replicate-padded by one pixel (N, 1, H+2, W+2).

    Centred gradient, unit normal (replicate-padded in turn) and centred divergence.
    """
    ux, uy = _centred_of_padded(p)
    squared = ux * ux + uy * uy
    unit = torch.sqrt(squared + NORMAL_EPS)
    nx = F.pad(ux / unit, (1, 1, 0, 0), mode="replicate")
    ny = F.pad(uy / unit, (0, 0, 1, 1), mode="replicate")
    div_normal = (0.5 * nx[..., 2:] - 0.5 * nx[..., :-2]) + (0.5 * ny[..., 2:, :] - 0.5 * ny[..., :-2, :])
    return div_normal, torch.sqrt(squared + EPS) - ROOT_EPS


def front_band(u: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` bool: pixels whose 3x3 neighbourhood contains both signs of ``u > 0``."""
    inside = (u > 0).to(u.dtype)
    grown = F.max_pool2d(inside, 3, stride=1, padding=1)
    shrunk = -F.max_pool2d(-inside, 3, stride=1, padding=1)
    return grown != shrunk
