"""Figures of the kernel explorer, built from arrays.

The scatter is the one plotly figure (the app wraps it in a ``FigureWidget`` and
updates it in place). The 3x3 heatmaps (the clicked kernel beside its nearest
stencil, the cluster centres) and the layer summary are small HTML blocks
(:func:`kernel_pair_html`, :func:`centroids_html`, :func:`fractions_html`) that the
app replaces as a whole: a few kilobytes, one message, no plot to redraw.

The scatter reuses :func:`~lsn_explorer.viz.kernels.kernel_scatter_figure` with the
kernels in a single trace (coloured per point by cluster, so plotly's point index is
the kernel's position in the layer and a click or a selection maps straight back
to it), plus one legend entry per cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..viz.kernels import CLUSTER_COLORS, kernel_scatter_figure

__all__ = [
    "MAX_LEGEND_CLUSTERS",
    "cluster_colors",
    "explorer_scatter_figure",
    "kernel_pair_html",
    "heatmap_html",
    "centroids_html",
    "fractions_html",
]

MAX_LEGEND_CLUSTERS = 8
"""Legend entries kept in the scatter (k is at most 8 in the app)."""


def cluster_colors(labels) -> np.ndarray:
    """The colour of each label, as :data:`~lsn_explorer.viz.kernels.CLUSTER_COLORS`; ``(n,)`` str."""
    palette = np.array(CLUSTER_COLORS, dtype=object)
    return palette[np.asarray(labels, dtype=np.int64) % len(palette)]


def explorer_scatter_figure(
    coords,
    labels,
    *,
    ref_coords=None,
    ref_names: Sequence[str] = (),
    fd_names: Sequence[str] = (),
    hover: Sequence[str] | None = None,
    title: str | None = None,
    axis_titles: tuple[str, str] = ("PC 1", "PC 2"),
    ranges: tuple[list, list] | None = None,
    marker_size: int = 9,
    webgl: bool = True,
) -> go.Figure:
    """One layer's kernels as a single clickable trace, coloured by cluster, with the stencils.

    Parameters
    ----------
    coords : (n, 2) array
    labels : (n,) int array
    ref_coords : (R, 2) array, optional
    ref_names, fd_names : sequence of str, optional
        As :func:`~lsn_explorer.viz.kernels.kernel_scatter_figure`.
    hover : sequence of n str, optional
    title : str, optional
    axis_titles : (str, str), optional
    ranges : ([x0, x1], [y0, y1]), optional
        Axis ranges; default the builder's zoom on the kernels and reference kernels.
    marker_size : int, optional
        Default 9 (easy to click).
    webgl : bool, optional
        Draw the kernels with WebGL (``Scattergl``): a layer of 4,096 kernels redraws in
        tens of milliseconds instead of hundreds as SVG. Default True.

    Returns
    -------
    go.Figure
        ``data[0]`` the kernels (point i = kernel i of the layer); then the stencil
        traces ("reference stencils", "LSN stencils"); then :data:`MAX_LEGEND_CLUSTERS`
        empty legend entries ``cluster c``, visible for ``c`` < k. Each trace's ``meta``
        says what it draws, for code that updates it: ``{"kernels": True}``,
        ``{"stencils": "reference" | "lsn"}`` or ``{"cluster": c}``.
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels, dtype=np.int64)
    fig = kernel_scatter_figure(
        coords, np.zeros(len(coords), dtype=np.int64), ref_coords=ref_coords, ref_names=ref_names,
        fd_names=fd_names, hover=hover, title=title, axis_titles=axis_titles, webgl=webgl,
    )
    if not fig.data or fig.data[0].name != "cluster 0":  # no kernels: keep an empty first trace
        fig.add_trace((go.Scattergl if webgl else go.Scatter)(x=[], y=[], mode="markers"))
        fig.data = (fig.data[-1], *fig.data[:-1])
    fig.data[0].update(name="kernels", showlegend=False, legendgroup=None, meta={"kernels": True},
                       marker=dict(color=cluster_colors(labels), size=marker_size, opacity=0.75, line=dict(width=0.5, color="white")))
    for trace in fig.data[1:]:
        trace.meta = {"stencils": {"reference stencils": "reference", "LSN stencils": "lsn"}[trace.name]}
    k = int(labels.max()) + 1 if len(labels) else 0
    for c in range(MAX_LEGEND_CLUSTERS):
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=f"cluster {c}", visible=c < k, hoverinfo="skip", meta={"cluster": c},
            marker=dict(size=10, color=CLUSTER_COLORS[c % len(CLUSTER_COLORS)]),
        ))
    fig.update_layout(width=620, height=520, dragmode="select", hovermode="closest", clickmode="event",
                      margin=dict(l=60, r=20, t=60, b=50), uirevision="layer")
    if ranges is not None:
        fig.update_xaxes(range=ranges[0])
        fig.update_yaxes(range=ranges[1])
    return fig


