"""The fused step: :func:`~lsn_explorer.levelset.step.gac_step` from slices of one padded tensor.

:func:`fused_gac_step` has the same equation, upwind and centred differences and
zero-flux borders as the reference step, written with slices of one padded tensor
instead of convolutions, so fewer intermediate images are written; optionally
compiled with ``torch.compile`` (fused loops). It is tested against the reference to
1e-6, takes the step's fields already multiplied by the time step (``dt·F``, ``dt·v``,
``dt·B`` of :class:`~lsn_explorer.levelset.speeds.RateFields`), each a number, a
per-image ``(N, 1, 1, 1)`` or a per-pixel ``(N, 1, H, W)`` tensor, so a step is
``u + rate``, and is differentiable in ``u`` and the fields (the level-set networks
train through it); ``evolve``'s "fused" backend runs it under ``torch.no_grad()``.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F

from .operators import EPS, NORMAL_EPS, ROOT_EPS

__all__ = ["fused_gac_step", "compiled_gac_step"]


def fused_gac_step(u, speed, vx, vy, curv):
    """One upwind GAC step of u (N, 1, H, W); the fields are ``dt·F, dt·vx, dt·vy, dt·B`` (broadcastable).

    The step of :func:`~lsn_explorer.levelset.step.gac_step` (the same numbers to 1e-6) with
    ``scheme="upwind"`` and the default curvature stencils (replicate borders),
    with the fields already multiplied by the time step (see
    :meth:`~lsn_explorer.levelset.speeds.RateFields.scaled`). Differentiable in
    ``u`` and the fields.

    Parameters
    ----------
    u : (N, 1, H, W) Tensor
        Level set, positive inside.
    speed : 0-d, (N, 1, 1, 1) or (N, 1, H, W) Tensor
        ``dt·F`` with ``F = α g``, the propagation speed: one value, one per image
        or one per pixel (a tensor, not a Python number).
    vx, vy : 0-d, (N, 1, 1, 1) or (N, 1, H, W) Tensor
        ``dt·v`` with ``v = γ ∇g``, the advection velocity (tensors too).
    curv : 0-d, (N, 1, 1, 1) or (N, 1, H, W) Tensor
        ``dt·B`` with ``B = β g``, the curvature weight.

    Returns
    -------
    u_next : (N, 1, H, W) Tensor
        ``u`` plus one step's change, not clamped.
    """
    p = F.pad(u, (1, 1, 1, 1), mode="replicate")
    dxp = p[..., 1:-1, 2:] - u
    dxn = u - p[..., 1:-1, :-2]
    dyp = p[..., 2:, 1:-1] - u
    dyn = u - p[..., :-2, 1:-1]
    # curvature: centred gradient, unit normal, centred divergence (replicate-padded)
    ux = 0.5 * p[..., 1:-1, 2:] - 0.5 * p[..., 1:-1, :-2]
    uy = 0.5 * p[..., 2:, 1:-1] - 0.5 * p[..., :-2, 1:-1]
    squared = ux * ux + uy * uy
    norm = torch.sqrt(squared + EPS)
    unit = torch.sqrt(squared + NORMAL_EPS)
    nx = F.pad(ux / unit, (1, 1, 0, 0), mode="replicate")
    ny = F.pad(uy / unit, (0, 0, 1, 1), mode="replicate")
    kappa = (0.5 * nx[..., 2:] - 0.5 * nx[..., :-2]) + (0.5 * ny[..., 2:, :] - 0.5 * ny[..., :-2, :])
    return u + _rate(dxp, dxn, dyp, dyn, kappa, norm, speed, vx, vy, curv)


def _rate(dxp, dxn, dyp, dyn, kappa, norm, speed, vx, vy, curv):
    """``u_t`` from one-sided differences, curvature and ``|∇u|``: upwind advection and propagation."""
    grow = torch.sqrt(dxp.clamp_min(0) ** 2 + dxn.clamp_max(0) ** 2 + dyp.clamp_min(0) ** 2 + dyn.clamp_max(0) ** 2 + EPS) - ROOT_EPS
    shrink = torch.sqrt(dxp.clamp_max(0) ** 2 + dxn.clamp_min(0) ** 2 + dyp.clamp_max(0) ** 2 + dyn.clamp_min(0) ** 2 + EPS) - ROOT_EPS
    prop = speed.clamp_min(0) * grow + speed.clamp_max(0) * shrink
    adv = vx.clamp_min(0) * dxp + vx.clamp_max(0) * dxn + vy.clamp_min(0) * dyp + vy.clamp_max(0) * dyn
    return adv + prop + curv * kappa * (norm - ROOT_EPS)


@functools.lru_cache(maxsize=1)
def compiled_gac_step():
    """``torch.compile(fused_gac_step)`` with dynamic shapes, built once (needs a C++ compiler)."""
    with warnings.catch_warnings():
        # torch's own inductor imports torch.utils.mkldnn, which still uses torch.jit.script_method
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script_method` is deprecated", category=DeprecationWarning)
        return torch.compile(fused_gac_step, dynamic=True)
