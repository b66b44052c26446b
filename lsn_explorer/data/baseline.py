"""The simplest liver segmenter: one global HU band plus the largest connected component.

It measures how separable a data set is by intensity alone. On real CT the
liver shares its HU range with spleen, heart, muscle and kidney, so a band
threshold leaks into them; the phantom is built so that it does too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..metrics import dice_from_counts

__all__ = ["ThresholdBaseline", "threshold_baseline", "band_lcc_mask"]


@dataclass(frozen=True)
class ThresholdBaseline:
    """Result of :func:`threshold_baseline`.

    Attributes
    ----------
    dice : float
        Pooled Dice over all volumes (``2 sum|P∩T| / (sum|P| + sum|T|)``) of the
        best band after keeping each volume's largest component.
    lower, upper : float
        The best band, ``lower <= HU <= upper``.
    per_volume_dice : (V,) float ndarray
        Dice of each volume with that band.
    mean_dice : float
        Mean of ``per_volume_dice``.
    band_dice : float
        Pooled Dice of the same band without the connected-component step.
    evaluated : int
        How many (lower, upper) bands were scored.
    """

    dice: float
    lower: float
    upper: float
    per_volume_dice: np.ndarray = field(repr=False)
    mean_dice: float
    band_dice: float
    evaluated: int


def band_lcc_mask(hu: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Largest 6-connected component of ``lower <= hu <= upper``.

    Parameters
    ----------
    hu : (X, Y, Z) or (H, W) array
        Intensities (raw HU).
    lower, upper : float
        Band bounds, inclusive.

    Returns
    -------
    mask : bool ndarray of the same shape
        Empty if no voxel is inside the band.
    """
    band = (hu >= lower) & (hu <= upper)
    lab, n = ndimage.label(band)
    if n == 0:
        return band
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _prepare(volumes, truths, floor):
    """Crop each volume to the box of voxels >= ``floor`` (no band reaches outside it)."""
    out = []
    for hu, truth in zip(volumes, truths):
        total = int(np.count_nonzero(truth))
        box = ndimage.find_objects((hu >= floor).astype(np.uint8))
        if box and box[0] is not None:
            hu, truth = hu[box[0]], truth[box[0]]
        out.append((np.ascontiguousarray(hu), np.flatnonzero(truth), total))
    return out


def _counts(prepared, lower, upper):
    """(intersection, predicted, true) voxel counts per volume for one band."""
    out = np.zeros((len(prepared), 3), np.int64)
    for n, (hu, truth_idx, total) in enumerate(prepared):
        lab, k = ndimage.label((hu >= lower) & (hu <= upper))
        if k == 0:
            out[n] = (0, 0, total)
            continue
        sizes = np.bincount(lab.ravel(), minlength=k + 1)
        sizes[0] = 0
        best = int(np.argmax(sizes))
        hits = np.count_nonzero(lab.ravel()[truth_idx] == best)
        out[n] = (hits, sizes[best], total)
    return out


def _dice(c):
    """Dice from counts ``(..., 3)``: hits, predicted pixels, label pixels."""
    return dice_from_counts(c[..., 0], c[..., 1] + c[..., 2])


def _check(volumes_hu, labels):
    if isinstance(volumes_hu, np.ndarray):
        volumes_hu = [volumes_hu]
    if isinstance(labels, np.ndarray):
        labels = [labels]
    volumes_hu, labels = list(volumes_hu), list(labels)
    if not volumes_hu:
        raise InputError("volumes_hu is empty; expected at least one (X, Y, Z) HU array")
    if len(volumes_hu) != len(labels):
        raise InputError(f"volumes_hu has {len(volumes_hu)} arrays but labels has {len(labels)}; expected one label per volume")
    for n, (hu, lab) in enumerate(zip(volumes_hu, labels)):
        if np.shape(hu) != np.shape(lab):
            raise InputError(f"volumes_hu[{n}] has shape {np.shape(hu)} but labels[{n}] has shape {np.shape(lab)}; expected equal shapes")
    return [np.asarray(v) for v in volumes_hu], [np.asarray(lab) > 0 for lab in labels]


def threshold_baseline(
    volumes_hu: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    refine: float | None = 5.0,
) -> ThresholdBaseline:
    """Best global HU band + largest connected component against liver ∪ tumour.

    Every band ``lower <= HU <= upper`` on the grid is applied to each volume,
    the largest 3-D (6-connected) component is kept, and the band with the
    best Dice pooled over all volumes wins. With ``refine``, a second search on
    a ``refine``-HU grid around the winner follows.

    Parameters
    ----------
    volumes_hu : sequence of (X, Y, Z) arrays
        Raw HU volumes (as read from the NIfTI files). One array is accepted too.
    labels : sequence of (X, Y, Z) arrays
        LiTS labels; the target is ``label > 0`` (liver and tumour).
    lower, upper : sequence of float, optional
        Candidate bounds. Default ``-100, -80, ..., 200`` and ``0, 20, ..., 400``.
    refine : float or None, optional
        Step (HU) of the local refinement; ``None`` skips it. Default 5.

    Returns
    -------
    ThresholdBaseline

    Raises
    ------
    InputError
        If the lists are empty, of different lengths, or shapes differ.

    Examples
    --------
    >>> hu = np.zeros((8, 8, 8), np.int16); hu[2:6, 2:6, 2:6] = 100
    >>> res = threshold_baseline([hu], [(hu > 50).astype(np.uint8)], refine=None)
    >>> round(res.dice, 3)
    1.0
    """
    vols, truths = _check(volumes_hu, labels)
    lo = np.arange(-100.0, 201.0, 20.0) if lower is None else np.asarray(lower, float)
    hi = np.arange(0.0, 401.0, 20.0) if upper is None else np.asarray(upper, float)
    scored: dict[tuple[float, float], np.ndarray] = {}
    steps = np.arange(-3, 4) * float(refine) if refine else np.zeros(1)
    prepared = _prepare(vols, truths, float(lo.min() + steps.min()))

    def search(lows, highs):
        for a in lows:
            for b in highs:
                if b > a and (float(a), float(b)) not in scored:
                    scored[(float(a), float(b))] = _counts(prepared, a, b)

    search(lo, hi)
    if not scored:
        raise InputError("no band with lower < upper on the given grids; expected upper values above lower values")

    def best():
        return max(scored, key=lambda k: float(_dice(scored[k].sum(0))))

    if refine:
        a0, b0 = best()
        search(a0 + steps, b0 + steps)
    a, b = best()
    counts = scored[(a, b)]
    per_volume = _dice(counts)
    band = np.zeros(3, np.int64)
    for hu, truth in zip(vols, truths):
        pred = (hu >= a) & (hu <= b)
        band += (np.count_nonzero(pred & truth), np.count_nonzero(pred), np.count_nonzero(truth))
    return ThresholdBaseline(
        dice=float(_dice(counts.sum(0))),
        lower=a,
        upper=b,
        per_volume_dice=per_volume,
        mean_dice=float(per_volume.mean()),
        band_dice=float(_dice(band)),
        evaluated=len(scored),
    )
