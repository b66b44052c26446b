"""The classical level set's tuned settings: the geodesic-active-contour weights, the edge map, the seeds.

These are the settings the Table 2 "level set" column starts its search from and
:func:`~lsn_explorer.segmentation.segment` runs with ``method="levelset"``: ITK-SNAP's
edge-mode defaults (α = 1, β = 0.2, γ = 2, κ = 0.04, λ = 3) on a 128² grid, which score
within 0.10 of each other on the phantom and on the real CT sample
(``tests/test_real_ct.py``). :mod:`lsn_explorer.experiments.levelset_column` searches
around them per fold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["LevelSetParams", "TUNED_LEVELSET", "LEVELSET_WINDOW", "SEED_RADIUS", "PROPAGATION_EROSION",
           "PROPAGATION_MIN_AREA", "MAX_RMS_CHANGE"]


@dataclass(frozen=True)
class LevelSetParams:
    """Settings of the classical solver (names as Eq. 1 and ITK-SNAP).

    Attributes
    ----------
    alpha, beta, gamma : float
        Propagation, curvature and advection weights.
    kappa, lam : float
        ITK-SNAP edge remapping steepness and exponent (σ = 1 px blur).
    num_iter : int
        Maximum iterations; the run stops earlier when the RMS change of the front
        falls below ``max_rms_change`` (ITK's MaximumRMSError).
    grid : int or None
        The in-plane size the settings are for: the blur, the speeds and the number
        of iterations are in its pixels. Slices of another size are resampled to it
        and the segmentation back, so the same settings segment a slice alike at any
        size. None: run at the slices' own size. Default 128.
    """

    alpha: float = 1.0
    beta: float = 0.2
    gamma: float = 2.0
    kappa: float = 0.04
    lam: float = 3.0
    num_iter: int = 200
    grid: int | None = 128

    def to_dict(self) -> dict:
        """The settings as a plain dict."""
        return asdict(self)


#: The settings ``segment(..., method="levelset")`` uses unless given others.
TUNED_LEVELSET = LevelSetParams()

#: HU window mapped to [-1, 1] before the edge map, as the slices the settings were tuned on.
LEVELSET_WINDOW = (-100.0, 400.0)

#: Radius of the bubble placed at each seed, in pixels of the settings' grid (5 px of 128 ≈ 2 cm on a 50 cm field).
SEED_RADIUS = 5.0

#: A slice without a seed starts from its neighbour's segmentation shrunk by this many grid pixels.
PROPAGATION_EROSION = 2

#: A neighbour's segmentation smaller than this (grid pixels) stops the propagation: the organ has ended.
PROPAGATION_MIN_AREA = 10

#: Convergence threshold of each slice's evolution (ITK's MaximumRMSError).
MAX_RMS_CHANGE = 0.01
