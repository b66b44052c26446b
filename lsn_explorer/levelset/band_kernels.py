"""The numba loops of :class:`~lsn_explorer.levelset.band.BandStep` (imported only when it runs).

One routine steps a rectangle of an image: a tile of the band, or the whole image when
every tile is active (the first step, or a level set that moves everywhere), where its
rows run the full width and vectorise best. Every value is computed in the level set's
own dtype (float32 stays float32, as in the torch backends). The pixel formula is the one
of :func:`~lsn_explorer.levelset.fast.fused_gac_step`, written for one pixel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .operators import NORMAL_EPS

__all__ = ["band_step"]

_jit = numba.njit(cache=True, fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}, inline="always")


@_jit
def _pixel(uc, ue, uw, us, un, nxe, nxw, nys, nyn, f, a, b, k, half, zero):
    """``u + dt·u_t`` at one pixel from its 4 neighbours (east, west, south, north) and neighbours' normals."""
    dxp, dxn, dyp, dyn = ue - uc, uc - uw, us - uc, uc - un
    ux, uy = half * ue - half * uw, half * us - half * un
    norm = math.sqrt(ux * ux + uy * uy)
    div_normal = (half * nxe - half * nxw) + (half * nys - half * nyn)
    grow = math.sqrt(max(dxp, zero) ** 2 + min(dxn, zero) ** 2 + max(dyp, zero) ** 2 + min(dyn, zero) ** 2)
    shrink = math.sqrt(min(dxp, zero) ** 2 + max(dxn, zero) ** 2 + min(dyp, zero) ** 2 + max(dyn, zero) ** 2)
    prop = max(f, zero) * grow + min(f, zero) * shrink
    adv = (max(a, zero) * dxp + min(a, zero) * dxn) + (max(b, zero) * dyp + min(b, zero) * dyn)
    return uc + (adv + prop + k * div_normal * norm)


@_jit
def _normal(u, n, r, c, half, eps):
    """The unit normal ``∇u / |∇u|`` at a pixel (centred differences, replicate borders)."""
    h, w = u.shape[1], u.shape[2]
    ux = half * u[n, r, min(c + 1, w - 1)] - half * u[n, r, max(c - 1, 0)]
    uy = half * u[n, min(r + 1, h - 1), c] - half * u[n, max(r - 1, 0), c]
    unit = math.sqrt(ux * ux + uy * uy + eps)
    return ux / unit, uy / unit


@_jit
def _normals(u, n, r0, r1, c0, c1, nx, ny, half, eps):
    """Unit normals at rows r0-1..r1 and columns c0-1..c1, positions clamped (the normal field is replicate-padded).

    ``nx[i, j]`` holds the normal at row ``r0 - 1 + i``, column ``c0 - 1 + j``.
    """
    h, w = u.shape[1], u.shape[2]
    lo, hi = max(c0 - 1, 1), min(c1 + 1, w - 1)  # columns whose neighbours need no clamping
    for i in range(r1 - r0 + 2):
        r = min(max(r0 - 1 + i, 0), h - 1)
        rm, rp = max(r - 1, 0), min(r + 1, h - 1)
        for c in range(c0 - 1, lo):
            nx[i, c - c0 + 1], ny[i, c - c0 + 1] = _normal(u, n, r, min(max(c, 0), w - 1), half, eps)
        for c in range(max(hi, lo), c1 + 1):
            nx[i, c - c0 + 1], ny[i, c - c0 + 1] = _normal(u, n, r, min(max(c, 0), w - 1), half, eps)
        for c in range(lo, hi):  # the vectorised span
            ux = half * u[n, r, c + 1] - half * u[n, r, c - 1]
            uy = half * u[n, rp, c] - half * u[n, rm, c]
            unit = math.sqrt(ux * ux + uy * uy + eps)
            nx[i, c - c0 + 1] = ux / unit
            ny[i, c - c0 + 1] = uy / unit


@_jit
def _step_pixel(u, out, fields, n, r, c, c0, i, nx, ny, clamp, half, zero):
    """The step at one pixel of a rectangle starting at column c0 (clamped neighbours: any column)."""
    speed, vx, vy, curv = fields
    h, w = u.shape[1], u.shape[2]
    j = c - c0 + 1
    new = _pixel(u[n, r, c], u[n, r, min(c + 1, w - 1)], u[n, r, max(c - 1, 0)], u[n, min(r + 1, h - 1), c],
                 u[n, max(r - 1, 0), c], nx[i, j + 1], nx[i, j - 1], ny[i + 1, j], ny[i - 1, j],
                 speed[n, r, c], vx[n, r, c], vy[n, r, c], curv[n, r, c], half, zero)
    out[n, r, c] = min(max(new, -clamp), clamp)


