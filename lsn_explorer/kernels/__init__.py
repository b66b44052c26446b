"""The kernel atlas: collect, cluster, project and identify learned 3x3 kernels.

Typical use::

    from lsn_explorer.kernels import analyze_kernels
    atlas = analyze_kernels(model)          # nn.Module, checkpoint, state_dict or Keras .h5
    atlas.clusters.labels, atlas.coords     # per-layer k-means, global PCA plane
    atlas.identification.operator           # nearest finite-difference operator per kernel
"""

from __future__ import annotations

from .canonical import canonicalize, dihedral_orbit
from .cluster import KernelAtlas, LayerClusters, cluster_kernels, cluster_layers, k_scan
from .collect import KernelSet, LayerInfo, collect_kernels, kernels_from_arrays, kernels_from_model, read_keras_h5
from .identify import OPERATORS, STENCIL_CATALOGUE, Identification, Operator, identify_kernels, nearest_stencil
from .moments import kernel_from_moments, moment_matrix
from .project import PCA2, layer_pca, umap_cache_name, umap_embedding
from .report import Atlas, analyze_kernels, kernels_command, layer_summary, precompute_umap
from .spectrum import sorted_spectra, spectrum_labels

__all__ = [
    "KernelSet",
    "LayerInfo",
    "collect_kernels",
    "kernels_from_model",
    "kernels_from_arrays",
    "read_keras_h5",
    "canonicalize",
    "dihedral_orbit",
    "KernelAtlas",
    "LayerClusters",
    "cluster_kernels",
    "cluster_layers",
    "k_scan",
    "PCA2",
    "layer_pca",
    "umap_embedding",
    "umap_cache_name",
    "moment_matrix",
    "kernel_from_moments",
    "Operator",
    "OPERATORS",
    "STENCIL_CATALOGUE",
    "Identification",
    "identify_kernels",
    "nearest_stencil",
    "sorted_spectra",
    "spectrum_labels",
    "Atlas",
    "analyze_kernels",
    "layer_summary",
    "kernels_command",
    "precompute_umap",
]
