"""The canvas one axial slice of the phantom is painted on: HU, label and the world grid.

Painting blends a value into the HU image by the anti-aliased occupancy of a shape, so later
shapes cover earlier ones and every edge gets a partial-volume mix.
"""

from __future__ import annotations

import numpy as np

from .shapes import ellipse, occupancy

__all__ = ["FULL", "Slice"]

#: The whole slice, as a window.
FULL = (slice(None), slice(None))


class Slice:
    """One axial slice being painted.

    Parameters
    ----------
    xs : (X,) float32 ndarray
        World x (mm) of each column ``i``, decreasing: patient right to left.
    ys : (Y,) float32 ndarray
        World y (mm) of each row ``j``, decreasing: anterior to posterior.
    dx : float
        Pixel pitch (mm).

    Attributes
    ----------
    hu : (X, Y) float32 ndarray
        Intensities painted so far, air (-1000 HU) to start with.
    label : (X, Y) uint8 ndarray
        0 background, 1 liver, 2 tumour.
    x, y : (X, 1) and (1, Y) float32 ndarray
        The world grid, broadcastable to the slice.
    """

    def __init__(self, xs, ys, dx):
        self.xs = xs
        self.ys = ys
        self.dx = dx
        self.hu = np.full((xs.size, ys.size), -1000.0, np.float32)
        self.label = np.zeros((xs.size, ys.size), np.uint8)
        self.x = xs[:, None]
        self.y = ys[None, :]

    def window(self, u0, u1, v0, v1):
        """Index window and sub-grid ``(win, x, y)`` covering the world box [u0, u1] x [v0, v1] (mm), or None."""
        x0, y0 = self.xs[0], self.ys[0]
        i0 = max(int(np.floor((x0 - u1) / self.dx)) - 1, 0)
        i1 = min(int(np.ceil((x0 - u0) / self.dx)) + 2, self.xs.size)
        j0 = max(int(np.floor((y0 - v1) / self.dx)) - 1, 0)
        j1 = min(int(np.ceil((y0 - v0) / self.dx)) + 2, self.ys.size)
        if i0 >= i1 or j0 >= j1:
            return None
        win = (slice(i0, i1), slice(j0, j1))
        return win, self.xs[i0:i1, None], self.ys[None, j0:j1]

    def paint(self, win, d, value, *, within=None):
        """Blend ``value`` into the window where the distance ``d`` is negative (weighted by ``within``)."""
        a = occupancy(d, self.dx)
        if within is not None:
            a = a * within
        sub = self.hu[win]
        sub += a * (value - sub)

    def paint_ellipse(self, value, cu, cv, ru, rv, **kw):
        """Paint an ellipse (see :func:`~.shapes.ellipse`) and return ``(win, x, y, d)``, or None off the slice."""
        r = max(ru, rv) * 1.35 + 2 * self.dx
        got = self.window(cu - r, cu + r, cv - r, cv + r)
        if got is None:
            return None
        win, x, y = got
        d = ellipse(x, y, cu, cv, ru, rv, **kw)
        self.paint(win, d, value)
        return win, x, y, d
