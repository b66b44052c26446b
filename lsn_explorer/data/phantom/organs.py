"""Painting the organs around the liver on a slice: lungs, kidneys, bowel, pancreas, stomach, spleen, heart, IVC.

They are painted in that order, before the liver, so the liver covers what it overlaps. Several
have nearly the liver's intensity where they touch it, which is what makes the phantom hard.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Anatomy
from .canvas import FULL, Slice
from .shapes import capsule, ellipse, occupancy

__all__ = ["paint_organs"]


def paint_organs(sl: Slice, p: Anatomy, t: float, z: float, inner):
    """Every organ but the liver, at relative height ``t`` and height ``z`` (mm); ``inner`` as :func:`~.body.paint_body`."""
    _paint_lungs(sl, p, t, inner)
    _paint_kidneys(sl, p, z)
    _paint_bowel(sl, p, z)
    _paint_pancreas(sl, p, z)
    _paint_stomach(sl, p, t)
    _paint_spleen(sl, p, t, inner)
    _paint_heart(sl, p, t)
    cu, cv, ru, rv, ang = p.ivc
    sl.paint_ellipse(p.hu.portal - 10.0, cu, cv, ru, rv, angle=ang)


def _paint_lungs(sl: Slice, p: Anatomy, t: float, inner):
    """Lung bases, posterior and lateral, above ``lung_t`` below the dome."""
    sc = p.body.scale
    lt = p.liver.t_hi - p.viscera.lung_t
    if t <= lt:
        return
    s = np.sqrt((t - lt) / (1.0 - lt))
    for sgn in (-1.0, 1.0):
        d = ellipse(sl.x, sl.y, sgn * 80.0 * sc, -20.0 * sc, 55.0 * sc * s + 1, 65.0 * sc * s + 1,
                    harmonics=p.liver.harmonics_inferior[:2])
        sl.paint(FULL, np.maximum(d, -inner), p.hu.lung)


def _paint_kidneys(sl: Slice, p: Anatomy, z: float):
    """Both kidneys, each with its fatty hilum."""
    sc = p.body.scale
    for k in p.kidneys:
        s = k.section(z)
        if s > 0:
            sl.paint_ellipse(p.hu.kidney, k.cu, k.cv, k.ru * s, k.rv * s, angle=k.angle)
            sl.paint_ellipse(p.hu.fat + 40.0, k.cu - np.sign(k.cu) * 10.0 * sc, k.cv + 4.0 * sc,
                             k.ru * s * 0.35, k.rv * s * 0.45, angle=k.angle)


def _paint_bowel(sl: Slice, p: Anatomy, z: float):
    """Bowel loops: an enhancing wall around air or fluid."""
    for bw in p.bowel:
        s = bw.section(z)
        if s > 0:
            got = sl.paint_ellipse(p.hu.bowel, bw.cu, bw.cv, bw.ru * s, bw.rv * s, angle=bw.angle)
            if got is not None:
                win, _, _, d = got
                sl.paint(win, d + 3.0, -900.0 if bw.air else bw.lumen)


def _paint_pancreas(sl: Slice, p: Anatomy, z: float):
    """A lobulated band from the head (right) to the tail near the spleen."""
    sc, vc = p.body.scale, p.spine.v
    zc = p.viscera.pancreas_t * p.height
    if abs(z - zc) >= 25.0:
        return
    got = sl.window(-110.0 * sc, 50.0 * sc, vc, vc + 90.0 * sc)
    if got is None:
        return
    win, xw, yw = got
    head = (28.0 * sc, vc + 52.0 * sc, zc - 12.0)
    neck = (-5.0 * sc, vc + 58.0 * sc, zc - 2.0)
    tail = (-80.0 * sc, vc + 32.0 * sc, zc + 12.0)
    d = np.minimum(capsule(xw, yw, z, head, neck, 13.0 * sc), capsule(xw, yw, z, neck, tail, 9.0 * sc))
    d = d + 2.0 * np.sin(0.35 * xw) * np.cos(0.3 * yw)  # lobulated outline
    sl.paint(win, d, p.hu.pancreas)


def _paint_stomach(sl: Slice, p: Anatomy, t: float):
    """Enhancing wall, fluid and an air cap anteriorly."""
    sc = p.body.scale
    st0, st1 = 0.45, min(0.9, p.liver.t_hi + 0.02)
    if not st0 < t < st1:
        return
    s = np.sin(np.pi * (t - st0) / (st1 - st0)) ** 0.5
    cu, cv = -48.0 * sc, 28.0 * sc
    got = sl.paint_ellipse(p.hu.gastric, cu, cv, 46.0 * sc * s, 36.0 * sc * s, angle=0.3, harmonics=p.liver.left.harmonics)
    if got is not None:
        win, _, yw, d = got
        lumen = np.where(p.viscera.stomach_air & (yw > cv + p.viscera.air_fluid_level * 36.0 * sc * s), -950.0, 15.0)
        sub = sl.hu[win]
        a = occupancy(d + 5.0, sl.dx)
        sub += a * (lumen - sub)


def _paint_spleen(sl: Slice, p: Anatomy, t: float, inner):
    """The spleen, posterior-lateral left, inside the muscle wall."""
    sc = p.body.scale
    sp0, sp1 = 0.4, min(0.88, p.liver.t_hi)
    if not sp0 < t < sp1:
        return
    s = np.sin(np.pi * (t - sp0) / (sp1 - sp0)) ** 0.6
    got = sl.window(-160.0 * sc, -30.0 * sc, -110.0 * sc, 50.0 * sc)
    if got is not None:
        win, xw, yw = got
        d = ellipse(xw, yw, -88.0 * sc, -30.0 * sc, 30.0 * sc * s, 58.0 * sc * s, angle=-0.6,
                    harmonics=p.liver.left.harmonics)
        sl.paint(win, np.maximum(d, -inner[win]), p.hu.spleen)


def _paint_heart(sl: Slice, p: Anatomy, t: float):
    """The heart above the dome, anterior and to the left, behind a thin diaphragm: myocardium around the blood pool."""
    heart = p.heart(t)
    if heart is None:
        return
    cu, cv, ru, rv = heart
    sl.paint_ellipse(p.hu.muscle, cu, cv, ru + 3.0, rv + 3.0, angle=0.5)
    got = sl.paint_ellipse(p.hu.myocardium, cu, cv, ru, rv, angle=0.5)
    if got is not None:
        win, _, _, d = got
        sl.paint(win, d + 10.0 * p.body.scale, p.hu.blood)
