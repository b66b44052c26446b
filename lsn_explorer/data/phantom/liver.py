"""Painting the liver on a slice: label 1 with its vessels and gallbladder, tumours as label 2.

The liver is painted last, over the organs, but carved away from those it touches without
containing (the right kidney, the IVC, the heart, the gallbladder), so each keeps its own
outline against it.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Anatomy
from .canvas import Slice
from .shapes import capsule, ellipse, occupancy, smooth_union

__all__ = ["paint_liver"]


def paint_liver(sl: Slice, p: Anatomy, t: float, z: float, inner):
    """The liver at relative height ``t`` and height ``z`` (mm); ``inner`` as :func:`~.body.paint_body`."""
    s, (cu, cv), harmonics = p.right_lobe(t)
    s_left = p.left_lobe(t)
    if s <= 0.0:
        return
    ru, rv = p.liver.radii[0] * s + 1.0, p.liver.radii[1] * s + 1.0
    (lcu, lcv), (lru, lrv) = p.liver.left.centre, p.liver.left.radii
    lru, lrv = lru * s_left + 1.0, lrv * s_left + 1.0
    u0, u1 = min(cu - 1.4 * ru, lcu - 1.4 * lru), cu + 1.4 * ru
    v0, v1 = cv - 1.4 * rv, max(cv + 1.4 * rv, lcv + 1.4 * lrv)
    got = sl.window(u0, u1, v0, v1)
    if got is None:
        return
    win, x, y = got
    d = ellipse(x, y, cu, cv, ru, rv, angle=p.liver.angle, harmonics=harmonics)
    if s_left > 0.0:
        d_left = ellipse(x, y, lcu, lcv, lru, lrv, angle=0.15, harmonics=p.liver.left.harmonics)
        d = smooth_union(d, d_left, 15.0 * p.body.scale)
    d = np.maximum(d, -inner[win])  # stays inside the muscle wall
    d = _carve_neighbours(d, x, y, p, t, z)
    d_gb = _gallbladder(x, y, p, t, (cu, cv, ru, rv))
    if d_gb is not None:
        d = np.maximum(d, -d_gb)
    sl.paint(win, d, p.hu.liver)
    inside = d < 0
    lab = sl.label[win]
    lab[inside] = 1
    occ_liver = occupancy(d, sl.dx)
    _paint_vessels(sl, win, x, y, p, z, occ_liver)
    if d_gb is not None:
        sl.paint(win, d_gb, 12.0)
    _paint_tumours(sl, win, x, y, p, z, occ_liver, inside)


def _carve_neighbours(d, x, y, p: Anatomy, t: float, z: float):
    """The liver's distance ``d`` kept off the organs it touches but does not contain: right kidney, IVC, heart."""
    right_kidney = p.kidneys[0]
    ks = right_kidney.section(z)
    if ks > 0:
        dk = ellipse(x, y, right_kidney.cu, right_kidney.cv, right_kidney.ru * ks, right_kidney.rv * ks,
                     angle=right_kidney.angle)
        d = np.maximum(d, 1.5 - dk)
    icu, icv, iru, irv, iang = p.ivc
    d = np.maximum(d, 1.0 - ellipse(x, y, icu, icv, iru, irv, angle=iang))
    heart = p.heart(t)
    if heart is not None:
        dh = ellipse(x, y, *heart, angle=0.5) + 3.0
        d = np.maximum(d, 4.0 - dh)
    return d


def _gallbladder(x, y, p: Anatomy, t: float, lobe):
    """Signed distance to the gallbladder under the right lobe ``lobe = (cu, cv, ru, rv)``, or None where there is none."""
    gb_t0, gb_t1 = p.liver.t_lo + 0.05, p.liver.t_lo + 0.35
    if not (p.viscera.gallbladder and gb_t0 < t < gb_t1):
        return None
    cu, cv, ru, rv = lobe
    sc = p.body.scale
    gs = np.sin(np.pi * (t - gb_t0) / (gb_t1 - gb_t0))
    return ellipse(x, y, cu - 0.45 * ru, cv + 0.45 * rv, 16.0 * sc * gs + 1, 12.0 * sc * gs + 1, angle=0.7)


def _paint_vessels(sl: Slice, win, x, y, p: Anatomy, z: float, occ_liver):
    """Portal and hepatic veins: brighter capsules inside the liver, labelled liver."""
    sc, h = p.body.scale, p.height
    zpk, zhi = p.liver.t_peak * h, p.liver.t_hi * h
    c0, lc = p.liver.centre, p.liver.left.centre
    icu, icv = p.ivc[:2]
    vessels = [
        ((c0[0] - 30 * sc, c0[1] - 10 * sc, zpk - 35), (c0[0] + 20 * sc, c0[1] + 5 * sc, zpk - 10), 6.0 * sc),
        ((c0[0] - 30 * sc, c0[1] - 10 * sc, zpk - 35), (lc[0] + 10 * sc, lc[1], zpk + 5), 4.5 * sc),
        ((icu, icv, zhi - 10), (c0[0] + 35 * sc, c0[1] + 20 * sc, zpk - 30), 4.5 * sc),
        ((icu, icv, zhi - 10), (c0[0] - 5 * sc, c0[1] + 45 * sc, zpk - 25), 4.0 * sc),
        ((icu, icv, zhi - 10), (lc[0] - 10 * sc, lc[1] + 5 * sc, zpk - 5), 3.5 * sc),
    ]
    for p0, p1, r in vessels:
        sl.paint(win, capsule(x, y, z, p0, p1, r), p.hu.portal, within=occ_liver)


def _paint_tumours(sl: Slice, win, x, y, p: Anatomy, z: float, occ_liver, inside):
    """Hypodense tumours (some with a darker core) inside the liver, labelled 2 where they overlap it."""
    lab = sl.label[win]
    for tb in p.tumour_blobs:
        ts = tb.section(z)
        if ts <= 0.0:
            continue
        dt = ellipse(x, y, tb.cu, tb.cv, tb.ru * ts + 0.5, tb.rv * ts + 0.5, harmonics=tb.harmonics)
        sl.paint(win, dt, p.hu.liver - tb.delta, within=occ_liver)
        if tb.core:
            sl.paint(win, dt + 0.45 * min(tb.ru, tb.rv) * ts, p.hu.liver - tb.delta - 20.0, within=occ_liver)
        lab[(dt < 0) & inside] = 2
