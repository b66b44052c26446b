"""The kernel atlas: collect, cluster, project and identify learned 3x3 kernels.

Typical use::

    from lsn_explorer.kernels import analyze_kernels
    atlas = analyze_kernels(model)          # nn.Module, checkpoint, state_dict or Keras .h5
    atlas.clusters.labels, atlas.coords     # per-layer k-means, global PCA plane
    atlas.identification.operator           # nearest finite-difference operator per kernel

Modules: ``collect`` (and ``parts``: encoder / decoder from the topology), ``cluster``,
``project``, ``identify``, ``atlas`` (all steps at once), ``tables`` (rows, CSV),
``figures`` (the atlas's plotly figures), ``atlas_umap`` (the cached UMAP view) and
``report`` (the ``lsn-explorer kernels`` command).
"""

from __future__ import annotations

from .._lazy import lazy_exports

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
    "umap_cache_path",
    "cached_umap",
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
    "layer_fractions",
    "kernel_hover",
    "kernels_command",
    "precompute_umap",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "canonicalize": "canonical",
    "dihedral_orbit": "canonical",
    "KernelAtlas": "cluster",
    "LayerClusters": "cluster",
    "cluster_kernels": "cluster",
    "cluster_layers": "cluster",
    "k_scan": "cluster",
    "KernelSet": "collect",
    "LayerInfo": "collect",
    "collect_kernels": "collect",
    "kernels_from_arrays": "collect",
    "kernels_from_model": "collect",
    "read_keras_h5": "collect",
    "OPERATORS": "identify",
    "STENCIL_CATALOGUE": "identify",
    "Identification": "identify",
    "Operator": "identify",
    "identify_kernels": "identify",
    "nearest_stencil": "identify",
    "kernel_from_moments": "moments",
    "moment_matrix": "moments",
    "PCA2": "project",
    "layer_pca": "project",
    "umap_cache_name": "project",
    "umap_cache_path": "project",
    "umap_embedding": "project",
    "Atlas": "atlas",
    "analyze_kernels": "atlas",
    "cached_umap": "atlas_umap",
    "precompute_umap": "atlas_umap",
    "kernel_hover": "figures",
    "kernels_command": "report",
    "layer_fractions": "tables",
    "layer_summary": "tables",
    "sorted_spectra": "spectrum",
    "spectrum_labels": "spectrum",
})
