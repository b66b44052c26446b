"""A CT slice as a plotly figure, with the label and prediction drawn as contours.

The image goes to the browser as one PNG (a ``go.Image``), not as heatmap
JSON, and each contour is one line trace with ``None`` between its closed
pieces. Contours come from a small marching-squares pass over the mask
(:func:`mask_contour`), so the library needs neither scikit-image nor
matplotlib.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go

from ..errors import InputError

__all__ = ["slice_figure", "mask_contour", "window_to_uint8", "png_data_uri"]

# marching squares: case = 8*top_left + 4*top_right + 2*bottom_right + 1*bottom_left,
# edges T, R, B, L of the cell; saddles (5, 10) keep the two corners apart,
# which matches 4-connected foreground.
_T, _R, _B, _L = 0, 1, 2, 3
_SEGMENTS = {
    1: [(_L, _B)], 2: [(_B, _R)], 3: [(_L, _R)], 4: [(_T, _R)],
    5: [(_L, _B), (_T, _R)], 6: [(_T, _B)], 7: [(_T, _L)], 8: [(_T, _L)],
    9: [(_T, _B)], 10: [(_T, _L), (_B, _R)], 11: [(_T, _R)], 12: [(_L, _R)],
    13: [(_B, _R)], 14: [(_L, _B)],
}
# edge midpoints in doubled cell coordinates (2*row, 2*col) relative to the cell's top-left corner
_EDGE_OFFSET = {_T: (0, 1), _R: (1, 2), _B: (2, 1), _L: (1, 0)}


def window_to_uint8(image: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """Map intensities linearly to 0..255, clipping to ``window``.

    Parameters
    ----------
    image : (H, W) array
        HU or already windowed values.
    window : (float, float) or None, optional
        ``(lower, upper)``; ``None`` uses the image's own minimum and maximum.

    Returns
    -------
    (H, W) uint8 ndarray
    """
    img = np.asarray(image, dtype=np.float64)
    if window is None:
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    else:
        lo, hi = (float(w) for w in window)
    if not hi > lo:
        hi = lo + 1.0
    out = (np.nan_to_num(img, nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def png_data_uri(pixels: np.ndarray) -> str:
    """Encode an ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 array as a PNG ``data:`` URI."""
    px = np.ascontiguousarray(pixels, dtype=np.uint8)
    if px.ndim == 2:
        px = np.repeat(px[:, :, None], 3, axis=2)
    h, w = px.shape[:2]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), px.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def mask_contour(mask: np.ndarray) -> tuple[list, list]:
    """Closed boundary lines of a binary mask, as plotly line coordinates.

    Points lie half-way between a pixel inside and a pixel outside the mask
    (marching squares at level 0.5), in pixel coordinates: ``x`` = column,
    ``y`` = row. Pixels beyond the image count as outside, so every piece is
    closed.

    Parameters
    ----------
    mask : (H, W) array
        Non-zero inside.

    Returns
    -------
    x, y : list of float or None
        Each closed piece ends by repeating its first point, followed by
        ``None`` (a break in a plotly line). Empty lists for an empty mask.

    Examples
    --------
    >>> x, y = mask_contour(np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]))
    >>> list(zip(x, y))[:5]
    [(1.0, 0.5), (1.5, 1.0), (1.0, 1.5), (0.5, 1.0), (1.0, 0.5)]
    """
    m = np.pad(np.asarray(mask) != 0, 1)
    case = (
        8 * m[:-1, :-1].astype(np.int8) + 4 * m[:-1, 1:] + 2 * m[1:, 1:] + 1 * m[1:, :-1]
    )
    seg_a, seg_b = [], []
    for k, pairs in _SEGMENTS.items():
        rc = np.argwhere(case == k) * 2
        if rc.size == 0:
            continue
        for e0, e1 in pairs:
            seg_a.append(rc + _EDGE_OFFSET[e0])
            seg_b.append(rc + _EDGE_OFFSET[e1])
    if not seg_a:
        return [], []
    a_t = list(map(tuple, np.concatenate(seg_a).tolist()))
    b_t = list(map(tuple, np.concatenate(seg_b).tolist()))
    # chain segments into closed loops: every midpoint joins exactly two segments
    ends: dict[tuple[int, int], list[int]] = {}
    for i, (p, q) in enumerate(zip(a_t, b_t)):
        ends.setdefault(p, []).append(i)
        ends.setdefault(q, []).append(i)
    used = np.zeros(len(a_t), bool)
    xs: list = []
    ys: list = []
    for start in range(len(a_t)):
        if used[start]:
            continue
        used[start] = True
        loop = [a_t[start], b_t[start]]
        cur = b_t[start]
        while True:
            nxt = [s for s in ends[cur] if not used[s]]
            if not nxt:
                break
            s = nxt[0]
            used[s] = True
            cur = b_t[s] if a_t[s] == cur else a_t[s]
            loop.append(cur)
        if loop[-1] != loop[0]:
            loop.append(loop[0])
        # doubled padded coordinates -> pixel coordinates of the original image
        xs.extend(c / 2.0 - 1.0 for _, c in loop)
        ys.extend(r / 2.0 - 1.0 for r, _ in loop)
        xs.append(None)
        ys.append(None)
    return xs, ys


def _check_2d(name, array, shape=None):
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise InputError(f"{name} has shape {arr.shape}; expected a 2-D (H, W) slice")
    if shape is not None and arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape} but image has shape {shape}; expected equal shapes")
    return arr


def slice_figure(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    title: str | None = None,
    window: tuple[float, float] | None = None,
    prediction: np.ndarray | None = None,
) -> go.Figure:
    """One slice as an image with the label (and a prediction) outlined.

    Parameters
    ----------
    image : (H, W) array
        HU or windowed intensities; row 0 is drawn at the top.
    mask : (H, W) array, optional
        Reference label; its boundary (non-zero vs zero) is drawn in green.
    title : str, optional
        Figure title.
    window : (float, float), optional
        Display window ``(lower, upper)`` (e.g. ``(-100, 400)`` for HU);
        default the image's own range.
    prediction : (H, W) array, optional
        A predicted mask, outlined in orange.

    Returns
    -------
    go.Figure
        An image trace (PNG) and one line trace per mask, pixel coordinates
        (``x`` = column, ``y`` = row, y axis reversed, equal aspect).

    Raises
    ------
    InputError
        If ``image`` is not 2-D or a mask's shape differs from it.

    Examples
    --------
    >>> img = np.zeros((32, 32)); img[8:24, 8:24] = 100
    >>> fig = slice_figure(img, img > 50, window=(-100, 400))
    >>> [t.type for t in fig.data]
    ['image', 'scatter']
    """
    img = _check_2d("image", image)
    h, w = img.shape
    fig = go.Figure()
    fig.add_trace(
        go.Image(source=png_data_uri(window_to_uint8(img, window)), x0=0, y0=0, dx=1, dy=1, hoverinfo="x+y", name="image")
    )
    for name, m, colour in (("label", mask, "#2ecc40"), ("prediction", prediction, "#ff851b")):
        if m is None:
            continue
        x, y = mask_contour(_check_2d(name if name == "prediction" else "mask", m, img.shape))
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="lines", line=dict(color=colour, width=1.5), name=name, hoverinfo="skip")
        )
    fig.update_xaxes(range=[-0.5, w - 0.5], visible=False, constrain="domain")
    fig.update_yaxes(range=[h - 0.5, -0.5], autorange=False, visible=False, scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(
        title=dict(text=title, x=0.5, y=0.98, yanchor="top") if title else None,
        margin=dict(l=0, r=0, b=0, t=30 if title else 0),
        showlegend=False,
        plot_bgcolor="black",
        paper_bgcolor="white",
    )
    return fig
