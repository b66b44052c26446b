"""Drawing one volume's :class:`~.anatomy.Anatomy` from its random generator.

The order of the draws is part of the data set: the same generator state gives the same volume
only while every parameter is drawn in the same order with the same calls. The functions below
draw top to bottom in that order; a new parameter goes after all the others (and the phantom's
``FORMAT`` is bumped).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .anatomy import Anatomy, BodyWall, LeftLobe, Liver, Ribs, Spine, Tissues, Viscera
from .ellipsoids import BowelLoop, Tumour, TumourBlob
from .shapes import Harmonics

__all__ = ["draw_anatomy"]


def draw_anatomy(rng: np.random.Generator, height_mm: float) -> Anatomy:
    """Draw every parameter of a volume ``height_mm`` tall (sizes in mm, intensities in HU), always in the same order."""
    a = rng.uniform(145.0, 170.0)
    b = a * rng.uniform(0.66, 0.78)
    hu_liver = rng.uniform(60.0, 110.0)
    body = BodyWall(
        scale=a / 150.0, a=a, b=b, harmonics=_harmonics(rng, 3, 0.025),
        fat_mm=rng.uniform(8.0, 28.0), muscle_mm=rng.uniform(8.0, 14.0),
    )
    hu, pancreas_t = _draw_tissues(rng, hu_liver)
    noise_512 = rng.uniform(8.0, 16.0)
    liver = _draw_liver(rng, body.scale)
    spine = Spine(v=-b * rng.uniform(0.42, 0.5), disc_period=rng.uniform(26.0, 32.0), disc_phase=rng.uniform(0.0, 32.0))
    ribs = Ribs(
        dpsi=rng.uniform(0.42, 0.52), keep=rng.uniform(size=(2, 16)) < 0.85,
        omega=rng.uniform(0.006, 0.012), phase=rng.uniform(0.0, 1.0, size=2),
    )
    viscera = Viscera(
        pancreas_t=pancreas_t, gallbladder=rng.uniform() < 0.7, heart_t=rng.uniform(0.02, 0.08),
        lung_t=rng.uniform(0.12, 0.22), air_fluid_level=rng.uniform(-0.2, 0.5), stomach_air=rng.uniform() < 0.7,
    )
    bowel = _draw_bowel(rng, body.scale, height_mm)
    tumours = _draw_tumours(rng, liver, body.scale)
    anatomy = Anatomy(
        height=height_mm, body=body, hu=hu, liver=liver, spine=spine, ribs=ribs, viscera=viscera,
        noise_512=noise_512, bowel=bowel, tumours=tumours, tumour_blobs=(),
    )
    return replace(anatomy, tumour_blobs=tuple(_place_tumour(anatomy, tm) for tm in tumours))


def _harmonics(rng, n, amp) -> Harmonics:
    """``n`` radial harmonics with amplitudes up to ``amp`` and random phases."""
    return tuple((float(rng.uniform(0, amp)), float(rng.uniform(0, 2 * np.pi))) for _ in range(n))


def _draw_tissues(rng, liver) -> tuple[Tissues, float]:
    """The soft tissues' HU, the pancreas's relative height, then bone and lung HU (the pancreas's height sits between)."""
    soft = dict(
        fat=rng.uniform(-115.0, -85.0),
        muscle=rng.uniform(20.0, 55.0),
        liver=liver,
        spleen=liver + rng.uniform(-10.0, 10.0),
        myocardium=liver + rng.uniform(-10.0, 10.0),
        blood=rng.uniform(150.0, 280.0),
        kidney=liver + rng.uniform(15.0, 45.0),
        gastric=liver + rng.uniform(-20.0, 5.0),
        portal=liver + rng.uniform(30.0, 90.0),
        bowel=rng.uniform(30.0, 70.0),
        pancreas=liver + rng.uniform(-25.0, 0.0),
    )
    pancreas_t = rng.uniform(0.38, 0.5)
    hu = Tissues(
        **soft, cortex=rng.uniform(450.0, 700.0), marrow=rng.uniform(150.0, 250.0),
        disc=rng.uniform(70.0, 100.0), lung=rng.uniform(-880.0, -820.0),
    )
    return hu, pancreas_t


def _draw_liver(rng, sc) -> Liver:
    """The liver's extent in relative height, the right lobe's shape, then the left lobe."""
    return Liver(
        t_lo=rng.uniform(0.04, 0.16),
        t_peak=rng.uniform(0.52, 0.66),
        t_hi=rng.uniform(0.88, 0.97),
        centre=(rng.uniform(62.0, 78.0) * sc, rng.uniform(-2.0, 12.0) * sc),
        radii=(rng.uniform(58.0, 68.0) * sc, rng.uniform(66.0, 80.0) * sc),
        tip=(rng.uniform(20.0, 35.0) * sc, rng.uniform(15.0, 35.0) * sc),
        angle=rng.uniform(-0.4, 0.1),
        harmonics_inferior=_harmonics(rng, 4, 0.07),
        harmonics_superior=_harmonics(rng, 4, 0.07),
        left=LeftLobe(
            centre=(rng.uniform(-15.0, 5.0) * sc, rng.uniform(45.0, 60.0) * sc),
            radii=(rng.uniform(45.0, 65.0) * sc, rng.uniform(20.0, 30.0) * sc),
            extent=(rng.uniform(0.35, 0.5), rng.uniform(0.8, 0.9)),
            harmonics=_harmonics(rng, 3, 0.06),
        ),
    )


def _draw_bowel(rng, sc, height_mm) -> tuple[BowelLoop, ...]:
    """Bowel loops below the liver's widest level, in the anterior abdomen, then the hepatic flexure."""
    bowel = []
    for _ in range(int(rng.integers(12, 20))):
        bowel.append(
            BowelLoop(
                cu=rng.uniform(-95.0, 50.0) * sc,
                cv=rng.uniform(-15.0, 70.0) * sc,
                cz=rng.uniform(-0.1, 0.55) * height_mm,
                ru=rng.uniform(12.0, 24.0) * sc,
                rv=rng.uniform(10.0, 20.0) * sc,
                rz=rng.uniform(15.0, 45.0),
                angle=rng.uniform(0, np.pi),
                air=rng.uniform() < 0.35,
                lumen=rng.uniform(-5.0, 30.0),
            )
        )
    # hepatic flexure of the colon, touching the liver tip
    bowel.append(
        BowelLoop(
            cu=rng.uniform(70.0, 95.0) * sc,
            cv=rng.uniform(25.0, 50.0) * sc,
            cz=rng.uniform(0.05, 0.2) * height_mm,
            ru=rng.uniform(18.0, 26.0) * sc,
            rv=rng.uniform(14.0, 22.0) * sc,
            rz=rng.uniform(25.0, 45.0),
            angle=rng.uniform(0, np.pi),
            air=True,
            lumen=10.0,
        )
    )
    return tuple(bowel)


def _draw_tumours(rng, liver: Liver, sc) -> tuple[Tumour, ...]:
    """0-4 tumours, at heights inside the liver, each meant for the right lobe or (1 in 5) the left lobe."""
    n_tumours = int(rng.choice([0, 1, 1, 2, 2, 3, 4]))
    tumours = []
    for _ in range(n_tumours):
        t = rng.uniform(liver.t_lo + 0.25 * (liver.t_hi - liver.t_lo), liver.t_hi - 0.15 * (liver.t_hi - liver.t_lo))
        radius = rng.uniform(5.0, 22.0) * sc
        tumours.append(
            Tumour(
                t=t,
                theta=rng.uniform(0, 2 * np.pi),
                frac=rng.uniform(0.0, 0.55),
                left=rng.uniform() < 0.2,
                ru=radius * rng.uniform(0.8, 1.2),
                rv=radius * rng.uniform(0.8, 1.2),
                rz=radius * rng.uniform(0.8, 1.3),
                delta=rng.uniform(20.0, 40.0),
                core=rng.uniform() < 0.4,
                harmonics=_harmonics(rng, 3, 0.08),
            )
        )
    return tuple(tumours)


def _place_tumour(p: Anatomy, tm: Tumour) -> TumourBlob:
    """The tumour's ellipsoid inside the lobe it belongs to, shrunk to stay (mostly) inside it."""
    z = tm.t * p.height
    if tm.left and p.left_lobe(tm.t) > 0.4:
        s = p.left_lobe(tm.t)
        (cu, cv), (ru, rv) = p.liver.left.centre, p.liver.left.radii
        cu, cv = cu - 0.2 * ru, cv
        ru, rv = ru * s, rv * s
    else:
        s, (cu, cv), _ = p.right_lobe(tm.t)
        ru, rv = p.liver.radii[0] * s, p.liver.radii[1] * s
    f = tm.frac
    u = cu + f * ru * np.cos(tm.theta)
    v = cv + f * rv * np.sin(tm.theta)
    # keep the tumour (mostly) inside the lobe, in-plane and over z
    t_room = min(tm.t - p.liver.t_lo, p.liver.t_hi - tm.t) * p.height
    room = min((0.95 - f) * min(ru, rv), 0.8 * t_room)
    shrink = min(1.0, room / max(tm.ru, tm.rv, tm.rz, 1e-6))
    return TumourBlob(
        cu=u, cv=v, cz=z, ru=tm.ru * shrink, rv=tm.rv * shrink, rz=tm.rz * shrink, angle=0.0,
        delta=tm.delta, core=tm.core, harmonics=tm.harmonics,
    )

