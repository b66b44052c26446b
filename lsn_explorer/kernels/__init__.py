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

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
