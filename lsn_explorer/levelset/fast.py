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

from .operators import advection_from_differences, curvature_of_padded, propagation_from_differences

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
    div_normal, norm = curvature_of_padded(p)
    prop = propagation_from_differences(dxp, dxn, dyp, dyn, speed)
    return u + (advection_from_differences(dxp, dxn, dyp, dyn, vx, vy) + prop + curv * div_normal * norm)


@functools.lru_cache(maxsize=1)
def compiled_gac_step():
    """``torch.compile(fused_gac_step)`` with dynamic shapes, built once (needs a C++ compiler)."""
    with warnings.catch_warnings():
        # torch's own inductor imports torch.utils.mkldnn, which still uses torch.jit.script_method
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script_method` is deprecated", category=DeprecationWarning)
        return torch.compile(fused_gac_step, dynamic=True)