def _diverging(t: float) -> str:
    """Colour of ``t`` in [-1, 1] on a blue-white-red scale (RdBu reversed)."""
    stops = ((-1.0, (33, 102, 172)), (-0.5, (103, 169, 207)), (0.0, (247, 247, 247)), (0.5, (239, 138, 98)), (1.0, (178, 24, 43)))
    t = float(np.clip(t, -1.0, 1.0))
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            w = (t - t0) / (t1 - t0)
            return "rgb({},{},{})".format(*(round(a + w * (b - a)) for a, b in zip(c0, c1)))
    return "rgb(178,24,43)"


def heatmap_html(kernel, *, vmax: float, title: str = "", cell: int = 42, decimals: int = 2) -> str:
    """A 3x3 kernel as an HTML table of coloured cells (row 0 on top), values written in.

    Parameters
    ----------
    kernel : (3, 3) or (9,) array
    vmax : float
        Value drawn at full red (and ``-vmax`` at full blue).
    title : str, optional
        HTML shown above the table.
    cell : int, optional
        Cell size in pixels. Default 42.
    decimals : int, optional
        Default 2.

    Returns
    -------
    str
    """
    k = np.asarray(kernel, dtype=np.float64).reshape(3, 3)
    vmax = float(vmax) or 1.0
    rows = []
    for r in range(3):
        cells = []
        for c in range(3):
            t = k[r, c] / vmax
            ink = "white" if abs(t) > 0.6 else "#222"
            cells.append(f"<td style='width:{cell}px;height:{cell}px;background:{_diverging(t)};color:{ink};"
                         f"text-align:center;font-size:11px;border:1px solid white'>{k[r, c]:.{decimals}f}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div style='display:inline-block;margin:0 8px 6px 0;vertical-align:top'>"
            f"<div style='font-size:11px;text-align:center;min-height:30px'>{title}</div>"
            f"<table style='border-collapse:collapse'>{''.join(rows)}</table></div>")


def centroids_html(centers, *, titles: Sequence[str], title: str = "") -> str:
    """Cluster centres as 3x3 HTML heatmaps on one symmetric scale, side by side.

    Parameters
    ----------
    centers : (k, 9) or (k, 3, 3) array
    titles : sequence of k str
        One caption per centre (HTML).
    title : str, optional

    Returns
    -------
    str
    """
    C = np.asarray(centers, dtype=np.float64).reshape(-1, 3, 3)
    vmax = float(np.abs(C).max()) if C.size else 1.0
    maps = "".join(heatmap_html(c, vmax=vmax, title=t) for c, t in zip(C, titles))
    return f"<div class='kx-centroids-title' style='font-weight:bold;margin:4px 0'>{title}</div><div>{maps}</div>"


def kernel_pair_html(kernel, stencil, *, title: str, stencil_title: str = "nearest stencil") -> str:
    """A kernel and its nearest stencil (scaled to it) as two 3x3 HTML heatmaps on one scale.

    Parameters
    ----------
    kernel, stencil : (3, 3) arrays
    title : str
        Written above, in an element of class ``kx-detail-title`` (escaped).
    stencil_title : str, optional

    Returns
    -------
    str
    """
    import html

    vmax = float(max(np.abs(kernel).max(), np.abs(stencil).max())) or 1.0
    return (f"<div class='kx-detail-title' style='font-weight:bold;font-size:15px;margin:4px 0'>{html.escape(title)}</div>"
            + heatmap_html(kernel, vmax=vmax, title="kernel", cell=52)
            + heatmap_html(stencil, vmax=vmax, title=html.escape(stencil_title), cell=52))


def fractions_html(operators: Mapping[str, float], stencils: Mapping[str, float], *, title: str = "") -> str:
    """Two columns of horizontal bars: fraction of a layer's kernels near each operator / stencil.

    Parameters
    ----------
    operators, stencils : mapping of str -> float
        From :func:`~lsn_explorer.kernels.tables.layer_fractions`.
    title : str, optional

    Returns
    -------
    str
    """
    def column(name, values, color):
        rows = "".join(
            f"<tr style='line-height:13px'><td style='font-size:11px;padding:0 6px 0 0;text-align:right'>{k}</td>"
            f"<td style='width:160px;padding:0'><div style='background:{color if k != 'none' else '#bbbbbb'};height:10px;"
            f"width:{160 * max(0.0, min(1.0, v)):.0f}px'></div></td>"
            f"<td style='font-size:11px;padding:0 0 0 4px'>{v:.0%}</td></tr>"
            for k, v in values.items()
        )
        return (f"<div style='display:inline-block;vertical-align:top;margin-right:24px'><b style='font-size:12px'>{name}</b>"
                f"<table>{rows}</table></div>")

    return (f"<div class='kx-fractions-title' style='font-weight:bold;margin:4px 0'>{title}</div>"
            + column("nearest operator", operators, "#1f77b4") + column("nearest stencil", stencils, "#d62728"))
