"""Figures of the kernel atlas (the paper's Figure 3 and beyond).

Every builder takes arrays and returns a ``plotly.graph_objects.Figure``;
none computes a clustering or a projection, and none shows anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "CLUSTER_COLORS",
    "view_range",
    "kernel_scatter_figure",
    "scatter_grid_figure",
    "centroid_heatmaps_figure",
    "layer_summary_figure",
]

CLUSTER_COLORS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#d62728",
)
_REF_COLOR = "#d62728"
_FD_COLOR = "#111111"


def view_range(coords, ref_coords=None, *, pad: float = 0.08) -> tuple[list[float], list[float]]:
    """x and y ranges covering the kernels (0.5–99.5 percentiles) and the given stencils.

    Parameters
    ----------
    coords : (n, 2) array
    ref_coords : (R, 2) array, optional
        Stencils to keep in view (pass the reference kernels, not the far-out LSN stencils).
    pad : float, optional
        Margin, as a fraction of the span. Default 0.08.

    Returns
    -------
    ([x0, x1], [y0, y1])
        ``([-1 - pad·2, 1 + pad·2], ...)`` when there is nothing to cover.

    Examples
    --------
    >>> view_range(np.array([[0.0, 0.0], [1.0, 2.0]]), pad=0.0)
    ([0.005, 0.995], [0.01, 1.99])
    """
    pts = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    if ref_coords is not None and len(ref_coords):
        R = np.asarray(ref_coords, dtype=np.float64).reshape(-1, 2)
    else:
        R = np.zeros((0, 2))
    if len(pts):
        lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
        if len(R):
            lo, hi = np.minimum(lo, R.min(axis=0)), np.maximum(hi, R.max(axis=0))
    elif len(R):
        lo, hi = R.min(axis=0), R.max(axis=0)
    else:
        lo, hi = np.full(2, -1.0), np.full(2, 1.0)
    span = np.maximum(hi - lo, 1e-9)
    return ([float(lo[0] - pad * span[0]), float(hi[0] + pad * span[0])],
            [float(lo[1] - pad * span[1]), float(hi[1] + pad * span[1])])


def _zoom_ranges(coords_list, ref_coords, ref_names, fd_names):
    """:func:`view_range` of several layers' kernels and the stencils that are not the LSN's; None if empty."""
    pts = [np.asarray(c, dtype=np.float64).reshape(-1, 2) for c in coords_list if len(c)]
    pts = np.concatenate(pts) if pts else np.zeros((0, 2))
    R = np.zeros((0, 2))
    if ref_coords is not None and len(ref_names):
        keep = np.array([n not in set(fd_names) for n in ref_names], dtype=bool)
        R = np.asarray(ref_coords, dtype=np.float64).reshape(-1, 2)[keep]
    if not len(pts) and not len(R):
        return None
    return view_range(pts, R)


def _cluster_traces(coords, labels, *, hover=None, marker_size=5, showlegend=True, webgl=False):
    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    Scatter = go.Scattergl if webgl else go.Scatter
    traces = []
    for c in np.unique(labels):
        sel = labels == c
        traces.append(
            Scatter(
                x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=f"cluster {c}",
                legendgroup=f"cluster {c}", showlegend=showlegend,
                marker=dict(size=marker_size, color=CLUSTER_COLORS[int(c) % len(CLUSTER_COLORS)], opacity=0.6),
                text=None if hover is None else np.asarray(hover)[sel],
                hovertemplate="%{text}<extra></extra>" if hover is not None else None,
            )
        )
    return traces


def _reference_traces(ref_coords, ref_names, *, fd_names=(), showlegend=True, textsize=10):
    ref_coords = np.asarray(ref_coords, dtype=np.float64)
    names = list(ref_names)
    is_fd = np.array([n in set(fd_names) for n in names], dtype=bool)
    traces = []
    for group, mask, color, symbol in (
        ("reference stencils", ~is_fd, _REF_COLOR, "square"),
        ("LSN stencils", is_fd, _FD_COLOR, "diamond"),
    ):
        if not mask.any():
            continue
        traces.append(
            go.Scatter(
                x=ref_coords[mask, 0], y=ref_coords[mask, 1], mode="markers+text", name=group,
                legendgroup=group, showlegend=showlegend,
                text=[n for n, m in zip(names, mask) if m], textposition="top center",
                textfont=dict(size=textsize, color=color),
                marker=dict(size=9, color=color, symbol=symbol, line=dict(width=1, color="white")),
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return traces


def kernel_scatter_figure(
    coords,
    labels,
    *,
    ref_coords=None,
    ref_names: Sequence[str] = (),
    fd_names: Sequence[str] = (),
    hover: Sequence[str] | None = None,
    title: str | None = None,
    axis_titles: tuple[str, str] = ("PC 1", "PC 2"),
    zoom: bool = True,
    webgl: bool = False,
) -> go.Figure:
    """One layer's kernels in a 2-D projection, coloured by cluster, with labelled stencils.

    Parameters
    ----------
    coords : (K, 2) array
        Kernel coordinates (global PCA, per-layer PCA or UMAP).
    labels : (K,) int array
        Cluster of each kernel.
    ref_coords : (R, 2) array, optional
        Stencils in the same projection.
    ref_names : sequence of R str, optional
        Their names, written beside the markers.
    fd_names : sequence of str, optional
        Which of ``ref_names`` are the LSN's finite differences (drawn as black diamonds
        rather than red squares).
    hover : sequence of K str, optional
        Hover text of each kernel.
    title : str, optional
    axis_titles : (str, str), optional
    zoom : bool, optional
        Start zoomed on the kernels and the reference kernels; the LSN stencils,
        whose scale is much larger, may lie outside (zoom out to see them). Default True.
    webgl : bool, optional
        ``Scattergl`` for the kernels (fast with many points in a browser). Default False.

    Returns
    -------
    go.Figure
    """
    fig = go.Figure(_cluster_traces(coords, labels, hover=hover, webgl=webgl))
    if ref_coords is not None and len(ref_names):
        fig.add_traces(_reference_traces(ref_coords, ref_names, fd_names=fd_names))
    fig.update_layout(
        title=title, template="plotly_white", width=640, height=520,
        xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], legend=dict(itemsizing="constant"),
    )
    ranges = _zoom_ranges([coords], ref_coords, ref_names, fd_names) if zoom else None
    if ranges:
        fig.update_xaxes(range=ranges[0])
        fig.update_yaxes(range=ranges[1])
    return fig


def scatter_grid_figure(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    ref_coords=None,
    ref_names: Sequence[str] = (),
    fd_names: Sequence[str] = (),
    cols: int = 3,
    shared_axes: bool = True,
    zoom: bool = True,
    panel_size: int = 360,
) -> go.Figure:
    """Several layers' scatters in one grid (the layout of the paper's Figure 3).

    Parameters
    ----------
    panels : sequence of (title, coords (K_l, 2), labels (K_l,))
    ref_coords : (R, 2) array, optional
        Stencils, drawn in every panel (the projection must be shared).
    ref_names, fd_names : sequence of str, optional
        As :func:`kernel_scatter_figure`.
    cols : int, optional
        Panels per row. Default 3.
    shared_axes : bool, optional
        One x and y range for all panels. Default True.
    zoom : bool, optional
        As :func:`kernel_scatter_figure`. Default True.
    panel_size : int, optional
        Pixels per panel. Default 360.

    Returns
    -------
    go.Figure
    """
    rows = max(1, -(-len(panels) // cols))
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=[p[0] for p in panels],
        shared_xaxes="all" if shared_axes else False, shared_yaxes="all" if shared_axes else False,
        horizontal_spacing=0.04, vertical_spacing=0.08,
    )
    for n, (_, coords, labels) in enumerate(panels):
        r, c = divmod(n, cols)
        for tr in _cluster_traces(coords, labels, marker_size=3, showlegend=n == 0):
            fig.add_trace(tr, row=r + 1, col=c + 1)
        if ref_coords is not None and len(ref_names):
            for tr in _reference_traces(ref_coords, ref_names, fd_names=fd_names, showlegend=n == 0, textsize=8):
                fig.add_trace(tr, row=r + 1, col=c + 1)
    fig.update_layout(
        template="plotly_white", width=panel_size * cols, height=int(panel_size * rows * 0.9) + 80,
        legend=dict(orientation="h", y=-0.04, itemsizing="constant"), margin=dict(l=40, r=20, t=50, b=40),
    )
    ranges = _zoom_ranges([p[1] for p in panels], ref_coords, ref_names, fd_names) if zoom else None
    if ranges:
        fig.update_xaxes(range=ranges[0])
        fig.update_yaxes(range=ranges[1])
    return fig


def centroid_heatmaps_figure(
    centers,
    *,
    titles: Sequence[str] | None = None,
    colorscale: str = "RdBu_r",
    decimals: int = 2,
) -> go.Figure:
    """Cluster centres as 3x3 heatmaps, row 0 at the top, on one symmetric colour scale.

    Parameters
    ----------
    centers : (k, 9) or (k, 3, 3) array
    titles : sequence of k str, optional
        Default "cluster 0", "cluster 1", ...
    colorscale : str, optional
        Diverging scale centred on 0. Default "RdBu_r".
    decimals : int, optional
        Digits of the values written in the cells. Default 2.

    Returns
    -------
    go.Figure
    """
    C = np.asarray(centers, dtype=np.float64).reshape(-1, 3, 3)
    k = len(C)
    titles = list(titles) if titles is not None else [f"cluster {i}" for i in range(k)]
    vmax = float(np.abs(C).max()) or 1.0
    fig = make_subplots(rows=1, cols=k, subplot_titles=titles, horizontal_spacing=0.03)
    for i, c in enumerate(C):
        fig.add_trace(
            go.Heatmap(
                z=c, zmin=-vmax, zmax=vmax, colorscale=colorscale, showscale=i == k - 1,
                text=np.round(c, decimals).astype(str), texttemplate="%{text}", hoverinfo="skip",
            ),
            row=1, col=i + 1,
        )
        fig.update_xaxes(showticklabels=False, row=1, col=i + 1, constrain="domain")
        fig.update_yaxes(showticklabels=False, autorange="reversed", scaleanchor=f"x{i + 1 if i else ''}", row=1, col=i + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(template="plotly_white", width=max(260, 210 * k + 60), height=290, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def layer_summary_figure(
    layer_names: Sequence[str],
    fractions: Mapping[str, Sequence[float]],
    *,
    lines: Mapping[str, Sequence[float]] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Stacked bars per layer (e.g. the fraction of kernels nearest each operator).

    Parameters
    ----------
    layer_names : sequence of L str
    fractions : mapping of category -> L values
        Stacked in mapping order.
    lines : mapping of name -> L values, optional
        Drawn as lines with markers on the same axis (e.g. fraction mean-zero, silhouette).
    colors : mapping of category -> colour, optional
        Overrides the default palette for some categories.
    title : str, optional

    Returns
    -------
    go.Figure
    """
    names = list(layer_names)
    fig = go.Figure()
    for n, (cat, vals) in enumerate(fractions.items()):
        fig.add_trace(go.Bar(x=names, y=np.asarray(vals, dtype=float), name=str(cat), marker_color=(colors or {}).get(cat, CLUSTER_COLORS[n % len(CLUSTER_COLORS)])))
    for n, (name, vals) in enumerate((lines or {}).items()):
        fig.add_trace(go.Scatter(x=names, y=np.asarray(vals, dtype=float), name=str(name), mode="lines+markers",
                                 line=dict(color=["black", "#d62728", "#555555"][n % 3], dash=["solid", "dash", "dot"][n % 3])))
    fig.update_layout(barmode="stack", template="plotly_white", title=title, width=max(600, 45 * len(names) + 250),
                      height=420, yaxis_title="fraction of kernels", xaxis_tickangle=-45)
    return fig
