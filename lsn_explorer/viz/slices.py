"""A CT slice as a plotly figure, with the label and prediction drawn as contours.

The image goes to the browser as one PNG (a ``go.Image``, encoded by Pillow in
:func:`png_bytes`), not as heatmap JSON, and each contour is one line trace with
``None`` between its closed pieces. Contours are scikit-image's marching squares
(:func:`skimage.measure.find_contours`) at level 0.5 on the mask, see
:func:`mask_contour`.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from ..errors import InputError

__all__ = ["slice_figure", "mask_contour", "window_to_uint8", "png_bytes", "png_data_uri"]


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


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode a grey or RGB uint8 image as PNG.

    Parameters
    ----------
    pixels : (H, W) or (H, W, 3) uint8 array
        Grey (stored as one channel, PNG mode ``"L"``) or RGB (mode ``"RGB"``);
        row 0 is the top of the picture.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    InputError
        If ``pixels`` is neither ``(H, W)`` nor ``(H, W, 3)``.

    Examples
    --------
    >>> png_bytes(np.zeros((2, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    px = np.ascontiguousarray(pixels, dtype=np.uint8)
    if not (px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)):
        raise InputError(f"pixels has shape {px.shape}; expected (H, W) grey or (H, W, 3) RGB")
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")
    return buf.getvalue()


def png_data_uri(pixels: np.ndarray) -> str:
    """:func:`png_bytes` as a ``data:image/png;base64,...`` URI (for ``go.Image(source=...)``).

    Parameters
    ----------
    pixels : (H, W) or (H, W, 3) uint8 array

    Returns
    -------
    str
    """
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


def mask_contour(mask: np.ndarray) -> tuple[list, list]:
    """Closed boundary lines of a binary mask, as plotly line coordinates.

    Points lie half-way between a pixel inside and a pixel outside the mask
    (marching squares at level 0.5), in pixel coordinates: ``x`` = column,
    ``y`` = row. Pixels beyond the image count as outside, so every piece is
    closed. Foreground pixels that touch only at a corner are separate pieces
    (4-connected foreground, 8-connected background).

    Parameters
    ----------
    mask : (H, W) array
        Non-zero inside.

    Returns
    -------
    x, y : list of float or None
        Each closed piece ends by repeating its first point, followed by
        ``None`` (a break in a plotly line). Empty lists for an empty mask.

    See Also
    --------
    skimage.measure.find_contours : the marching squares used here.

    Examples
    --------
    >>> x, y = mask_contour(np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]))
    >>> list(zip(x, y))
    [(1.0, 1.5), (0.5, 1.0), (1.0, 0.5), (1.5, 1.0), (1.0, 1.5), (None, None)]
    """
    from skimage.measure import find_contours

    # one pixel of background around the image closes every piece; "low" joins background diagonals
    padded = np.pad(np.asarray(mask) != 0, 1).astype(np.float64)
    xs: list = []
    ys: list = []
    for piece in find_contours(padded, 0.5, fully_connected="low"):
        rc = piece - 1.0  # padded (row, col) -> the image's pixel coordinates
        xs.extend(rc[:, 1].tolist())
        ys.extend(rc[:, 0].tolist())
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
