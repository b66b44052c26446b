"""The atlas's UMAP view: a model's kernels embedded together with :data:`PLOT_STENCILS`.

A UMAP fit takes seconds to minutes (the first one in a process also waits for
numba to compile), so the view is computed ahead with :func:`precompute_umap`
and only looked up afterwards with :func:`cached_umap`, which never imports umap.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .atlas import PLOT_STENCILS
from .collect import collect_kernels
from .model_argument import load_model_argument
from .project import reference_matrix, umap_cache_path, umap_embedding

__all__ = ["cached_umap", "precompute_umap"]


def cached_umap(kernels, *, random_state: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached global UMAP of ``kernels`` with :data:`PLOT_STENCILS`, or None if none was computed.

    Looks where :func:`~lsn_explorer.kernels.umap_embedding` writes (and the bundled
    folder), for the embedding :func:`precompute_umap` makes. Never fits UMAP and
    never imports umap-learn.

    Parameters
    ----------
    kernels : (K, 9) array
    random_state : int, optional
        Default 0.

    Returns
    -------
    (coords (K, 2), ref_coords (R, 2)) or None
    """
    X = np.asarray(kernels, dtype=np.float64).reshape(-1, 9)
    _, R = reference_matrix(PLOT_STENCILS)
    if len(X) + len(R) < 4:
        return None
    path = umap_cache_path(X, references=R, random_state=random_state)
    if path is None:
        return None
    with np.load(path) as f:
        coords = np.asarray(f["coords"], dtype=np.float64)
    if len(coords) != len(X) + len(R):
        return None
    return coords[: len(X)], coords[len(X):]


def precompute_umap(model, *, random_state: int = 0, out_dir: str | os.PathLike | None = None) -> Path:
    """Compute (or read) the global UMAP of a model's kernels with :data:`PLOT_STENCILS`, and cache it.

    Parameters
    ----------
    model : str, nn.Module, KernelSet or Path
        As :func:`~lsn_explorer.kernels.kernels_command` (``"bundled-unet"`` ...).
    random_state : int, optional
        Default 0.
    out_dir : str or Path, optional
        Also copy the file there (e.g. ``lsn_explorer/assets/umap`` to ship it).

    Returns
    -------
    Path
        The cached ``.npz`` (in ``out_dir`` when given).
    """
    ks = collect_kernels(load_model_argument(model))
    _, R = reference_matrix(PLOT_STENCILS)
    umap_embedding(ks.kernels, references=R, random_state=random_state)
    # the call above either wrote the user cache or read the bundled copy
    path = umap_cache_path(ks.kernels, references=R, random_state=random_state)
    if out_dir is None:
        return path
    target = Path(out_dir) / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    return target
