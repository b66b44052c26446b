"""The classical level set from a few seeds: bubbles on the seeded slices, then slice to slice.

A user clicks a few points inside the liver, as in ITK-SNAP's bubble mode. Each seeded
slice starts from a bubble of :data:`~.settings.SEED_RADIUS` grid pixels at each of its
seeds and evolves under the geodesic active contour
(:func:`~lsn_explorer.levelset.solver.evolve`) with the tuned settings. Every other slice
starts from the segmentation of its neighbour towards the nearest seeded slice, shrunk by
:data:`~.settings.PROPAGATION_EROSION` pixels, so the front travels through the organ
one slice at a time and stops where the organ ends (a neighbour's segmentation smaller
than :data:`~.settings.PROPAGATION_MIN_AREA` pixels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from scipy import ndimage

from ..data.preprocess import resize_image, window_hu
from ..devices import resolve_device
from ..inference import resample
from ..levelset.edges import edge_function
from ..levelset.initial import bubbles, signed_distance
from ..levelset.solver import evolve
from .progress import slice_progress
from .settings import (LEVELSET_WINDOW, MAX_RMS_CHANGE, PROPAGATION_EROSION, PROPAGATION_MIN_AREA, SEED_RADIUS,
                       LevelSetParams)

__all__ = ["levelset_volume", "propagation_order"]


def propagation_order(num_slices: int, seeded: Sequence[int]) -> list[tuple[int, int | None]]:
    """The order in which slices are segmented: ``(slice, neighbour it starts from)``.

    Seeded slices come first (neighbour None), then the others by their distance to
    the nearest seeded slice, each starting from its neighbour towards that slice.

    Examples
    --------
    >>> propagation_order(5, [1])
    [(1, None), (0, 1), (2, 1), (3, 2), (4, 3)]
    """
    seeded = sorted(set(int(z) for z in seeded))
    order: list[tuple[int, int | None]] = [(z, None) for z in seeded]
    nearest = {z: min(seeded, key=lambda s: (abs(z - s), s)) for z in range(num_slices) if z not in seeded}
    for z in sorted(nearest, key=lambda z: (abs(z - nearest[z]), z)):
        order.append((z, z - 1 if z > nearest[z] else z + 1))
    return order


def levelset_volume(
    hu: np.ndarray,
    seeds: Sequence[tuple[int, float, float]],
    params: LevelSetParams,
    *,
    device: str | torch.device = "auto",
    progress: bool = False,
    iter_callback: Callable[[int, torch.Tensor], None] | None = None,
) -> np.ndarray:
    """Segment a volume with the classical level set grown from seeds.

    Parameters
    ----------
    hu : (Z, H, W) ndarray
        Hounsfield units, slices in display orientation.
    seeds : sequence of (z, row, col)
        Points inside the organ: slice index and pixel position (full resolution).
    params : LevelSetParams
        Weights, edge map and grid (see :mod:`~lsn_explorer.segmentation.settings`).
    device : str or torch.device
        Where the solver runs. Default "auto".
    progress : bool
        Show a tqdm bar over the slices. Default False.
    iter_callback : callable, optional
        ``iter_callback(z, u)`` after every step of slice ``z``, with its level set
        ``(h, w)`` on the settings' grid (positive inside): a way to watch it run.

    Returns
    -------
    (Z, H, W) uint8 ndarray
        1 inside the segmentation.
    """
    depth, height, width = hu.shape
    grid = (height, width) if params.grid is None else (int(params.grid), int(params.grid))
    images = window_hu(resize_image(hu, grid[0]) if params.grid is not None else hu, LEVELSET_WINDOW)
    dev = resolve_device(device)
    centres: dict[int, list[tuple[float, float]]] = {}
    for z, row, col in seeds:
        on_grid = ((row + 0.5) * grid[0] / height - 0.5, (col + 0.5) * grid[1] / width - 0.5)  # pixel centres align
        centres.setdefault(int(z), []).append(on_grid)
    levels = torch.full((depth, 1, *grid), -1.0)
    inside: dict[int, np.ndarray] = {}
    with slice_progress(depth, progress, "level set") as bar:
        for z, neighbour in propagation_order(depth, list(centres)):
            u0 = _initial(centres.get(z), inside.get(neighbour), grid)
            if u0 is not None:
                watch = None if iter_callback is None else (lambda u, z=z: iter_callback(z, u))
                levels[z, 0] = _evolve_slice(images[z], u0, params, dev, watch).cpu()
            inside[z] = (levels[z, 0] > 0).numpy()
            bar.update(1)
    out = np.empty(hu.shape, dtype=np.uint8)
    for start in range(0, depth, 32):  # u bilinear to full size, a few slices at a time
        out[start : start + 32] = (resample(levels[start : start + 32], (height, width), antialias=False) > 0)[:, 0]
    return out


def _initial(centres, neighbour: np.ndarray | None, grid) -> torch.Tensor | None:
    """u0 of one slice: bubbles at its seeds, else its neighbour's segmentation shrunk; None when that is too small."""
    if centres:
        return bubbles(grid, centres, radius=SEED_RADIUS)
    shrunk = ndimage.binary_erosion(neighbour, iterations=PROPAGATION_EROSION) if PROPAGATION_EROSION else neighbour
    if shrunk.sum() < PROPAGATION_MIN_AREA:
        return None
    return signed_distance(shrunk)


def _evolve_slice(image: np.ndarray, u0: torch.Tensor, params: LevelSetParams, device, watch) -> torch.Tensor:
    """The final level set ``(h, w)`` of one windowed slice ``(h, w)`` from ``u0`` ``(h, w)``."""
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).to(device)
    g = edge_function(x, method="itksnap", kappa=params.kappa, lam=params.lam)
    return evolve(u0.to(device), g, num_iter=params.num_iter, alpha=params.alpha, beta=params.beta, gamma=params.gamma,
                  max_rms_change=MAX_RMS_CHANGE, iter_callback=watch)
