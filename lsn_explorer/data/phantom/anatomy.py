"""The anatomy of one phantom volume: every per-volume parameter, as frozen dataclasses.

Sizes are in mm, intensities in HU, heights ``t`` relative to the volume (0 = the bottom of the
most inferior slice, 1 = the top of the most superior one). World coordinates ``(u, v)`` are RAS+:
``u`` is negative towards the patient's left, ``v`` negative posterior. The parameters are drawn
by :func:`~.draw.draw_anatomy`; the methods here derive the geometry the painters share (the
liver's cross-section at a height, the kidneys, the IVC, the heart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ellipsoids import BowelLoop, Ellipsoid, Tumour, TumourBlob
from .shapes import Harmonics, lerp_harmonics

__all__ = ["Anatomy", "BodyWall", "LeftLobe", "Liver", "Ribs", "Spine", "Tissues", "Viscera"]


@dataclass(frozen=True)
class Tissues:
    """Intensity of every tissue in one volume, in HU.

    Attributes
    ----------
    fat, muscle : float
        Subcutaneous fat (-115 to -85) and muscle (20 to 55).
    liver : float
        Liver parenchyma (60 to 110); most organs below are drawn relative to it.
    spleen, myocardium : float
        Liver +/- 10.
    blood : float
        Enhanced blood pool of the heart and aorta (150 to 280).
    kidney : float
        Liver + 15 to 45.
    gastric : float
        Stomach wall, liver - 20 to + 5.
    portal : float
        Portal and hepatic veins, liver + 30 to 90 (the IVC is 10 HU darker).
    bowel : float
        Bowel wall (30 to 70).
    pancreas : float
        Liver - 25 to 0.
    cortex, marrow, disc : float
        Cortical bone (450 to 700), cancellous bone (150 to 250) and intervertebral discs (70 to 100).
    lung : float
        Lung bases (-880 to -820).
    """

    fat: float
    muscle: float
    liver: float
    spleen: float
    myocardium: float
    blood: float
    kidney: float
    gastric: float
    portal: float
    bowel: float
    pancreas: float
    cortex: float
    marrow: float
    disc: float
    lung: float


@dataclass(frozen=True)
class BodyWall:
    """The body's outline and its wall.

    Attributes
    ----------
    scale : float
        Size of this patient against a 150 mm half-width (``a / 150``); scales every organ.
    a, b : float
        Half-width (145 to 170 mm) and half-depth of the body ellipse.
    harmonics : Harmonics
        Irregularities of the outline (3 harmonics, amplitude up to 0.025).
    fat_mm, muscle_mm : float
        Mean thickness of the subcutaneous fat (8 to 28) and of the muscle wall (8 to 14), before ``scale``.
    """

    scale: float
    a: float
    b: float
    harmonics: Harmonics
    fat_mm: float
    muscle_mm: float


@dataclass(frozen=True)
class LeftLobe:
    """The liver's left lobe, an ellipse that crosses the midline over part of the liver's height.

    Attributes
    ----------
    centre, radii : (float, float)
        Centre ``(u, v)`` and radii ``(ru, rv)`` at its widest (mm).
    extent : (float, float)
        Relative heights ``(t0, t1)`` between which it exists (it also ends at the dome).
    harmonics : Harmonics
        Irregularities of its outline; the stomach and spleen share them.
    """

    centre: tuple[float, float]
    radii: tuple[float, float]
    extent: tuple[float, float]
    harmonics: Harmonics


@dataclass(frozen=True)
class Liver:
    """The liver: the right lobe's shape over z, and the left lobe.

    Attributes
    ----------
    t_lo, t_peak, t_hi : float
        Relative heights of the inferior tip, the widest section and the dome.
    centre, radii : (float, float)
        Centre ``(u, v)`` and radii ``(ru, rv)`` of the right lobe at its widest (mm).
    tip : (float, float)
        Offset of the centre at the inferior tip (mm); it decays quadratically up to ``t_peak``.
    angle : float
        Rotation of the right lobe (radians).
    harmonics_inferior, harmonics_superior : Harmonics
        The outline's harmonics at t = 0 and t = 1; in between they are interpolated.
    left : LeftLobe
        The left lobe.
    """

    t_lo: float
    t_peak: float
    t_hi: float
    centre: tuple[float, float]
    radii: tuple[float, float]
    tip: tuple[float, float]
    angle: float
    harmonics_inferior: Harmonics
    harmonics_superior: Harmonics
    left: LeftLobe


@dataclass(frozen=True)
class Spine:
    """The spine.

    Attributes
    ----------
    v : float
        World ``v`` (mm) of the vertebral body's centre, posterior (negative).
    disc_period, disc_phase : float
        The vertebrae repeat every ``disc_period`` mm over z; a disc is 7 mm thick, starting at ``disc_phase``.
    """

    v: float
    disc_period: float
    disc_phase: float


@dataclass(frozen=True)
class Ribs:
    """The ribs: an arc of dots in the muscle wall that turns with z.

    Attributes
    ----------
    dpsi : float
        Angle between neighbouring ribs (radians).
    keep : (2, 16) bool ndarray
        Which ribs exist, right side (row 0) and left side (row 1).
    omega : float
        How fast the arc turns with height (radians per mm).
    phase : (2,) float64 ndarray
        Phase of the arc, right and left, in units of ``dpsi``.
    """

    dpsi: float
    keep: np.ndarray
    omega: float
    phase: np.ndarray


@dataclass(frozen=True)
class Viscera:
    """Per-volume switches and heights of the organs around the liver.

    Attributes
    ----------
    pancreas_t : float
        Relative height of the pancreas (0.38 to 0.5).
    gallbladder : bool
        Whether the volume has a gallbladder (70 %).
    heart_t : float
        How far below the liver's dome the heart begins (relative height).
    lung_t : float
        How far below the dome the lung bases begin (relative height).
    air_fluid_level : float
        Height of the stomach's air-fluid level, as a fraction of its half-depth.
    stomach_air : bool
        Whether the stomach holds an air cap (70 %).
    """

    pancreas_t: float
    gallbladder: bool
    heart_t: float
    lung_t: float
    air_fluid_level: float
    stomach_air: bool


@dataclass(frozen=True)
class Anatomy:
    """Every parameter of one phantom volume.

    Attributes
    ----------
    height : float
        Height of the volume (mm); relative heights ``t`` are fractions of it.
    body : BodyWall
        The outline and wall.
    hu : Tissues
        The intensities.
    liver : Liver
        The liver.
    spine : Spine
        The spine.
    ribs : Ribs
        The ribs.
    viscera : Viscera
        The other organs' switches and heights.
    noise_512 : float
        Noise standard deviation (HU) of this volume's scan at 512 x 512 (8 to 16).
    bowel : tuple of BowelLoop
        The bowel loops, the hepatic flexure of the colon last.
    tumours : tuple of Tumour
        The tumours as drawn.
    tumour_blobs : tuple of TumourBlob
        The same tumours placed inside the liver.
    """

    height: float
    body: BodyWall
    hu: Tissues
    liver: Liver
    spine: Spine
    ribs: Ribs
    viscera: Viscera
    noise_512: float
    bowel: tuple[BowelLoop, ...]
    tumours: tuple[Tumour, ...]
    tumour_blobs: tuple[TumourBlob, ...]

    def right_lobe(self, t: float):
        """Scale of the right lobe's radii at relative height ``t`` (0 outside the liver), its centre and harmonics."""
        lv = self.liver
        t_lo, t_pk, t_hi = lv.t_lo, lv.t_peak, lv.t_hi
        (cu, cv), (tu, tv) = lv.centre, lv.tip
        if t <= t_lo or t >= t_hi:
            return 0.0, (cu, cv), None
        if t < t_pk:
            w = (t - t_lo) / (t_pk - t_lo)
            s = np.sin(0.5 * np.pi * w) ** 0.6
            centre = (cu + tu * (1 - w) ** 2, cv + tv * (1 - w) ** 2)
        else:
            w = (t - t_pk) / (t_hi - t_pk)
            s = np.sqrt(1.0 - w * w)
            centre = (cu - 10.0 * self.body.scale * w, cv - 15.0 * self.body.scale * w)
        return float(s), centre, lerp_harmonics(lv.harmonics_inferior, lv.harmonics_superior, t)

    def left_lobe(self, t: float) -> float:
        """Scale of the left lobe's radii at relative height ``t`` (0 where there is none)."""
        t0, t1 = self.liver.left.extent
        if t <= t0 or t >= min(t1, self.liver.t_hi):
            return 0.0
        return float(np.sin(np.pi * (t - t0) / (min(t1, self.liver.t_hi) - t0)) ** 0.7)

    def heart(self, t: float):
        """Centre and radii ``(cu, cv, ru, rv)`` of the heart's myocardium at relative height ``t``, or None below it."""
        ht = self.liver.t_hi - self.viscera.heart_t
        if t <= ht:
            return None
        sc = self.body.scale
        s = np.sqrt((t - ht) / (1.0 - ht))
        return -28.0 * sc, 38.0 * sc, 52.0 * sc * s + 2, 42.0 * sc * s + 2

    @property
    def ivc(self) -> tuple[float, float, float, float, float]:
        """The inferior vena cava's ellipse ``(cu, cv, ru, rv, angle)``, the same at every height."""
        sc, vc = self.body.scale, self.spine.v
        return (24.0 * sc, vc + 36.0 * sc, 14.0 * sc, 10.0 * sc, 0.4)

    @property
    def kidneys(self) -> tuple[Ellipsoid, Ellipsoid]:
        """The right kidney (touching the liver), then the left one."""
        sc, vc, h = self.body.scale, self.spine.v, self.height
        return (
            Ellipsoid(cu=64.0 * sc, cv=vc + 6.0 * sc, cz=0.2 * h, rz=0.28 * h, ru=26.0 * sc, rv=34.0 * sc, angle=0.5),
            Ellipsoid(cu=-64.0 * sc, cv=vc + 8.0 * sc, cz=0.3 * h, rz=0.28 * h, ru=26.0 * sc, rv=34.0 * sc, angle=-0.5),
        )