@_jit
def _update(u, out, fields, n, r0, r1, c0, c1, nx, ny, clamp, half, zero):
    """The step on rows r0..r1-1, columns c0..c1-1 into ``out`` (normals from :func:`_normals`)."""
    speed, vx, vy, curv = fields
    h, w = u.shape[1], u.shape[2]
    lo, hi = max(c0, 1), min(c1, w - 1)
    for r in range(r0, r1):
        rm, rp = max(r - 1, 0), min(r + 1, h - 1)
        i = r - r0 + 1
        if c0 == 0:  # the image's first and last columns
            _step_pixel(u, out, fields, n, r, 0, c0, i, nx, ny, clamp, half, zero)
        if c1 == w and w > 1:
            _step_pixel(u, out, fields, n, r, w - 1, c0, i, nx, ny, clamp, half, zero)
        for c in range(lo, hi):  # the vectorised span
            j = c - c0 + 1
            new = _pixel(u[n, r, c], u[n, r, c + 1], u[n, r, c - 1], u[n, rp, c], u[n, rm, c],
                         nx[i, j + 1], nx[i, j - 1], ny[i + 1, j], ny[i - 1, j],
                         speed[n, r, c], vx[n, r, c], vy[n, r, c], curv[n, r, c], half, zero)
            out[n, r, c] = min(max(new, -clamp), clamp)


@_jit
def _moved(u, out, n, r0, r1, c0, c1):
    """Whether any value of the rectangle differs between ``u`` and ``out``."""
    moved = False
    for r in range(r0, r1):
        for c in range(c0, c1):
            moved |= out[n, r, c] != u[n, r, c]
    return moved


@_jit
def _front_change(u, out, n, r0, r1, c0, c1):
    """(pixels of the rectangle on the front band, their summed squared change, everyone's)."""
    h, w = u.shape[1], u.shape[2]
    count, sq_front, sq_all = 0, 0.0, 0.0
    for r in range(r0, r1):
        for c in range(c0, c1):
            d2 = (out[n, r, c] - u[n, r, c]) ** 2
            sq_all += d2
            inside = u[n, r, c] > 0
            edge = False
            for rr in range(max(r - 1, 0), min(r + 2, h)):
                for cc in range(max(c - 1, 0), min(c + 2, w)):
                    edge |= (u[n, rr, cc] > 0) != inside
            if edge:
                count += 1
                sq_front += d2
    return count, sq_front, sq_all


@_jit
def _keep(u, out, active, n, tile):
    """Copy the image's active tiles (the only ones where the buffers may differ) into ``out``."""
    for ty in range(active.shape[1]):
        for tx in range(active.shape[2]):
            if active[n, ty, tx]:
                r0, c0 = ty * tile, tx * tile
                out[n, r0 : r0 + tile, c0 : c0 + tile] = u[n, r0 : r0 + tile, c0 : c0 + tile]


@_jit
def _spread(changed, active, n):
    """Next step's active tiles: those that changed and their 8 neighbours."""
    nty, ntx = active.shape[1], active.shape[2]
    for ty in range(nty):
        for tx in range(ntx):
            grow = False
            for dy in range(max(ty - 1, 0), min(ty + 2, nty)):
                for dx in range(max(tx - 1, 0), min(tx + 2, ntx)):
                    grow |= changed[n, dy, dx]
            active[n, ty, tx] = grow


@numba.njit(cache=True, parallel=True, nogil=True)
def band_step(u, out, speed, vx, vy, curv, active, changed, front, skip, clamp, tile, want_rms, rms):
    """One step of every image of ``u`` (N, H, W) not in ``skip``, on its active tiles, into ``out``.

    ``speed, vx, vy, curv`` are the (N, H, W) fields times dt; ``active``, ``changed``
    and ``front`` are (N, tiles down, tiles across): the tiles to update (replaced by the
    next step's), those whose values changed, and each tile's count of front-band pixels.
    With ``want_rms``, ``rms[n]`` receives the RMS change on image n's front band.
    """
    n_img, h, w = u.shape
    nty, ntx = active.shape[1], active.shape[2]
    fields = (speed, vx, vy, curv)
    for n in numba.prange(n_img):
        if skip[n]:
            _keep(u, out, active, n, tile)
            continue
        half, zero, eps = u.dtype.type(0.5), u.dtype.type(0.0), u.dtype.type(NORMAL_EPS)
        dense = active[n].all()
        if dense:  # one rectangle: the whole image
            nx, ny = np.empty((h + 2, w + 2), u.dtype), np.empty((h + 2, w + 2), u.dtype)
            _normals(u, n, 0, h, 0, w, nx, ny, half, eps)
            _update(u, out, fields, n, 0, h, 0, w, nx, ny, clamp, half, zero)
        else:
            nx, ny = np.empty((tile + 2, tile + 2), u.dtype), np.empty((tile + 2, tile + 2), u.dtype)
        sq_front, sq_all = 0.0, 0.0
        for ty in range(nty):
            for tx in range(ntx):
                changed[n, ty, tx] = False
                if not active[n, ty, tx]:
                    continue
                r0, c0 = ty * tile, tx * tile
                r1, c1 = min(r0 + tile, h), min(c0 + tile, w)
                if not dense:
                    _normals(u, n, r0, r1, c0, c1, nx, ny, half, eps)
                    _update(u, out, fields, n, r0, r1, c0, c1, nx, ny, clamp, half, zero)
                changed[n, ty, tx] = _moved(u, out, n, r0, r1, c0, c1)
                if want_rms:
                    count, front_sq, all_sq = _front_change(u, out, n, r0, r1, c0, c1)
                    front[n, ty, tx] = count
                    sq_front += front_sq
                    sq_all += all_sq
        _spread(changed, active, n)
        if want_rms:
            total = front[n].sum()
            rms[n] = math.sqrt(sq_front / total) if total > 0 else math.sqrt(sq_all / (h * w))
