"""Fast, inference-only versions of :func:`~lsn_explorer.levelset.step.gac_step`.

* :func:`fused_gac_step`: the same equation, upwind and centred differences
  and zero-flux borders as the reference step, written with slices of one
  padded tensor instead of convolutions, so fewer intermediate images are
  written. Optionally compiled with ``torch.compile`` (fused loops).
* :class:`TiledStep`: the fused step on the tiles near the front only, for a
  level set clamped to ``[-w, w]`` (a narrow band made of tiles).

Both are tested against the reference to 1e-6 (the tiled one against the
dense step followed by the same clamp). They take the step's fields already
multiplied by the time step (``dt·F``, ``dt·v``, ``dt·B`` of
:class:`~lsn_explorer.levelset.speeds.RateFields`), each a number, a per-image
``(N, 1, 1, 1)`` or a per-pixel ``(N, 1, H, W)`` tensor, so a step is
``u + rate``. :func:`fused_gac_step` is differentiable in ``u`` and the fields (the
level-set networks train through it); ``evolve``'s "fused" backend runs it under
``torch.no_grad()``. The tiled step has no autograd.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .operators import EPS, NORMAL_EPS, ROOT_EPS

__all__ = ["fused_gac_step", "compiled_gac_step", "TiledStep"]


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
    return torch.compile(fused_gac_step, dynamic=True)


class TiledStep:
    """The fused step restricted to the tiles near the front (a narrow band of tiles).

    For a level set clamped to ``[-w, w]`` (``evolve(..., clamp=w)``), a pixel
    whose 5x5 neighbourhood holds one saturated value (all ``+w`` or all
    ``-w``) does not change in a step. A tile is skipped when the tile grown
    by 4 pixels is saturated; every other tile is gathered with a 2-pixel
    halo (clamped indices = replicate borders), updated with the fused formula
    and written back. The result equals the dense clamped step (tested to 1e-6).

    Parameters
    ----------
    fields : RateFields
        ``dt·F``, ``dt·v`` and ``dt·B`` as ``(N, 1, H, W)`` maps (see
        :meth:`~lsn_explorer.levelset.speeds.RateFields.maps`); H and W
        divisible by ``tile``.
    clamp : float
    tile : int
        Tile size in pixels, a multiple of 4. Default 16.
    compiled : bool
        Run the per-tile arithmetic through ``torch.compile``. Default False.
    """

    def __init__(self, fields, *, clamp, tile=16, compiled=False):
        n, _, h, w = fields.speed.shape
        self._update = _compiled_patch_update() if compiled else _patch_update
        self.shape, self.t = (n, h, w), tile
        self.w = float(clamp)
        nty, ntx = h // tile, w // tile
        dev = fields.speed.device
        # flat indices of every tile's (T+4)² footprint, clamped to the image (replicate borders)
        off = torch.arange(-2, tile + 2, device=dev)
        rows = (torch.arange(nty, device=dev)[:, None] * tile + off).clamp(0, h - 1)  # (nty, T+4)
        cols = (torch.arange(ntx, device=dev)[:, None] * tile + off).clamp(0, w - 1)
        img = torch.arange(n, device=dev)[:, None, None, None, None] * (h * w)
        self.index = (img + rows[None, :, None, :, None] * w + cols[None, None, :, None, :]).reshape(n * nty * ntx, -1)
        # the normal field is replicate-padded at the image border: ring positions outside map inwards
        r1 = torch.arange(-1, tile + 1, device=dev)
        rr = (torch.arange(nty, device=dev)[:, None] * tile + r1).clamp(0, h - 1) - (torch.arange(nty, device=dev)[:, None] * tile - 1)
        cc = (torch.arange(ntx, device=dev)[:, None] * tile + r1).clamp(0, w - 1) - (torch.arange(ntx, device=dev)[:, None] * tile - 1)
        remap = rr[:, None, :, None] * (tile + 2) + cc[None, :, None, :]  # (nty, ntx, T+2, T+2)
        self.remap = remap.reshape(1, nty * ntx, -1).expand(n, -1, -1).reshape(n * nty * ntx, -1)
        self.fields = [self._tiles(x) for x in (fields.speed, fields.vx, fields.vy, fields.curvature)]

    def _tiles(self, x):
        n, h, w = self.shape
        t = self.t
        return x.reshape(n, h // t, t, w // t, t).permute(0, 1, 3, 2, 4).reshape(-1, t, t)

    def active_tiles(self, u):
        """Flat ids of the tiles that can change in the next step.

        A tile is skipped when the tile grown by 4 pixels (which contains its
        2-pixel halo) holds one value, ``+w`` or ``-w``: there every difference
        is 0 and the step leaves ``u`` unchanged.
        """
        t = self.t
        # a tile holds one saturated value iff mean |u| = w (|u| <= w after the clamp) and |mean u| = w;
        # rounding can only make a saturated tile look active (more work, same result)
        # on 4x4 blocks; a tile is active if any block of its footprint grown by 4 px is not uniform
        uniform = (F.avg_pool2d(u.abs(), 4) == self.w) & (F.avg_pool2d(u, 4).abs() == self.w)
        active = F.max_pool2d((~uniform).to(u.dtype), t // 4 + 2, stride=t // 4, padding=1) > 0
        return active.flatten().nonzero().squeeze(1)

    def __call__(self, u):
        n, h, w = self.shape
        t = self.t
        ids = self.active_tiles(u)
        out = u.clone()
        if ids.numel() == 0:
            return out
        U = u.reshape(-1)[self.index[ids]].view(-1, t + 4, t + 4)
        speed, vx, vy, curv = (f[ids] for f in self.fields)
        new = self._update(U, self.remap[ids], speed, vx, vy, curv, self.w)
        nid, rest = ids // ((h // t) * (w // t)), ids % ((h // t) * (w // t))
        view = out.view(n, h // t, t, w // t, t)
        view[nid, rest // (w // t), :, rest % (w // t), :] = new
        return out


def _patch_update(U, remap, speed, vx, vy, curv, w: float):
    """The fused step on K gathered (T+4)² patches -> (K, T, T), clamped to [-w, w]."""
    t = U.shape[-1] - 4
    ux = 0.5 * U[:, 1:-1, 2:] - 0.5 * U[:, 1:-1, :-2]
    uy = 0.5 * U[:, 2:, 1:-1] - 0.5 * U[:, :-2, 1:-1]
    squared = ux * ux + uy * uy
    norm = torch.sqrt(squared + EPS)
    unit = torch.sqrt(squared + NORMAL_EPS)
    nx = torch.gather((ux / unit).flatten(1), 1, remap).view(-1, t + 2, t + 2)
    ny = torch.gather((uy / unit).flatten(1), 1, remap).view(-1, t + 2, t + 2)
    kappa = (0.5 * nx[:, 1:-1, 2:] - 0.5 * nx[:, 1:-1, :-2]) + (0.5 * ny[:, 2:, 1:-1] - 0.5 * ny[:, :-2, 1:-1])
    c = U[:, 2:-2, 2:-2]
    dxp = U[:, 2:-2, 3:-1] - c
    dxn = c - U[:, 2:-2, 1:-3]
    dyp = U[:, 3:-1, 2:-2] - c
    dyn = c - U[:, 1:-3, 2:-2]
    rate = _rate(dxp, dxn, dyp, dyn, kappa, norm[:, 1:-1, 1:-1], speed, vx, vy, curv)
    return (c + rate).clamp(-w, w)


@functools.lru_cache(maxsize=1)
def _compiled_patch_update():
    return torch.compile(_patch_update, dynamic=True)
