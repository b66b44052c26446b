"""The speed maps a speed-map LSN predicts, beside the slice they were predicted for."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .evolution import _as_2d
from .slices import mask_contour

__all__ = ["speed_maps_figure"]


def speed_maps_figure(image, alpha, g, *, mask=None, title: str | None = None) -> go.Figure:
    """Three panels: the slice, the propagation speed α(x) and the stopping map g(x).

    Parameters
    ----------
    image, alpha, g : (H, W) or (1, 1, H, W) arrays or Tensors
        The slice, α in (-1, 1) (red grows the region, blue shrinks it) and g in (0, 1).
    mask : (H, W) array, optional
        The label, drawn as a green contour on every panel.
    title : str, optional

    Returns
    -------
    go.Figure
        Traces 0-2 the three heatmaps, then the label contour per panel if given.
    """
    img, a, stop = (_as_2d(name, x) for name, x in (("image", image), ("alpha", alpha), ("g", g)))
    fig = make_subplots(rows=1, cols=3, subplot_titles=("CT slice", "α(x): propagation speed", "g(x): stopping map"),
                        horizontal_spacing=0.06)
    fig.add_trace(go.Heatmap(z=img, colorscale="gray", showscale=False, hovertemplate="%{z:.2f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=a, colorscale="RdBu_r", zmin=-1, zmax=1, zmid=0, colorbar=dict(x=0.63, len=0.8),
                             hovertemplate="α %{z:.2f}<extra></extra>"), 1, 2)
    fig.add_trace(go.Heatmap(z=stop, colorscale="Viridis", zmin=0, zmax=1, colorbar=dict(x=1.0, len=0.8),
                             hovertemplate="g %{z:.2f}<extra></extra>"), 1, 3)
    if mask is not None:
        x, y = mask_contour(np.asarray(mask))
        for col in (1, 2, 3):
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(color="#34c759", width=1.5), hoverinfo="skip",
                                     showlegend=False), 1, col)
    for col in (1, 2, 3):
        fig.update_xaxes(visible=False, row=1, col=col, scaleanchor=f"y{'' if col == 1 else col}")
        fig.update_yaxes(visible=False, autorange="reversed", row=1, col=col)
    fig.update_layout(title=title, height=340, width=980, margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig
