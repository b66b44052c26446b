"""k-means clustering of kernels, per layer, as in the authors' Figure 3.

The authors ran scikit-learn's ``KMeans(n_clusters=3, random_state=0)``
(k-means++, ``n_init=10``) on each layer's raw, uncentred 9-vectors; that is
the default here. ``canonicalize=True`` clusters canonical forms instead
(:func:`~lsn_explorer.kernels.canonical.canonicalize`: sign, scale and
optionally the 8 rotations/reflections).

Scores: ``inertia`` (sum of squared distances to the centres), ``silhouette``
(in [-1, 1], higher = better separated; on a seeded subsample of at most
``silhouette_sample`` kernels, default 1000) and ``davies_bouldin`` (>= 0, lower = better),
the last two from ``sklearn.metrics``.
k-means runs on one thread: on a small shared machine that is many times
faster than scikit-learn's threaded default, and the result does not depend
on the thread count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .canonical import canonicalize as _canonicalize
from .collect import KernelSet
from .identify import nearest_stencil
from .moments import as_kernels

__all__ = ["KernelAtlas", "cluster_kernels", "LayerClusters", "cluster_layers", "k_scan", "silhouette", "davies_bouldin"]


class KernelAtlas:
    """k-means on 3x3 kernels, with optional canonical forms.

    Parameters
    ----------
    n_clusters : int, optional
        Number of clusters k. Default 3 (the paper's Figure 3).
    canonicalize : bool, optional
        Cluster canonical forms (sign of the centre tap, unit L2 norm). Default False
        (the authors' published figures).
    symmetry : bool, optional
        With ``canonicalize``, also identify the 8 rotations/reflections. Default False.
    n_init : int, optional
        k-means restarts. Default 10 (scikit-learn's classic default, as the authors).
    random_state : int, optional
        Seed of k-means++ and of the silhouette subsample. Use an int to make
        the result deterministic (in a new process too). Default 0.
    silhouette_sample : int, optional
        At most this many kernels (a seeded subsample) enter the silhouette score. Default 1000.

    Attributes
    ----------
    labels_ : (K,) int array
    centers_ : (n_clusters, 9) array
        In the clustered space (canonical forms when ``canonicalize``).
    inertia_ : float
    silhouette_ : float
        ``nan`` when fewer than 2 distinct labels or k >= K.
    davies_bouldin_ : float
    features_ : (K, 9) array
        The vectors that were clustered.
    nearest_stencil_ : (n_clusters,) array of str
        The :data:`~lsn_explorer.kernels.identify.STENCIL_CATALOGUE` stencil nearest each
        centre, up to a positive scale.

    Examples
    --------
    >>> X = np.r_[np.zeros((5, 9)), np.ones((5, 9))]
    >>> KernelAtlas(2).fit(X).labels_.tolist()
    [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    """

    def __init__(
        self,
        n_clusters: int = 3,
        *,
        canonicalize: bool = False,
        symmetry: bool = False,
        n_init: int = 10,
        random_state: int = 0,
        silhouette_sample: int = 1000,
    ):
        self.n_clusters = n_clusters
        self.canonicalize = canonicalize
        self.symmetry = symmetry
        self.n_init = n_init
        self.random_state = random_state
        self.silhouette_sample = silhouette_sample

    def transform_features(self, kernels) -> np.ndarray:
        """The vectors that :meth:`fit` clusters: raw, or canonical forms."""
        X = as_kernels(kernels)
        if self.canonicalize:
            return _canonicalize(X, symmetry=self.symmetry)
        return X

    def fit(self, kernels) -> KernelAtlas:
        """Cluster ``kernels`` ((K, 9) or (K, 3, 3) array); returns ``self``.

        Raises
        ------
        InputError
            If ``n_clusters < 1``, ``n_init < 1`` or there are fewer kernels than clusters.
        """
        X = self.transform_features(kernels)
        k = int(self.n_clusters)
        if k < 1 or int(self.n_init) < 1:
            raise InputError(f"n_clusters={self.n_clusters!r} and n_init={self.n_init!r} must be >= 1")
        if len(X) < k:
            raise InputError(f"n_samples={len(X)} kernels should be >= n_clusters={k}")
        from sklearn.cluster import KMeans  # scikit-learn loads on the first fit, not with the atlas
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(k, init="k-means++", n_init=int(self.n_init), random_state=self.random_state).fit(X)
            self.features_ = X
            self.labels_ = km.labels_.astype(np.int64)
            self.centers_ = km.cluster_centers_
            self.inertia_ = float(km.inertia_)
            self.silhouette_, self.davies_bouldin_ = _scores(X, self.labels_, self.silhouette_sample, self.random_state)
        self.nearest_stencil_ = nearest_stencil(self.centers_)[0]
        return self


def _scores(X, labels, sample: int, seed: int) -> tuple[float, float]:
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(X):
        return float("nan"), float("nan")
    idx = np.arange(len(X))
    if len(X) > sample:
        idx = np.sort(np.random.default_rng(seed).choice(len(X), size=int(sample), replace=False))
    return silhouette(X[idx], labels[idx]), davies_bouldin(X, labels)


def silhouette(X, labels) -> float:
    """Mean silhouette coefficient (Euclidean) of ``sklearn.metrics.silhouette_score``.

    Parameters
    ----------
    X : (n, d) array
    labels : (n,) array
        Cluster of each row.

    Returns
    -------
    float
        In [-1, 1], higher = better separated; a point alone in its cluster scores 0.
        ``nan`` unless 2 <= number of clusters < n.
    """
    X = np.asarray(X, dtype=np.float64)
    if not 2 <= len(np.unique(labels)) < len(X):
        return float("nan")
    from sklearn.metrics import silhouette_score  # scikit-learn loads on the first score, not with the atlas

    return float(silhouette_score(X, labels))


def davies_bouldin(X, labels) -> float:
    """Davies–Bouldin index of ``sklearn.metrics.davies_bouldin_score``.

    Parameters
    ----------
    X : (n, d) array
    labels : (n,) array
        Cluster of each row.

    Returns
    -------
    float
        >= 0, lower = better separated. ``nan`` with fewer than 2 clusters; 0 when every
        row is a cluster of its own (no spread).
    """
    X = np.asarray(X, dtype=np.float64)
    n_labels = len(np.unique(labels))
    if n_labels < 2:
        return float("nan")
    if n_labels == len(X):
        return 0.0
    from sklearn.metrics import davies_bouldin_score

    return float(davies_bouldin_score(X, labels))


def cluster_kernels(kernels, n_clusters: int = 3, **options) -> tuple[np.ndarray, np.ndarray]:
    """Function twin of :class:`KernelAtlas`: ``(labels (K,), centers (k, 9))``.

    ``options`` are :class:`KernelAtlas`'s keyword arguments.
    """
    atlas = KernelAtlas(n_clusters, **options).fit(kernels)
    return atlas.labels_, atlas.centers_


@dataclass(frozen=True)
class LayerClusters:
    """Per-layer clustering of a :class:`KernelSet`.

    Attributes
    ----------
    labels : (K,) int array
        Cluster of each kernel within its own layer.
    centers : list of (k, 9) arrays
        One per layer (canonical space when canonicalised).
    inertia, silhouette, davies_bouldin : (L,) arrays
        One score per layer.
    atlases : list of KernelAtlas
        The fitted estimators.
    """

    labels: np.ndarray
    centers: list
    inertia: np.ndarray
    silhouette: np.ndarray
    davies_bouldin: np.ndarray
    atlases: list


def cluster_layers(kernel_set: KernelSet, n_clusters: int = 3, **options) -> LayerClusters:
    """Run :class:`KernelAtlas` on every layer of ``kernel_set`` separately (the paper's Figure 3).

    A layer with fewer kernels than ``n_clusters`` uses as many clusters as kernels.

    Parameters
    ----------
    kernel_set : KernelSet
    n_clusters : int, optional
        Default 3.
    **options
        :class:`KernelAtlas` keyword arguments (``canonicalize``, ``n_init``, ``random_state``, ...).

    Returns
    -------
    LayerClusters
    """
    labels = np.zeros(len(kernel_set), dtype=np.int64)
    atlases = []
    for index, info in enumerate(kernel_set.layers):
        X = kernel_set.layer_kernels(index)
        atlas = KernelAtlas(min(n_clusters, len(X)), **options).fit(X)
        labels[info.start : info.stop] = atlas.labels_
        atlases.append(atlas)
    return LayerClusters(
        labels=labels,
        centers=[a.centers_ for a in atlases],
        inertia=np.array([a.inertia_ for a in atlases]),
        silhouette=np.array([a.silhouette_ for a in atlases]),
        davies_bouldin=np.array([a.davies_bouldin_ for a in atlases]),
        atlases=atlases,
    )


def k_scan(kernels, k_values=range(2, 11), **options) -> dict[str, np.ndarray]:
    """Scores of :class:`KernelAtlas` for several k.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    k_values : iterable of int, optional
        Default 2..10.
    **options
        :class:`KernelAtlas` keyword arguments.

    Returns
    -------
    dict
        ``"k"``, ``"inertia"``, ``"silhouette"``, ``"davies_bouldin"``: arrays of equal length.
    """
    ks = [int(k) for k in k_values]
    fits = [KernelAtlas(k, **options).fit(kernels) for k in ks]
    return {
        "k": np.array(ks),
        "inertia": np.array([f.inertia_ for f in fits]),
        "silhouette": np.array([f.silhouette_ for f in fits]),
        "davies_bouldin": np.array([f.davies_bouldin_ for f in fits]),
    }
