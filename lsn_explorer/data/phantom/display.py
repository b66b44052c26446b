"""The phantom as the apps and exercises show it: one windowed slice through the liver."""

from __future__ import annotations

import numpy as np

from .scanner import phantom_volume

__all__ = ["widest_liver_slice"]


def widest_liver_slice(index: int = 0, *, seed: int = 0, size: int = 256, num_slices: int = 16):
    """The axial slice of phantom volume ``index`` with the most liver, as the apps and exercises show it.

    Parameters
    ----------
    index, seed, size, num_slices
        As :func:`~lsn_explorer.data.phantom.phantom_volume`.

    Returns
    -------
    image : (size, size) float32 ndarray
        The slice windowed to HU [-100, 400] -> [-1, 1], in display orientation.
    mask : (size, size) bool ndarray
        Its liver label.
    """
    from .. import preprocess as pp

    hu, label, affine = phantom_volume(index, seed=seed, size=size, num_slices=num_slices)
    hu, label, _ = pp.to_canonical(hu, label, affine)
    hu, label = pp.to_display_axes(hu), pp.to_display_axes(label)
    z = int((label > 0).sum(axis=(1, 2)).argmax())
    return np.ascontiguousarray(pp.window_hu(hu[z]), dtype=np.float32), np.ascontiguousarray(label[z] > 0)
