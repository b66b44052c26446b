"""The numba loops of :class:`~lsn_explorer.levelset.sparse.SparseField` (imported only when it runs).

Per image, the narrow band is a list of pixel positions: every pixel with ``|u| < width``.
One step of an image:

1. the *front layer*, the band's pixels with ``|u| < 1`` or a 4-neighbour across the
   front, takes one upwind step of the GAC equation (:func:`~lsn_explorer.levelset.band_kernels._pixel`, Jacobi: all from the
   old values);
2. every other band pixel takes its distance to the front from its 4 neighbours on its
   side (the upwind Eikonal update of fast sweeping, in list order), so ``u`` stays a
   signed distance clipped at ``±width``;
3. the list is rebuilt: pixels that reached ``±width`` leave it, clipped; saturated
   4-neighbours that the front now comes within ``width`` of join it.

Work per step is proportional to the band's length, never to the image's area. Several
steps run in one call, each image stopping on its own once the RMS change of its front
layer falls below a threshold.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .band_kernels import _normal, _pixel
from .operators import NORMAL_EPS

__all__ = ["sparse_steps", "band_of"]

#: Row and column offsets of the 4 neighbours.
_DR, _DC = np.array([0, 0, -1, 1]), np.array([-1, 1, 0, 0])

_jit = numba.njit(cache=True, fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}, inline="always")


@_jit
def _value(u, speed, vx, vy, curv, n, r, c, half, zero, eps):
    """``u + dt·u_t`` at pixel (r, c) of image n (replicate borders, as the dense step)."""
    h, w = u.shape[1], u.shape[2]
    ce, cw, rs, rn = min(c + 1, w - 1), max(c - 1, 0), min(r + 1, h - 1), max(r - 1, 0)
    nxe, _ = _normal(u, n, r, ce, half, eps)
    nxw, _ = _normal(u, n, r, cw, half, eps)
    _, nys = _normal(u, n, rs, c, half, eps)
    _, nyn = _normal(u, n, rn, c, half, eps)
    return _pixel(u[n, r, c], u[n, r, ce], u[n, r, cw], u[n, rs, c], u[n, rn, c], nxe, nxw, nys, nyn,
                  speed[n, r, c], vx[n, r, c], vy[n, r, c], curv[n, r, c], half, zero)


@_jit
def _side_min(u, n, r, c, sign, h, w):
    """Smallest ``sign·u`` of the row neighbours and of the column neighbours of (r, c) (inf where none)."""
    a, b = math.inf, math.inf
    if c > 0:
        a = sign * u[n, r, c - 1]
    if c < w - 1:
        a = min(a, sign * u[n, r, c + 1])
    if r > 0:
        b = sign * u[n, r - 1, c]
    if r < h - 1:
        b = min(b, sign * u[n, r + 1, c])
    return a, b


@_jit
def _distance(u, n, r, c, sign, width, h, w):
    """``sign ×`` the Eikonal distance of (r, c) from its 4 neighbours on the side ``sign``, at most ``width``.

    Neighbours on the other side (``sign·u <= 0``) count as distance 0: the front lies
    between them and (r, c), which then is 1 from it.
    """
    a, b = _side_min(u, n, r, c, sign, h, w)
    a, b = max(a, 0.0), max(b, 0.0)
    if abs(a - b) >= 1.0:
        d = min(a, b) + 1.0
    else:
        d = 0.5 * (a + b + math.sqrt(2.0 - (a - b) * (a - b)))
    return sign * min(d, width)


@numba.njit(cache=True, parallel=True, nogil=True)
def band_of(u, width, rows, cols, counts):
    """Fill ``rows``, ``cols`` (N, H·W) and ``counts`` (N,) with each image's band: pixels with ``|u| < width``."""
    n_img, h, w = u.shape
    for n in numba.prange(n_img):
        k = 0
        for r in range(h):
            for c in range(w):
                if abs(u[n, r, c]) < width:
                    rows[n, k], cols[n, k] = r, c
                    k += 1
        counts[n] = k


