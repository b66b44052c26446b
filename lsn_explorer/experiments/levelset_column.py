"""The classical level set as a Table 2 column: bubbles placed from the label, tuned parameters.

The paper's "ITK-SNAP" column came from a practitioner who had 10 minutes per case to
place bubbles and tune the geodesic-active-contour weights. Here that person is replaced
by two documented rules:

* **Bubbles** are placed where a user would click
  (:func:`~lsn_explorer.levelset.initial.bubble_centers`): at the deepest interior point of
  every liver region of the slice (the maximum of the distance transform of the label), with
  a radius of half that depth, at most ``max_radius`` pixels. This *reads the label*, as a
  person placing bubbles reads the image; slices without liver get no bubble and predict
  nothing.
* **Parameters** (α, β, γ, edge κ and λ, iterations) are chosen by a seeded random search
  with a fixed budget of ``trials`` settings on at most ``max_slices`` training slices,
  starting from the library's tuned settings
  (:data:`~lsn_explorer.segmentation.settings.TUNED_LEVELSET`: ITK-SNAP's edge-mode
  defaults α = 1, β = 0.2, γ = 2, κ = 0.04, λ = 3). The best mean slice Dice wins. Test
  volumes are never looked at.
"""

from __future__ import annotations

import numpy as np
import torch

from ..inference import resample
from ..levelset.edges import edge_function
from ..levelset.initial import bubble_level_set
from ..levelset.solver import evolve
from ..metrics import mask_dice
from ..segmentation.settings import MAX_RMS_CHANGE, LevelSetParams

__all__ = ["LevelSetParams", "SEARCH_SPACE", "SEARCH_SLICES", "segment_slices", "tune_levelset"]


#: Slices that score each setting of the search (drawn evenly from the training slices).
SEARCH_SLICES = 16

#: Values the random search draws from (the first trial is always the ITK-SNAP default).
SEARCH_SPACE = {
    "alpha": (0.5, 1.0, 2.0),
    "beta": (0.1, 0.2, 0.5, 1.0),
    "gamma": (0.0, 1.0, 2.0, 4.0),
    "kappa": (0.02, 0.04, 0.08, 0.16),
    "lam": (2.0, 3.0, 4.0),
}


def segment_slices(
    images: torch.Tensor,
    masks: torch.Tensor,
    params: LevelSetParams,
    *,
    max_rms_change: float = MAX_RMS_CHANGE,
    batch_size: int = 64,
    backend: str = "auto",
) -> torch.Tensor:
    """Segment slices with the classical solver, bubbles placed from ``masks``.

    Parameters
    ----------
    images : (N, 1, H, W) Tensor
        Windowed CT slices.
    masks : (N, 1, H, W) Tensor
        Labels, read only to place the bubbles.
    params : LevelSetParams
    max_rms_change : float
        Convergence threshold per slice (ITK's MaximumRMSError). Default 0.01.
    batch_size : int
        Slices whose edge maps are made and evolved in one call (a memory bound; the solver
        splits a call further to fit the cache). Default 64.
    backend : str
        The solver's backend (see :func:`~lsn_explorer.levelset.solver.evolve`). Default "auto".

    Returns
    -------
    (N, 1, H, W) bool Tensor
        The segmentation ``u > 0`` (all False on slices without a bubble).
    """
    size = tuple(images.shape[-2:])
    if params.grid is not None and size != (params.grid, params.grid):
        grid = (params.grid, params.grid)
        small = segment_slices(resample(images, grid, antialias=False), resample(masks, grid, antialias=False) > 0.5, params,
                               max_rms_change=max_rms_change, batch_size=batch_size, backend=backend)
        return resample(small, size, antialias=False) > 0.5
    out = torch.zeros(images.shape, dtype=torch.bool)
    u0, seeded = bubble_level_set(masks)
    index = torch.nonzero(seeded)[:, 0]
    for start in range(0, len(index), batch_size):
        chunk = index[start : start + batch_size]
        g = edge_function(images[chunk], method="itksnap", kappa=params.kappa, lam=params.lam)
        u = evolve(
            u0[chunk], g, num_iter=params.num_iter, alpha=params.alpha, beta=params.beta,
            gamma=params.gamma, max_rms_change=max_rms_change, backend=backend,
        )
        out[chunk] = u > 0
    return out


def _draw_trials(trials: int, seed: int, grid: int) -> list[LevelSetParams]:
    rng = np.random.default_rng(seed)
    drawn = [LevelSetParams(grid=grid)]
    while len(drawn) < trials:
        choice = {name: float(rng.choice(values)) for name, values in SEARCH_SPACE.items()}
        candidate = LevelSetParams(**choice, grid=grid)
        if candidate not in drawn:
            drawn.append(candidate)
    return drawn


def tune_levelset(
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    trials: int = 8,
    max_slices: int = SEARCH_SLICES,
    seed: int = 0,
    backend: str = "auto",
) -> tuple[LevelSetParams, list[dict]]:
    """Choose solver settings by a bounded random search on training slices.

    Parameters
    ----------
    images, masks : (N, 1, H, W) Tensor
        Training slices (only those with liver are used).
    trials : int
        Number of settings tried (the budget). Default 8.
    max_slices : int
        At most this many slices, drawn evenly, score each setting. Default 16.
    seed : int
        Seed of the draw. Default 0.
    backend : str
        The solver's backend (see :func:`segment_slices`). Default "auto".

    Returns
    -------
    best : LevelSetParams
    history : list of dict
        Every setting tried with its mean slice Dice, in order.
    """
    with_liver = torch.nonzero(masks.flatten(1).amax(1) > 0)[:, 0]
    pick = with_liver[np.linspace(0, len(with_liver) - 1, min(max_slices, len(with_liver))).round().astype(int)]
    images, masks = images[pick], masks[pick]
    history = []
    for params in _draw_trials(trials, seed, grid=int(images.shape[-1])):
        prediction = segment_slices(images, masks, params, backend=backend)
        dice = float(mask_dice(prediction, masks))
        history.append({**params.to_dict(), "dice": dice})
    best = max(history, key=lambda row: row["dice"])
    return LevelSetParams(**{k: v for k, v in best.items() if k != "dice"}), history
