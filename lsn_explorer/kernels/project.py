"""2-D views of the kernels: one global PCA basis, per-layer PCA, cached UMAP.

The authors' Figure 3 projects each layer's kernels on the two leading
principal axes of *all* kernels. Their script centres the data by the
global mean μ but then plots the kernels at ``k·V + μ·V`` and the reference
stencils at ``r·V``, an offset of ``μ·V`` between the two. Here data and
references are both mapped by the same ``(x − μ)·Vᵀ``, so a kernel equal to a
reference lands on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._files import atomic_path, cache_dir
from ..errors import InputError
from .collect import KernelSet
from .moments import as_kernels

__all__ = ["PCA2", "layer_pca", "umap_embedding", "umap_cache_name", "umap_cache_path", "reference_matrix", "BUNDLED_UMAP_DIR"]

BUNDLED_UMAP_DIR = Path(__file__).resolve().parent.parent / "assets" / "umap"
"""Read-only folder of precomputed UMAP files shipped with the package (same names as the cache)."""


def reference_matrix(stencils: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """``(names, (R, 9) array)`` of a mapping of named 3x3 stencils."""
    return list(stencils), np.stack([np.asarray(v, dtype=np.float64).ravel() for v in stencils.values()])


class PCA2:
    """``sklearn.decomposition.PCA`` of kernels, with a deterministic sign for each axis.

    Parameters
    ----------
    n_components : int, optional
        Number of axes, 1..9. Default 2.

    Attributes
    ----------
    mean_ : (9,) array
    components_ : (n_components, 9) array
        Rows are the axes, largest variance first; each axis's largest-magnitude
        entry is positive (so two fits of the same data agree exactly).
    explained_variance_ratio_ : (n_components,) array
        Zeros when all kernels are equal.

    Notes
    -----
    The axes are the right singular vectors of the centred data (``svd_solver="full"``).
    Axes beyond the rank of the centred data (K − 1 for K <= 9 kernels) carry no
    variance and their direction is arbitrary.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(50, 9))
    >>> pca = PCA2().fit(X)
    >>> pca.transform(X).shape
    (50, 2)
    """

    def __init__(self, n_components: int = 2):
        self.n_components = n_components

    def fit(self, kernels) -> PCA2:
        """Fit the axes on ``kernels`` ((K, 9) or (K, 3, 3) array); returns ``self``.

        Raises
        ------
        InputError
            If ``n_components`` is not in 1..9, or there are fewer than ``max(2, n_components)`` kernels.
        """
        X = as_kernels(kernels)
        n = self.n_components
        if not 1 <= n <= 9:
            raise InputError(f"n_components={n!r} must be in 1..9")
        if len(X) < max(2, n):
            raise InputError(f"PCA with n_components={n} needs at least {max(2, n)} kernels; got {len(X)}")
        from sklearn.decomposition import PCA  # scikit-learn loads on the first fit, not with the app

        with np.errstate(invalid="ignore"):  # 0 / 0 variance ratio when all kernels are equal
            pca = PCA(n, svd_solver="full").fit(X)
        V = pca.components_
        self.mean_ = pca.mean_
        self.components_ = V * np.sign(V[np.arange(n), np.abs(V).argmax(axis=1)])[:, None]
        self.explained_variance_ratio_ = np.nan_to_num(pca.explained_variance_ratio_)
        return self

    def transform(self, kernels) -> np.ndarray:
        """``(x − mean_) · components_ᵀ`` for data and reference stencils alike: ``(K, n_components)``."""
        return (as_kernels(kernels) - self.mean_) @ self.components_.T

    def fit_transform(self, kernels) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same kernels: ``(K, n_components)``."""
        return self.fit(kernels).transform(kernels)


def layer_pca(kernel_set: KernelSet, references=None) -> tuple[np.ndarray, list[PCA2], np.ndarray | None]:
    """PCA fitted on each layer's own kernels (centred on that layer's mean).

    Parameters
    ----------
    kernel_set : KernelSet
    references : (R, 9) array, optional
        Stencils to place in every layer's plane.

    Returns
    -------
    coords : (K, 2) array
        Each kernel in its own layer's plane.
    pcas : list of PCA2
        One per layer.
    ref_coords : (L, R, 2) array or None
    """
    coords = np.zeros((len(kernel_set), 2))
    pcas = []
    for index, info in enumerate(kernel_set.layers):
        X = kernel_set.layer_kernels(index)
        pca = PCA2(2).fit(X) if len(X) >= 2 else _single(X)
        coords[info.start : info.stop] = pca.transform(X)
        pcas.append(pca)
    refs = None
    if references is not None:
        R = as_kernels(references, name="references")
        refs = np.stack([p.transform(R) for p in pcas])
    return coords, pcas, refs


def _single(X) -> PCA2:
    pca = PCA2(2)
    pca.mean_ = X.mean(axis=0)
    pca.components_ = np.eye(9)[:2]
    pca.explained_variance_ratio_ = np.zeros(2)
    return pca