@_jit
def _step(u, speed, vx, vy, curv, n, rows, cols, counts, next_rows, next_cols, stamp, step, fresh, front, width):
    """One step of image n (see the module docstring); the RMS change of its front layer.

    ``fresh`` and ``front`` are scratch of one image's list length: new values, and
    which pixels are on the front layer.
    """
    h, w = u.shape[1], u.shape[2]
    half, zero, eps = u.dtype.type(0.5), u.dtype.type(0.0), u.dtype.type(NORMAL_EPS)
    listed = counts[n]
    for k in range(listed):  # 1. the front layer, from the old values
        r, c = rows[n, k], cols[n, k]
        front[k] = abs(u[n, r, c]) < 1.0 or _across(u, n, r, c, h, w)
        if front[k]:
            fresh[k] = _value(u, speed, vx, vy, curv, n, r, c, half, zero, eps)
    sq, near = 0.0, 0
    for k in range(listed):
        if front[k]:
            r, c = rows[n, k], cols[n, k]
            sq += (fresh[k] - u[n, r, c]) ** 2
            near += 1
            u[n, r, c] = fresh[k]
    for k in range(listed):  # 2. the other band pixels: their distance to the front
        if not front[k]:
            r, c = rows[n, k], cols[n, k]
            u[n, r, c] = _distance(u, n, r, c, 1.0 if u[n, r, c] > 0 else -1.0, width, h, w)
    size = 0
    for k in range(listed):  # 3. the next band
        r, c = np.int64(rows[n, k]), np.int64(cols[n, k])
        if abs(u[n, r, c]) >= width:
            continue
        size = _admit(n, r, c, next_rows, next_cols, stamp, step, size, w)
        for d in range(4):
            rr, cc = r + _DR[d], c + _DC[d]
            if 0 <= rr < h and 0 <= cc < w and abs(u[n, rr, cc]) >= width and stamp[n, rr * w + cc] != step:
                v = _distance(u, n, rr, cc, 1.0 if u[n, rr, cc] > 0 else -1.0, width, h, w)
                u[n, rr, cc] = v
                if abs(v) < width:
                    size = _admit(n, rr, cc, next_rows, next_cols, stamp, step, size, w)
    rows[n, :size], cols[n, :size] = next_rows[n, :size], next_cols[n, :size]
    counts[n] = size
    return math.sqrt(sq / near) if near > 0 else 0.0


@_jit
def _across(u, n, r, c, h, w):
    """Whether one of (r, c)'s 4 neighbours lies across the front from it."""
    inside = u[n, r, c] > 0
    return ((c > 0 and (u[n, r, c - 1] > 0) != inside) or (c < w - 1 and (u[n, r, c + 1] > 0) != inside)
            or (r > 0 and (u[n, r - 1, c] > 0) != inside) or (r < h - 1 and (u[n, r + 1, c] > 0) != inside))


@_jit
def _admit(n, r, c, next_rows, next_cols, stamp, step, size, w):
    """Put (r, c) on image n's next list unless it is there already; the list's new length."""
    if stamp[n, r * w + c] == step:
        return size
    stamp[n, r * w + c] = step
    next_rows[n, size], next_cols[n, size] = r, c
    return size + 1


@numba.njit(cache=True, parallel=True, nogil=True)
def sparse_steps(u, speed, vx, vy, curv, rows, cols, counts, next_rows, next_cols, stamp, first_step, num_steps,
                 width, max_rms, active, steps_run, rms):
    """Up to ``num_steps`` steps of every ``active`` image of ``u`` (N, H, W), in place.

    ``speed, vx, vy, curv`` are the (N, H, W) fields times dt; ``rows``, ``cols``,
    ``counts`` each image's band (:func:`band_of`), kept up to date; ``next_rows``,
    ``next_cols`` and ``stamp`` (N, H·W) scratch, the stamps numbered from
    ``first_step`` (which must grow from call to call by ``num_steps``). An image whose
    front layer changed by an RMS below ``max_rms`` in a step (``max_rms < 0``: never)
    stops there: ``active[n]`` becomes False. ``steps_run[n]`` and ``rms[n]`` receive
    the steps it took in this call and the RMS change of its last one.
    """
    n_img = u.shape[0]
    for n in numba.prange(n_img):
        fresh, front = np.empty(rows.shape[1], u.dtype), np.empty(rows.shape[1], np.bool_)
        taken = 0
        for s in range(num_steps):
            if not active[n]:
                break
            rms[n] = _step(u, speed, vx, vy, curv, n, rows, cols, counts, next_rows, next_cols, stamp,
                           first_step + s, fresh, front, width)
            taken += 1
            if rms[n] < max_rms:
                active[n] = False
        steps_run[n] = taken
