"""The level-set playground's figure: the slice, the label, the front and the bubbles, as plotly traces."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..viz.slices import mask_contour, png_data_uri, window_to_uint8

__all__ = ["playground_figure", "IMAGE_TRACE", "LABEL_TRACE", "FRONT_TRACE", "BUBBLE_TRACE"]

#: Trace order of :func:`playground_figure`.
IMAGE_TRACE, LABEL_TRACE, FRONT_TRACE, BUBBLE_TRACE = 0, 1, 2, 3


def playground_figure(image: np.ndarray, mask: np.ndarray | None = None, *, title: str | None = None) -> go.Figure:
    """The slice (clickable PNG), the label contour, the front and the bubble markers.

    Returns
    -------
    go.Figure
        Traces: 0 the image (hover reports row and column, so clicks carry
        them), 1 the label (green), 2 the zero contour of ``u`` (red, empty),
        3 the bubble centres (markers, empty).
    """
    img = np.asarray(image)
    rgb = np.repeat(window_to_uint8(img)[..., None], 3, -1)
    lx, ly = mask_contour(mask) if mask is not None else ([], [])
    fig = go.Figure([
        go.Image(source=png_data_uri(rgb), hovertemplate="row %{y}, col %{x}<extra></extra>", name="slice"),
        go.Scatter(x=lx, y=ly, mode="lines", line=dict(color="#34c759", width=1.5), hoverinfo="skip", name="label"),
        go.Scatter(x=[], y=[], mode="lines", line=dict(color="#ff3b30", width=2), hoverinfo="skip", name="u = 0"),
        go.Scatter(x=[], y=[], mode="markers", marker=dict(color="#ffcc00", size=9, symbol="circle-open", line=dict(width=2)),
                   hoverinfo="skip", name="bubbles"),
    ])
    fig.update_layout(
        title=title, width=560, height=560, margin=dict(l=10, r=10, t=40 if title else 10, b=10), showlegend=False,
        xaxis=dict(visible=False, range=[-0.5, img.shape[1] - 0.5]),
        yaxis=dict(visible=False, range=[img.shape[0] - 0.5, -0.5], scaleanchor="x"),
        hovermode="closest", dragmode=False,
    )
    return fig
