"""The scanner: one phantom volume from its seed, painted slice by slice and imaged like a CT.

:func:`phantom_volume` draws the scan geometry and the :class:`~.anatomy.Anatomy`, paints every
axial slice, then adds what a scanner adds: partial-volume blur (a Gaussian point-spread function
in-plane and across slices), correlated Gaussian noise, and -1024 HU outside the reconstruction
circle.

Orientation
-----------
Arrays are in NIfTI order ``(X, Y, Z)``, as nibabel returns LiTS volumes. The affine is LPS-like,
``diag(-dx, -dy, +dz)`` plus an offset, so it is *not* canonical: array index ``i`` runs from the
patient's right to left, ``j`` from anterior to posterior and ``k`` from inferior to superior. In
world (RAS+) terms the liver lies at positive x (patient right) and the spine at negative y
(posterior). Consequences for display:

* the stored slice ``hu[:, :, k].T`` is already a radiological view (row 0 anterior, patient right
  on the image left);
* the reader (:mod:`lsn_explorer.data.preprocess`) reorients to RAS+ and shows the same
  radiological view, whatever the stored orientation.

Spacing: the in-plane field of view is 330-390 mm whatever ``size`` is (so 0.64-0.76 mm pixels at
512, twice that at 256); the slice thickness is drawn per volume from {2.5, 3, 4, 5} mm. The
anatomy is laid out in the volume's relative height, so every volume runs from below the liver tip
to above the dome whatever ``num_slices`` is.

Noise: 8-16 HU standard deviation at 512 x 512, LiTS's size, averaged down like a real scan at
smaller sizes (4-8 HU at 256 x 256).

Reproducibility: volume ``N`` is drawn from ``numpy.random.default_rng([seed, N])``, so it does not
depend on how many volumes are written.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from .anatomy import Anatomy
from .body import paint_body, paint_spine
from .canvas import Slice
from .draw import draw_anatomy
from .liver import paint_liver
from .organs import paint_organs

__all__ = ["FORMAT", "check_sizes", "noise_at_size", "phantom_volume"]

#: Version of the generator; part of the cache folder name, bumped on any change.
FORMAT = 2

_FOV_MM = (330.0, 390.0)
_SLICE_MM = (2.5, 3.0, 4.0, 5.0)


def noise_at_size(noise_512: float, size: int) -> float:
    """Noise standard deviation (HU) of a ``size``-pixel slice whose 512-pixel version has ``noise_512``.

    A scan reconstructed at 512² and loaded at a smaller size averages (512 / size)² pixels into one,
    which divides uncorrelated noise by 512 / size. Generating the phantom at ``size`` with this
    standard deviation gives it the noise a real 512² scan has once loaded at that size; larger sizes keep the 512² level.
    """
    return noise_512 * min(size / 512.0, 1.0)


def check_sizes(*, size, num_slices):
    """Raise :class:`~lsn_explorer.errors.InputError` naming ``size`` or ``num_slices`` if it is out of range."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 64:
        raise InputError(f"size={size!r} is not an integer >= 64 (the in-plane phantom size in pixels)")
    if isinstance(num_slices, bool) or not isinstance(num_slices, (int, np.integer)) or num_slices < 8:
        raise InputError(f"num_slices={num_slices!r} is not an integer >= 8 (axial slices per volume)")


def phantom_volume(
    dataid: int, *, seed: int = 0, size: int = 256, num_slices: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate one phantom CT volume, its LiTS label and its affine.

    Parameters
    ----------
    dataid : int
        Case number N (``volume-N``); with ``seed`` it fixes every random draw.
    seed : int, optional
        Seed of the data set. Default 0.
    size : int, optional
        In-plane size X = Y in pixels (>= 64). Default 256; LiTS is 512.
    num_slices : int, optional
        Number of axial slices Z (>= 8). Default 32.

    Returns
    -------
    hu : (X, Y, Z) int16 ndarray
        CT intensities in Hounsfield units, NIfTI array order.
    label : (X, Y, Z) uint8 ndarray
        0 background, 1 liver, 2 tumour.
    affine : (4, 4) float64 ndarray
        Voxel to world (RAS+, mm): ``diag(-dx, -dy, dz)`` plus an offset.

    Raises
    ------
    InputError
        If ``size`` < 64, ``num_slices`` < 8 or ``dataid``/``seed`` is negative.

    Examples
    --------
    >>> hu, label, affine = phantom_volume(0, size=64, num_slices=8)
    >>> hu.shape, hu.dtype, label.dtype, np.unique(label).tolist()[:2]
    ((64, 64, 8), dtype('int16'), dtype('uint8'), [0, 1])
    """
    check_sizes(size=size, num_slices=num_slices)
    for name, value in (("dataid", dataid), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"{name}={value!r} is not a non-negative integer")
    rng = np.random.default_rng([int(seed), int(dataid)])
    fov = rng.uniform(*_FOV_MM)
    dx = fov / size
    dz = float(rng.choice(_SLICE_MM))
    height = dz * num_slices
    p = draw_anatomy(rng, height)
    # world coordinates of the voxel centres (RAS+, mm); FOV centred 15 mm posterior of the body
    xs = (dx * (size - 1) / 2.0 - dx * np.arange(size)).astype(np.float32)
    ys = (dx * (size - 1) / 2.0 - 15.0 * p.body.scale - dx * np.arange(size)).astype(np.float32)
    hu, label = _paint_slices(p, xs, ys, dx, dz, num_slices)
    hu = _image(hu, p, rng, size)
    # outside the reconstruction circle
    r2 = xs[:, None] ** 2 + (ys[None, :] + 15.0 * p.body.scale) ** 2
    hu[r2 > (fov / 2.0) ** 2, :] = -1024.0
    hu = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    affine = np.array(
        [
            [-dx, 0.0, 0.0, dx * (size - 1) / 2.0],
            [0.0, -dx, 0.0, dx * (size - 1) / 2.0 - 15.0 * p.body.scale],
            [0.0, 0.0, dz, -height / 2.0 + 0.5 * dz],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    # rounded as the NIfTI header stores it, so the files read back to this very affine
    return hu, label, affine.astype(np.float32).astype(np.float64)


def _paint_slices(p: Anatomy, xs, ys, dx, dz, num_slices):
    """The anatomy painted slice by slice: ``(X, Y, Z)`` float32 HU before imaging, and the uint8 label."""
    hu = np.empty((xs.size, ys.size, num_slices), np.float32)
    label = np.empty((xs.size, ys.size, num_slices), np.uint8)
    for k in range(num_slices):
        z = (k + 0.5) * dz
        t = z / p.height
        sl = Slice(xs, ys, dx)
        inner = paint_body(sl, p, t, z)
        paint_spine(sl, p, t, z)
        paint_organs(sl, p, t, z, inner)
        paint_liver(sl, p, t, z, inner)
        hu[:, :, k] = sl.hu
        label[:, :, k] = sl.label
    return hu, label


def _image(hu, p: Anatomy, rng, size):
    """What the scanner adds to the painted HU: point-spread blur and correlated noise (the last draws of ``rng``)."""
    from scipy import ndimage  # loads with the first volume: the app reads a shipped slice without it

    # partial volume: scanner point-spread in-plane, slice profile across slices
    hu = ndimage.gaussian_filter(hu, sigma=(0.6, 0.6, 0.45), mode="nearest")
    noise = rng.standard_normal(hu.shape, dtype=np.float32)
    noise = ndimage.gaussian_filter(noise, sigma=(0.7, 0.7, 0.0))
    noise *= noise_at_size(p.noise_512, size) / max(float(noise.std()), 1e-6)
    hu += noise
    return hu
