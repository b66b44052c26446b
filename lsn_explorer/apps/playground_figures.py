"""The level-set playground's figures: the slice (or its edge function g) with the label, the front and the
bubbles, as plotly traces; and the growth of ``max|u|`` over a run, as a small inline SVG."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sequential

from ..viz.slices import mask_contour, png_data_uri, window_to_uint8

__all__ = ["playground_figure", "slice_png", "edge_png", "growth_svg", "IMAGE_TRACE", "LABEL_TRACE", "FRONT_TRACE",
           "BUBBLE_TRACE"]

#: Trace order of :func:`playground_figure`.
IMAGE_TRACE, LABEL_TRACE, FRONT_TRACE, BUBBLE_TRACE = 0, 1, 2, 3


def slice_png(image: np.ndarray) -> str:
    """An ``(H, W)`` slice as a grey PNG ``data:`` URI (its own range from black to white)."""
    return png_data_uri(np.repeat(window_to_uint8(np.asarray(image))[..., None], 3, -1))


def edge_png(g) -> str:
    """An edge function as a Viridis PNG ``data:`` URI on the fixed range [0, 1].

    Parameters
    ----------
    g : (H, W) or (1, 1, H, W) array or Tensor
        Values in [0, 1]; outside is clipped.

    Returns
    -------
    str
        ``data:image/png;base64,...``: dark purple where ``g ≈ 0`` (edges, where
        the front stops), yellow where ``g ≈ 1`` (flat, full speed).
    """
    values = np.asarray(g.detach().cpu() if hasattr(g, "detach") else g, dtype=np.float64)
    values = np.clip(values.reshape(values.shape[-2:]), 0.0, 1.0)
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in sequential.Viridis], dtype=np.float64)
    where = np.linspace(0.0, 1.0, len(stops))
    rgb = np.stack([np.interp(values, where, stops[:, k]) for k in range(3)], -1)
    return png_data_uri(np.round(rgb).astype(np.uint8))


def playground_figure(image: np.ndarray, mask: np.ndarray | None = None, *, title: str | None = None) -> go.Figure:
    """The slice (clickable PNG), the label contour, the front and the bubble markers.

    Parameters
    ----------
    image : (H, W) array
        The slice, drawn from its minimum (black) to its maximum (white).
    mask : (H, W) array, optional
        The label, outlined in green.
    title : str, optional

    Returns
    -------
    go.Figure
        Traces: 0 the image (hover reports row and column, so clicks carry
        them), 1 the label (green), 2 the zero contour of ``u`` (red, empty),
        3 the bubble centres (markers, empty).
    """
    img = np.asarray(image)
    lx, ly = mask_contour(mask) if mask is not None else ([], [])
    fig = go.Figure([
        go.Image(source=slice_png(img), hovertemplate="row %{y}, col %{x}<extra></extra>", name="slice"),
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


def growth_svg(steps=(), max_abs=(), *, current: int | None = None, width: int = 370, height: int = 190) -> str:
    """``max|u|`` per recorded frame as an inline SVG line on a log axis, with a dot on the frame shown.

    Parameters
    ----------
    steps : sequence of int
        Step of each frame (see :class:`~lsn_explorer.apps.playground_compute.Evolution`).
    max_abs : sequence of float
        ``max|u|`` of each frame, positive.
    current : int, optional
        Index of the frame shown (a red dot); none by default.
    width, height : int
        Pixels. Defaults 370 and 190.

    Returns
    -------
    str
        ``<svg ...>``: a polyline with one vertex per frame (``class="growth"``) between
        decade grid lines; a flat or falling line is a stable run, a rising straight
        line one that blows up geometrically.

    Examples
    --------
    >>> svg = growth_svg([0, 10, 20], [5.0, 50.0, 500.0], current=2)
    >>> svg.count("<polyline"), svg.count("<circle")
    (1, 1)
    """
    left, right, top, bottom = 44, 12, 22, 30
    title = (f"<text x='{width / 2}' y='15' text-anchor='middle' font-size='13' fill='#2a3f5f'>"
             "max|u| per frame</text>")
    head = f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif'>"
    frame = f"<rect x='{left}' y='{top}' width='{width - left - right}' height='{height - top - bottom}' fill='#e5ecf6'/>"
    x = np.asarray(steps, dtype=np.float64)
    y = np.log10(np.clip(np.asarray(max_abs, dtype=np.float64), 1e-30, None))
    if x.size == 0:
        empty = f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle' font-size='12' fill='#888'>run to see it</text>"
        return head + title + frame + empty + "</svg>"
    lo, hi = int(np.floor(y.min())), int(np.ceil(y.max()))
    hi = max(hi, lo + 1)
    span_x = max(float(x.max()), 1.0)

    def px(step, value):
        return (left + step / span_x * (width - left - right),
                height - bottom - (value - lo) / (hi - lo) * (height - top - bottom))

    every = max(1, -(-(hi - lo) // 5))
    grid = "".join(
        f"<line x1='{left}' x2='{width - right}' y1='{px(0, k)[1]:.1f}' y2='{px(0, k)[1]:.1f}' stroke='white'/>"
        f"<text x='{left - 4}' y='{px(0, k)[1] + 4:.1f}' text-anchor='end' font-size='11' fill='#2a3f5f'>10"
        f"<tspan dy='-5' font-size='8'>{k}</tspan></text>"
        for k in range(lo, hi + 1, every))
    axis = "".join(f"<text x='{px(t, lo)[0]:.1f}' y='{height - bottom + 14}' text-anchor='middle' font-size='11' "
                   f"fill='#2a3f5f'>{t:g}</text>" for t in (0, float(x.max())))
    axis += f"<text x='{(left + width - right) / 2}' y='{height - 3}' text-anchor='middle' font-size='11' fill='#2a3f5f'>step</text>"
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(t, v) for t, v in zip(x, y)))
    body = f"<polyline class='growth' points='{line}' fill='none' stroke='#1f77b4' stroke-width='2'/>"
    if current is not None:
        cx, cy = px(x[current], y[current])
        body += f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='4.5' fill='#ff3b30'/>"
    return head + title + frame + grid + axis + body + "</svg>"
