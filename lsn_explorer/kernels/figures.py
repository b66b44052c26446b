"""The atlas's figures: per-layer scatter and cluster centres, summary bars, the Figure-3 grid.

:func:`atlas_figures` turns an :class:`~lsn_explorer.kernels.atlas.Atlas` into
``{file stem: go.Figure}`` with the builders of :mod:`lsn_explorer.viz.kernels`;
:func:`kernel_hover` is the text every view of a kernel shows on hover (the atlas's
HTML figures and the kernel explorer alike).
"""

from __future__ import annotations

import re

import numpy as np

from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS
from .atlas import Atlas
from .identify import OPERATORS, identify_kernels
from .tables import layer_summary

__all__ = ["PAPER_LAYERS", "kernel_hover", "layer_stem", "grid_layers", "atlas_figures"]

PAPER_LAYERS = (2, 11, 12, 15, 17, 18)
"""Layers (1-based) shown in the paper's Figure 3."""


def kernel_hover(atlas: Atlas) -> np.ndarray:
    """Hover text of every kernel: its name, operator (residual, order) and nearest stencil; ``(K,)`` str.

    Examples
    --------
    ``"layer 2 · out 1 · in 0<br>dx (residual 0.12, order 2)<br>nearest D+x (0.30)"``
    """
    ks, ident = atlas.kernels, atlas.identification
    return np.array([
        f"layer {layer + 1} · out {o} · in {i}<br>{op} (residual {r:.2f}, order {od:g})<br>nearest {nn} ({nr:.2f})"
        for layer, o, i, op, r, od, nn, nr in zip(
            ks.layer, ks.out_channel, ks.in_channel, ident.operator, ident.residual, ident.order, ident.nearest, ident.nearest_residual
        )
    ], dtype=object)


def layer_stem(index: int, name: str) -> str:
    """File stem of layer ``index`` (0-based) named ``name``: ``layer_NN_<name>``, the name made file-safe."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "layer"
    return f"layer_{index + 1:02d}_{slug}"


def grid_layers(n_layers: int) -> list[int]:
    """0-based layers for the summary grid: the paper's (2, 11, 12, 15, 17, 18) when there are 18."""
    if n_layers >= 18:
        return [k - 1 for k in PAPER_LAYERS]
    return sorted(set(np.linspace(0, n_layers - 1, min(6, n_layers)).round().astype(int).tolist()))


def _layer_figures(atlas: Atlas, hover: np.ndarray) -> dict:
    """``{"<stem>_scatter": ..., "<stem>_centroids": ...}`` for every layer."""
    from ..viz.kernels import centroid_heatmaps_figure, kernel_scatter_figure

    ev = atlas.pca.explained_variance_ratio_
    axes = (f"PC 1 ({ev[0]:.0%})", f"PC 2 ({ev[1]:.0%})")
    figs = {}
    for index, info in enumerate(atlas.kernels.layers):
        sl = slice(info.start, info.stop)
        stem = layer_stem(index, info.name)
        title = f"layer {index + 1} ({info.name}, {info.part}): {info.n_kernels} kernels, silhouette {atlas.clusters.silhouette[index]:.2f}"
        figs[f"{stem}_scatter"] = kernel_scatter_figure(
            atlas.coords[sl], atlas.clusters.labels[sl], ref_coords=atlas.stencil_coords, ref_names=atlas.stencil_names,
            fd_names=list(FINITE_DIFFERENCE_STENCILS), hover=hover[sl], title=title, axis_titles=axes,
        )
        centers = atlas.clusters.centers[index]
        counts = np.bincount(atlas.clusters.labels[sl], minlength=len(centers))
        cid = identify_kernels(centers)
        figs[f"{stem}_centroids"] = centroid_heatmaps_figure(
            centers, titles=[f"cluster {c} (n={counts[c]})<br>{cid.operator[c]}, residual {cid.residual[c]:.2f}" for c in range(len(centers))]
        ).update_layout(title=f"layer {index + 1} cluster centres")
    return figs


def _summary_figure(rows: list[dict], max_residual: float):
    """Stacked bars of the nearest operator per layer, with mean-zero and silhouette lines."""
    from ..viz.kernels import layer_summary_figure

    fr = {op.name: [r[f"op_{op.name}"] for r in rows] for op in OPERATORS}
    fr = {k: v for k, v in fr.items() if max(v) > 0}
    fr["unidentified"] = [r["op_unidentified"] for r in rows]
    return layer_summary_figure(
        [f"{r['layer']}" for r in rows], fr,
        lines={"mean-zero": [r["mean_zero"] for r in rows], "silhouette": [r["silhouette"] for r in rows]},
        colors={"unidentified": "#dddddd"}, title=f"nearest operator per layer (residual ≤ {max_residual})",
    ).update_layout(xaxis_title="layer")


def _grid_figure(atlas: Atlas):
    """The :func:`grid_layers` scatters in one grid, on the global PCA plane."""
    from ..viz.kernels import scatter_grid_figure

    ks = atlas.kernels
    panels = [
        (f"layer {i + 1} ({ks.layers[i].part})", atlas.coords[ks.layers[i].start : ks.layers[i].stop],
         atlas.clusters.labels[ks.layers[i].start : ks.layers[i].stop])
        for i in grid_layers(ks.n_layers)
    ]
    return scatter_grid_figure(panels, ref_coords=atlas.stencil_coords, ref_names=atlas.stencil_names,
                               fd_names=list(FINITE_DIFFERENCE_STENCILS))


def atlas_figures(atlas: Atlas, *, max_residual: float = 0.5) -> tuple[dict, list[dict]]:
    """The atlas's figures and its per-layer summary.

    Parameters
    ----------
    atlas : Atlas
    max_residual : float, optional
        Residual up to which a kernel counts as near an operator (see
        :func:`~lsn_explorer.kernels.tables.layer_summary`). Default 0.5.

    Returns
    -------
    figures : dict of str -> go.Figure
        ``<stem>_scatter`` and ``<stem>_centroids`` per layer (:func:`layer_stem`),
        ``summary_operators`` and ``figure3_grid``.
    rows : list of dict
        :func:`~lsn_explorer.kernels.tables.layer_summary` rows.
    """
    figs = _layer_figures(atlas, kernel_hover(atlas))
    rows = layer_summary(atlas, max_residual=max_residual)
    figs["summary_operators"] = _summary_figure(rows, max_residual)
    figs["figure3_grid"] = _grid_figure(atlas)
    return figs, rows
