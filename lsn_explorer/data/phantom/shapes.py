"""Shape primitives of the phantom: approximate signed distances in mm, negative inside.

Every shape is evaluated on a world grid ``(x, y)`` (mm) at one axial height ``z``; a painter
turns the distance into an anti-aliased occupancy with :func:`occupancy`.

Symbols: ``cu, cv`` a centre and ``ru, rv`` radii in the axial plane (mm), ``angle`` a rotation
(radians), ``harmonics`` the ``(amplitude, phase)`` of radial harmonics k = 2, 3, ... that make an
outline irregular.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Harmonics", "capsule", "ellipse", "lerp_harmonics", "occupancy", "smooth_union"]

#: ``(amplitude, phase)`` of the radial harmonics k = 2, 3, ... of an outline.
Harmonics = tuple[tuple[float, float], ...]


def occupancy(d, dx):
    """Anti-aliased occupancy in [0, 1] of a shape from its signed distance ``d`` (mm) on a grid of pitch ``dx``."""
    return np.clip(0.5 - d / dx, 0.0, 1.0)


def ellipse(x, y, cu, cv, ru, rv, *, angle=0.0, harmonics=None):
    """Signed distance (mm, first order) to a rotated ellipse whose radius carries ``harmonics``."""
    px = x - cu
    py = y - cv
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        px, py = c * px + s * py, -s * px + c * py
    xn = px / ru
    yn = py / rv
    rho = np.sqrt(xn * xn + yn * yn)
    r = 1.0
    if harmonics is not None:
        th = np.arctan2(yn, xn)
        for k, (amp, phase) in enumerate(harmonics, start=2):
            r = r + amp * np.cos(k * th + phase)
    grad = np.sqrt((xn / ru) ** 2 + (yn / rv) ** 2) / np.maximum(rho, 1e-6)
    return (rho - r) / np.maximum(grad, 1e-6)


def smooth_union(a, b, k):
    """Smooth union of two signed distances (blend width ``k`` mm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def capsule(x, y, z, p0, p1, radius):
    """Signed distance (mm) to a 3-D segment ``p0``-``p1`` of given radius, on the plane at height ``z``."""
    p0 = np.asarray(p0, float)
    d = np.asarray(p1, float) - p0
    px, py, pz = x - p0[0], y - p0[1], z - p0[2]
    s = np.clip((px * d[0] + py * d[1] + pz * d[2]) / float(d @ d), 0.0, 1.0)
    return np.sqrt((px - s * d[0]) ** 2 + (py - s * d[1]) ** 2 + (pz - s * d[2]) ** 2) - radius


def lerp_harmonics(h0: Harmonics, h1: Harmonics, w: float) -> list[tuple[float, float]]:
    """Harmonics a fraction ``w`` of the way from ``h0`` to ``h1`` (amplitudes and phases alike)."""
    return [(a0 + (a1 - a0) * w, p0 + (p1 - p0) * w) for (a0, p0), (a1, p1) in zip(h0, h1)]
