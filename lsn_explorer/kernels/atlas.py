"""The whole atlas of one model: collect, cluster per layer, project, identify.

:func:`analyze_kernels` runs every step once per model (collect, per-layer
k-means, one global PCA, identification, the authors' spectral labels) and
returns an :class:`Atlas` of plain arrays that tables, figures and apps slice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS, REFERENCE_KERNELS
from .cluster import LayerClusters, cluster_layers
from .collect import KernelSet, collect_kernels
from .identify import Identification, identify_kernels
from .project import PCA2, reference_matrix
from .spectrum import spectrum_labels
from .stage_clock import StageClock

__all__ = ["PLOT_STENCILS", "FIRST_ORDER_STENCILS", "Atlas", "analyze_kernels"]

PLOT_STENCILS = {**REFERENCE_KERNELS, **FINITE_DIFFERENCE_STENCILS}
"""What the scatters show beside the kernels: the 11 reference kernels and the LSN's finite differences."""

FIRST_ORDER_STENCILS = ("edge-right", "edge-up", "edge-left", "edge-down", "D+x", "D-x", "D+y", "D-y", "Dx", "Dy")
"""Stencils of first derivatives (the paper: "no clear cluster ... around first-order stencils")."""


@dataclass(frozen=True)
class Atlas:
    """Everything the kernel atlas computes for one model (arrays, no figures).

    Attributes
    ----------
    kernels : KernelSet
    clusters : LayerClusters
        Per-layer k-means.
    pca : PCA2
        One basis fitted on all kernels.
    coords : (K, 2) array
        Kernels in the global PCA plane.
    stencil_names : list of str
        :data:`PLOT_STENCILS` names.
    stencil_coords : (R, 2) array
        The stencils in the same plane (same centring as the data).
    identification : Identification
    spectral : (K,) array of str
        The authors' FFT-spectrum label.
    options : dict
        The arguments of :func:`analyze_kernels`.
    """

    kernels: KernelSet
    clusters: LayerClusters
    pca: PCA2
    coords: np.ndarray
    stencil_names: list
    stencil_coords: np.ndarray
    identification: Identification
    spectral: np.ndarray
    options: dict


def analyze_kernels(
    model,
    *,
    n_clusters: int = 3,
    canonicalize: bool = False,
    symmetry: bool = False,
    n_init: int = 10,
    random_state: int = 0,
    spectrum_shape: tuple[int, int] | None = (32, 32),
    progress: Callable[[str], None] | None = None,
) -> Atlas:
    """Collect, cluster per layer, project with one global PCA, and identify every kernel.

    Parameters
    ----------
    model : nn.Module, KernelSet, str or Path
        Anything :func:`~lsn_explorer.kernels.collect_kernels` accepts.
    n_clusters : int, optional
        k of the per-layer k-means. Default 3.
    canonicalize, symmetry : bool, optional
        Cluster canonical forms (see :class:`~lsn_explorer.kernels.KernelAtlas`). Default False.
    n_init : int, optional
        k-means restarts. Default 10.
    random_state : int, optional
        Seed. Default 0.
    spectrum_shape : (int, int) or None, optional
        Grid of the authors' spectral labels; ``None`` skips them
        (labels ``"n/a"``). Default (32, 32).
    progress : callable, optional
        ``progress(line)`` after each stage (collect, cluster, project, identify),
        e.g. ``"cluster: 7 layers, k = 3 (1.9 s)"``. Default: silent.

    Returns
    -------
    Atlas

    Raises
    ------
    InputError
        If the model has fewer than 2 kernels.
    """
    clock = StageClock(progress)
    ks = collect_kernels(model)
    if len(ks) < 2:
        raise InputError(f"{ks.source} has {len(ks)} kernel; the atlas needs at least 2")
    clock.done("collect", f"{len(ks)} kernels in {ks.n_layers} layers from {ks.source}")
    clusters = cluster_layers(
        ks, n_clusters, canonicalize=canonicalize, symmetry=symmetry, n_init=n_init, random_state=random_state
    )
    clock.done("cluster", f"{ks.n_layers} layers, k = {n_clusters}")
    pca = PCA2(2).fit(ks.kernels)
    names, R = reference_matrix(PLOT_STENCILS)
    clock.done("project", f"global PCA of {len(ks)} kernels and {len(names)} stencils")
    ident = identify_kernels(ks.kernels)
    spectral = spectrum_labels(ks.kernels, spectrum_shape)[0] if spectrum_shape else np.full(len(ks), "n/a")
    clock.done("identify", "nearest operator and stencil" + (", spectral labels" if spectrum_shape else ""))
    return Atlas(
        kernels=ks, clusters=clusters, pca=pca, coords=pca.transform(ks.kernels), stencil_names=names,
        stencil_coords=pca.transform(R), identification=ident, spectral=spectral,
        options=dict(n_clusters=n_clusters, canonicalize=canonicalize, symmetry=symmetry, n_init=n_init,
                     random_state=random_state, spectrum_shape=spectrum_shape),
    )
