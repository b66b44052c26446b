"""Ellipsoids placed in a phantom volume: kidneys, bowel loops and tumours.

Sizes are in mm; ``(cu, cv)`` is a centre in the axial plane (RAS+), ``cz`` a height above the
volume's bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shapes import Harmonics

__all__ = ["BowelLoop", "Ellipsoid", "Tumour", "TumourBlob"]


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with one axis along z, rotated by ``angle`` in the axial plane (mm, radians).

    Attributes
    ----------
    cu, cv, cz : float
        Centre.
    ru, rv, rz : float
        Radii.
    angle : float
        In-plane rotation.
    """

    cu: float
    cv: float
    cz: float
    ru: float
    rv: float
    rz: float
    angle: float

    def section(self, z: float) -> float:
        """Scale of its radii in the axial plane at height ``z`` (0 where the plane misses it)."""
        q = (z - self.cz) / self.rz
        return float(np.sqrt(1.0 - q * q)) if abs(q) < 1.0 else 0.0


@dataclass(frozen=True)
class BowelLoop(Ellipsoid):
    """A bowel loop: an enhancing wall around a lumen of air (``air``) or of fluid at ``lumen`` HU."""

    air: bool
    lumen: float


@dataclass(frozen=True)
class Tumour:
    """A tumour as drawn, before it is placed inside its lobe.

    Attributes
    ----------
    t : float
        Relative height of its centre.
    theta, frac : float
        Direction and fraction of the lobe's radius from the lobe's centre to the tumour's.
    left : bool
        Whether it belongs to the left lobe (where that lobe is wide enough at ``t``).
    ru, rv, rz : float
        Radii (mm), before shrinking to fit the lobe.
    delta : float
        How much darker than the liver it is (20 to 40 HU).
    core : bool
        Whether it has a darker necrotic core.
    harmonics : Harmonics
        Irregularities of its outline.
    """

    t: float
    theta: float
    frac: float
    left: bool
    ru: float
    rv: float
    rz: float
    delta: float
    core: bool
    harmonics: Harmonics


@dataclass(frozen=True)
class TumourBlob(Ellipsoid):
    """A tumour placed in its lobe: its ellipsoid, ``delta`` and ``core`` as :class:`Tumour`, and its ``harmonics``."""

    delta: float
    core: bool
    harmonics: Harmonics
