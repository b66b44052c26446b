"""Animate a level-set evolution: one image, one zero contour per recorded step.

The slice is sent to the browser once, as a PNG (``go.Image``); each animation
frame only replaces the coordinates of one line trace, so a hundred frames of
a 256² slice stay light and play smoothly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..errors import InputError
from .slices import png_data_uri, window_to_uint8

__all__ = ["evolution_figure", "zero_contour"]


def _as_2d(name: str, x) -> np.ndarray:
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise InputError(f"{name} has shape {np.shape(a)}; expected (H, W) or (1, 1, H, W)")
    return a.astype(np.float64)


def zero_contour(u) -> tuple[np.ndarray, np.ndarray]:
    """The zero level of ``u`` by marching squares, as line segments.

    Parameters
    ----------
    u : (H, W) or (1, 1, H, W) array or Tensor

    Returns
    -------
    x, y : (3 S,) float ndarrays
        Column and row coordinates of S segments, each followed by a NaN
        (a break in a plotly line). Crossings are linearly interpolated.
    """
    u = _as_2d("u", u)
    a, b, c, d = u[:-1, :-1], u[:-1, 1:], u[1:, 1:], u[1:, :-1]  # corners: tl, tr, br, bl
    rows, cols = np.mgrid[: u.shape[0] - 1, : u.shape[1] - 1].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pts = np.stack([
            np.stack([cols + a / (a - b), rows], -1),        # top edge
            np.stack([cols + 1, rows + b / (b - c)], -1),    # right edge
            np.stack([cols + d / (d - c), rows + 1], -1),    # bottom edge
            np.stack([cols, rows + a / (a - d)], -1),        # left edge
        ], -2)  # (H-1, W-1, 4, 2)
    cross = np.stack([(a > 0) != (b > 0), (b > 0) != (c > 0), (d > 0) != (c > 0), (a > 0) != (d > 0)], -1)
    n = cross.sum(-1)
    two = n == 2
    order = np.argsort(~cross[two], axis=-1, kind="stable")[:, :2]
    seg = [np.take_along_axis(pts[two], order[:, :, None], 1)]
    four = n == 4
    if four.any():  # saddle: join edges around the corner whose sign differs from the centre's
        p = pts[four]
        isolate_a = (a[four] > 0) != ((a + b + c + d)[four] > 0)  # corners a, c cut off from the centre
        first = np.where(isolate_a[:, None], [0, 3], [0, 1])
        second = np.where(isolate_a[:, None], [1, 2], [2, 3])
        seg += [np.take_along_axis(p, first[:, :, None], 1), np.take_along_axis(p, second[:, :, None], 1)]
    seg = np.concatenate(seg)  # (S, 2, 2)
    out = np.concatenate([seg, np.full((len(seg), 1, 2), np.nan)], 1).reshape(-1, 2)
    return out[:, 0], out[:, 1]


def evolution_figure(
    image,
    frames: Sequence,
    *,
    steps: Sequence[int] | None = None,
    window: tuple[float, float] | None = None,
    max_frames: int | None = None,
    frame_duration_ms: int = 60,
    title: str | None = None,
    line_color: str = "#ff3b30",
) -> go.Figure:
    """A plotly animation of a level set's zero contour over a slice.

    Parameters
    ----------
    image : (H, W) array or Tensor
        The slice, drawn once as a grey PNG.
    frames : sequence of (H, W) or (1, 1, H, W) arrays or Tensors
        Recorded level sets, e.g. from
        :func:`~lsn_explorer.levelset.solver.store_evolution_in`.
    steps : sequence of int, optional
        The step number of each frame (slider labels). Default 1, 2, ...
    window : (float, float), optional
        Display range of ``image``. Default its minimum and maximum.
    max_frames : int, optional
        Keep at most this many frames, evenly spaced, always the last.
    frame_duration_ms : int
        Time per frame when playing. Default 60.
    title : str, optional
    line_color : str
        Colour of the contour.

    Returns
    -------
    fig : go.Figure
        Trace 0 is the image, trace 1 the contour of the first frame; one
        ``go.Frame`` per kept step updates trace 1 only. Play/pause buttons
        and a step slider.

    Raises
    ------
    InputError
        No frames, frames of another shape than ``image``, or
        ``len(steps) != len(frames)``.

    Examples
    --------
    >>> import numpy as np
    >>> u = [np.hypot(*np.mgrid[-8:8, -8:8]) - r for r in (3.0, 4.0)]
    >>> fig = evolution_figure(np.zeros((16, 16)), [-v for v in u])
    >>> len(fig.frames)
    2
    """
    img = _as_2d("image", image)
    if len(frames) == 0:
        raise InputError("frames is empty; expected at least one level set")
    steps = list(range(1, len(frames) + 1)) if steps is None else list(steps)
    if len(steps) != len(frames):
        raise InputError(f"steps has {len(steps)} entries but frames has {len(frames)}")
    keep = np.arange(len(frames))
    if max_frames is not None and len(frames) > max_frames:
        keep = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
    lines = []
    for k in keep:
        u = _as_2d(f"frames[{k}]", frames[k])
        if u.shape != img.shape:
            raise InputError(f"frames[{k}] has shape {u.shape}; expected the image's {img.shape}")
        lines.append(zero_contour(u))
    rgb = np.repeat(window_to_uint8(img, window)[..., None], 3, -1)
    style = dict(mode="lines", line=dict(color=line_color, width=2), hoverinfo="skip", name="u = 0")
    fig = go.Figure(
        data=[go.Image(source=png_data_uri(rgb), hoverinfo="skip"), go.Scatter(x=lines[0][0], y=lines[0][1], **style)],
        frames=[go.Frame(data=[go.Scatter(x=x, y=y)], traces=[1], name=str(steps[k])) for k, (x, y) in zip(keep, lines)],
    )
    play = dict(frame=dict(duration=frame_duration_ms, redraw=False), transition=dict(duration=0), fromcurrent=True,
                mode="immediate")
    fig.update_layout(
        title=title, margin=dict(l=10, r=10, t=40 if title else 10, b=10), showlegend=False,
        xaxis=dict(visible=False, range=[-0.5, img.shape[1] - 0.5]),
        yaxis=dict(visible=False, range=[img.shape[0] - 0.5, -0.5], scaleanchor="x"),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top", buttons=[
            dict(label="▶ play", method="animate", args=[None, play]),
            dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
        ])],
        sliders=[dict(x=0.2, len=0.8, y=0.0, yanchor="top", currentvalue=dict(prefix="step "), steps=[
            dict(label=str(steps[k]), method="animate",
                 args=[[str(steps[k])], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
            for k in keep
        ])],
    )
    return fig