def _umap_version() -> str:
    """The installed umap-learn version, read without importing umap (whose first import takes seconds)."""
    from importlib import metadata

    try:
        return metadata.version("umap-learn")
    except metadata.PackageNotFoundError:
        raise ModuleNotFoundError("umap-learn is not installed (pip install umap-learn)", name="umap") from None


def _umap_key(X, R, params) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(b"|" + (np.ascontiguousarray(R, dtype=np.float64).tobytes() if R is not None else b"none"))
    h.update(json.dumps({**params, "umap": _umap_version(), "shape": list(X.shape)}, sort_keys=True).encode())
    return h.hexdigest()[:32]


def _umap_inputs(kernels, references, n_neighbors, min_dist, metric, random_state):
    X = as_kernels(kernels)
    R = None if references is None else as_kernels(references, name="references")
    n_total = len(X) + (0 if R is None else len(R))
    if n_total < 4:
        raise InputError(f"UMAP needs at least 4 points; got {n_total}")
    params = dict(n_neighbors=int(min(n_neighbors, n_total - 1)), min_dist=float(min_dist), metric=metric, random_state=int(random_state))
    return X, R, params


def _cache_files(X, R, params) -> tuple[Path, Path]:
    """Where the embedding of these inputs is written (the user cache) and where it may ship (bundled)."""
    name = f"{_umap_key(X, R, params)}.npz"
    return cache_dir() / "umap" / name, BUNDLED_UMAP_DIR / name


def umap_cache_name(
    kernels, *, references=None, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "euclidean", random_state: int = 0
) -> str:
    """File name (``<key>.npz``) under which :func:`umap_embedding` caches these inputs (umap is not imported)."""
    X, R, params = _umap_inputs(kernels, references, n_neighbors, min_dist, metric, random_state)
    return _cache_files(X, R, params)[0].name


def umap_cache_path(
    kernels, *, references=None, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "euclidean", random_state: int = 0
) -> Path | None:
    """The file holding :func:`umap_embedding`'s result for these inputs, or None when none was computed.

    Looks in the user cache, then in :data:`BUNDLED_UMAP_DIR`. Never fits UMAP and never imports
    umap-learn; without umap-learn installed there is no cache (None).

    Parameters
    ----------
    kernels, references, n_neighbors, min_dist, metric, random_state
        As :func:`umap_embedding`.

    Returns
    -------
    Path or None
        A ``.npz`` with ``coords``: ``(K + R, 2)``, kernels first.

    Raises
    ------
    InputError
        Fewer than 4 points in all.
    """
    X, R, params = _umap_inputs(kernels, references, n_neighbors, min_dist, metric, random_state)
    try:
        candidates = _cache_files(X, R, params)
    except ModuleNotFoundError:
        return None
    return next((path for path in candidates if path.is_file()), None)


def umap_embedding(
    kernels,
    *,
    references=None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "euclidean",
    random_state: int = 0,
    cache: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Seeded 2-D UMAP of kernels (and reference stencils), cached on disk.

    UMAP has no exact out-of-sample map, so references are embedded together
    with the kernels. The result is stored in ``cache_dir()/umap/<key>.npz``,
    the key being a hash of the data, the references, the parameters and the
    umap-learn version; a later call with the same inputs reads that file, or
    the same name in :data:`BUNDLED_UMAP_DIR` (precomputed for the bundled
    models). The 14,608 kernels of the default UNet take about a minute on
    one CPU core; a cached call takes milliseconds.

    Parameters
    ----------
    kernels : (K, 9) array
    references : (R, 9) array, optional
    n_neighbors : int, optional
        Default 15 (capped at K + R − 1).
    min_dist : float, optional
        Default 0.1.
    metric : str, optional
        Default "euclidean".
    random_state : int, optional
        Seed; the same seed gives the same coordinates in a new process. Default 0.
    cache : bool, optional
        Read and write the disk cache. Default True.

    Returns
    -------
    coords : (K, 2) float64 array
    ref_coords : (R, 2) float64 array or None
    """
    X, R, params = _umap_inputs(kernels, references, n_neighbors, min_dist, metric, random_state)
    if cache:
        found = umap_cache_path(X, references=R, **params)
        if found is not None:
            with np.load(found) as f:
                coords = np.asarray(f["coords"], dtype=np.float64)
            return coords[: len(X)], (coords[len(X) :] if R is not None else None)
    import umap  # slow first import (numba compiles)

    data = X if R is None else np.vstack([X, R])
    reducer = umap.UMAP(n_components=2, transform_seed=int(random_state), n_jobs=1, **params)
    coords = np.asarray(reducer.fit_transform(data), dtype=np.float64)
    if cache:
        path = _cache_files(X, R, params)[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.savez(tmp, coords=coords)
    return coords[: len(X)], (coords[len(X) :] if R is not None else None)
