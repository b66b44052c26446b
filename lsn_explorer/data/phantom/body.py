"""Painting the body on a slice: outline, skin, fat, muscle wall, ribs, the table and the spine."""

from __future__ import annotations

import numpy as np

from .anatomy import Anatomy
from .canvas import FULL, Slice
from .shapes import ellipse

__all__ = ["paint_body", "paint_spine"]


def paint_body(sl: Slice, p: Anatomy, t: float, z: float):
    """Air, body outline, skin, fat, muscle wall, ribs and the table; returns the depth below the inner wall (mm).

    The depth is positive inside the abdominal cavity; the organs use it to stay inside the muscle wall.
    """
    bw = p.body
    a, b = bw.a * (1.0 + 0.05 * (t - 0.5)), bw.b
    x, y = sl.x, sl.y
    d_body = ellipse(x, y, 0.0, 0.0, a, b, harmonics=bw.harmonics)
    d_body = np.maximum(d_body, -0.9 * b - y)  # flat back on the table
    depth = -d_body
    theta = np.arctan2(y / b, x / a)
    fat = bw.fat_mm * bw.scale * (1.0 + 0.35 * np.sin(theta) + 0.15 * np.cos(2 * theta))
    muscle = bw.muscle_mm * bw.scale * (1.0 + 0.25 * np.cos(2 * theta))
    sl.paint(FULL, d_body, p.hu.fat)
    sl.paint(FULL, d_body + 2.0, 25.0)  # skin
    sl.paint(FULL, d_body + 2.5, p.hu.fat)
    sl.paint(FULL, fat - depth, p.hu.muscle)
    inner = depth - fat - muscle  # > 0 inside the abdominal cavity
    sl.paint(FULL, -inner, p.hu.fat + 10.0)
    _paint_ribs(sl, p, t, z, depth - fat - 0.55 * muscle)
    _paint_table(sl, b)
    return inner


def _paint_ribs(sl: Slice, p: Anatomy, t: float, z: float, rad):
    """An arc of bright dots in the muscle wall, moving with z; ``rad`` is the depth below the ribs' centre line."""
    x, y, ribs, sc = sl.x, sl.y, p.ribs, p.body.scale
    psi = np.arctan2(y, np.abs(x))  # -pi/2 posterior .. +pi/2 anterior, both sides
    psi_max = np.deg2rad(-10.0 + 85.0 * np.clip((t - 0.3) / 0.5, 0.0, 1.0))
    on = (psi > np.deg2rad(-68.0)) & (psi < psi_max) & (t > 0.22)
    if not np.any(on):
        return
    side = (x < 0).astype(np.float32)
    phase = (psi + ribs.omega * z) / ribs.dpsi + ribs.phase[0] * (1 - side) + ribs.phase[1] * side
    rho = np.sqrt(x * x + y * y)
    nearest = np.round(phase)
    arc = (phase - nearest) * ribs.dpsi * rho
    keep = ribs.keep[side.astype(np.intp), nearest.astype(np.intp) % 16]
    hw, hr = 8.0 * sc, 4.0 * sc
    q = np.sqrt((arc / hw) ** 2 + (rad / hr) ** 2)
    d_rib = np.where(on & keep, (q - 1.0) * hr, 1e3)
    sl.paint(FULL, d_rib, p.hu.cortex)
    sl.paint(FULL, d_rib + 1.5, p.hu.marrow)


def _paint_table(sl: Slice, b: float):
    """The scanner table under the back (``b``: the body's half-depth)."""
    got = sl.window(-190.0, 190.0, -0.9 * b - 30.0, -0.9 * b - 5.0)
    if got is None:
        return
    win, xw, yw = got
    plate = np.maximum(np.abs(yw - (-0.9 * b - 14.0)) - 4.0, np.abs(xw) - 185.0 + 0 * yw)
    sl.paint(win, plate, -250.0)
    sl.paint(win, np.abs(yw - (-0.9 * b - 10.0)) - 0.8 + 0 * xw, 150.0)


def paint_spine(sl: Slice, p: Anatomy, t: float, z: float):
    """Paraspinal muscles and psoas, the vertebra (body or disc, arch, canal, processes) and the aorta."""
    sc, vc, hu = p.body.scale, p.spine.v, p.hu
    for s in (-1.0, 1.0):
        sl.paint_ellipse(hu.muscle, s * 30.0 * sc, vc - 38.0 * sc, 24.0 * sc, 22.0 * sc, harmonics=p.body.harmonics)
        if t < 0.5:
            r = 20.0 * sc * np.sqrt((0.5 - t) / 0.5)
            sl.paint_ellipse(hu.muscle - 5.0, s * 38.0 * sc, vc + 6.0 * sc, r, r * 0.9)
    disc = ((z - p.spine.disc_phase) % p.spine.disc_period) < 7.0
    got = sl.paint_ellipse(hu.disc if disc else hu.cortex, 0.0, vc, 22.0 * sc, 19.0 * sc)
    if got is not None and not disc:
        win, _, _, d = got
        sl.paint(win, d + 2.0, hu.marrow)
    # posterior arch, canal, processes
    sl.paint_ellipse(hu.cortex, 0.0, vc - 28.0 * sc, 15.0 * sc, 14.0 * sc)
    sl.paint_ellipse(hu.cortex, 0.0, vc - 46.0 * sc, 5.0 * sc, 14.0 * sc)
    for s in (-1.0, 1.0):
        sl.paint_ellipse(hu.cortex, s * 24.0 * sc, vc - 26.0 * sc, 12.0 * sc, 5.0 * sc, angle=-s * 0.3)
    sl.paint_ellipse(8.0, 0.0, vc - 28.0 * sc, 9.0 * sc, 8.0 * sc)
    # aorta
    sl.paint_ellipse(hu.blood, -16.0 * sc, vc + 33.0 * sc, 11.0 * sc, 11.0 * sc)
