from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from lsn_explorer.errors import InputError
from lsn_explorer.viz import mask_contour, slice_figure
from lsn_explorer.viz.slices import png_bytes, png_data_uri


def _disk(h=40, w=50, cy=18, cx=22, r=11):
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _on_boundary(mask, x, y):
    """A contour point is half-way between an inside and an outside pixel."""
    h, w = mask.shape

    def inside(r, c):
        return 0 <= r < h and 0 <= c < w and bool(mask[r, c])

    if float(x).is_integer():
        r0, r1, c0, c1 = int(np.floor(y)), int(np.ceil(y)), int(x), int(x)
    else:
        r0, r1, c0, c1 = int(y), int(y), int(np.floor(x)), int(np.ceil(x))
    return inside(r0, c0) != inside(r1, c1)


def test_figure_has_png_image_and_contour_on_boundary():
    image = np.where(_disk(), 80.0, -100.0) + np.random.default_rng(0).normal(0, 5, (40, 50))
    mask = _disk()
    fig = slice_figure(image, mask, title="slice", window=(-100, 400))
    kinds = [t.type for t in fig.data]
    assert kinds == ["image", "scatter"]
    assert fig.data[0].source.startswith("data:image/png;base64,")
    png = base64.b64decode(fig.data[0].source.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).mode == "L"
    x, y = fig.data[1].x, fig.data[1].y
    pts = [(a, b) for a, b in zip(x, y) if a is not None]
    assert len(pts) > 40
    assert all(_on_boundary(mask, a, b) for a, b in pts)
    # every boundary pixel of the disk is reached by the contour
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    near = {(int(round(b)), int(round(a))) for a, b in pts} | {(int(b), int(a)) for a, b in pts}
    assert all((r, c) in near or any((r + dr, c + dc) in near for dr in (-1, 0, 1) for dc in (-1, 0, 1)) for r, c in np.argwhere(edge))


def test_y_axis_reversed_and_equal_aspect():
    fig = slice_figure(np.zeros((30, 20)))
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_contour_pieces_are_closed_and_holes_outlined():
    mask = np.zeros((20, 20), bool)
    mask[3:15, 3:15] = True
    mask[6:9, 6:9] = False  # a hole
    mask[17:19, 17:19] = True  # a second piece touching nothing
    x, y = mask_contour(mask)
    pieces, cur = [], []
    for a, b in zip(x, y):
        if a is None:
            pieces.append(cur)
            cur = []
        else:
            cur.append((a, b))
    assert len(pieces) == 3
    assert all(p[0] == p[-1] for p in pieces)
    assert all(_on_boundary(mask, a, b) for p in pieces for a, b in p)


def _polygons(x, y):
    """The closed pieces of a plotly line, each as a frozenset of its points (start and direction ignored)."""
    pieces, cur = [], []
    for a, b in zip(x, y):
        if a is None:
            assert cur[0] == cur[-1], "a piece that does not close"
            pieces.append(frozenset(cur))
            cur = []
        else:
            cur.append((a, b))
    assert not cur, "the last piece is not followed by None"
    return sorted(pieces, key=sorted)


def _diamond(col, row):
    return frozenset({(col, row - 0.5), (col + 0.5, row), (col, row + 0.5), (col - 0.5, row)})


@pytest.mark.parametrize("mask", [[[1, 0], [0, 1]], [[0, 1], [1, 0]]])
def test_pixels_touching_at_a_corner_are_separate_pieces(mask):
    x, y = mask_contour(np.array(mask))
    expected = [_diamond(c, r) for r, c in np.argwhere(mask)]
    assert _polygons(x, y) == sorted(expected, key=sorted)
    assert sum(p is None for p in x) == 2 and len(x) == 2 * (4 + 1 + 1)


def test_a_ring_has_an_outer_and_an_inner_piece():
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    outer = {(c, r) for r in (-0.5, 2.5) for c in (0, 1, 2)} | {(c, r) for c in (-0.5, 2.5) for r in (0, 1, 2)}
    assert _polygons(*mask_contour(ring)) == sorted([frozenset(outer), _diamond(1, 1)], key=sorted)
    diagonal_hole = np.ones((4, 4), bool)
    diagonal_hole[1, 1] = diagonal_hole[2, 2] = False  # background joins across the corner: one hole
    assert len(_polygons(*mask_contour(diagonal_hole))) == 2


def test_an_empty_mask_has_no_contour():
    assert mask_contour(np.zeros((3, 4))) == ([], [])


def test_mask_touching_the_border_is_closed_outside_the_image():
    x, y = mask_contour(np.ones((4, 5)))
    pts = [(a, b) for a, b in zip(x, y) if a is not None]
    assert min(a for a, _ in pts) == -0.5 and max(a for a, _ in pts) == 4.5
    assert pts[0] == pts[-1]


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 48)])
def test_grey_png_decodes_to_the_same_pixels_in_one_channel(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    im = Image.open(io.BytesIO(png_bytes(pixels)))
    assert im.format == "PNG" and im.mode == "L"
    np.testing.assert_array_equal(np.asarray(im), pixels)


def test_rgb_png_decodes_to_the_same_pixels_and_the_uri_holds_the_bytes():
    pixels = np.random.default_rng(1).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    png = png_bytes(pixels)
    im = Image.open(io.BytesIO(png))
    assert im.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(im), pixels)
    assert png_data_uri(pixels) == "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    with pytest.raises(InputError, match="pixels"):
        png_bytes(np.zeros((4, 4, 4), np.uint8))


def test_prediction_drawn_in_another_colour():
    m = _disk()
    fig = slice_figure(np.zeros(m.shape), m, prediction=np.roll(m, 3, axis=1))
    assert [t.name for t in fig.data[1:]] == ["label", "prediction"]
    assert fig.data[1].line.color != fig.data[2].line.color


def test_window_controls_the_gray_levels():
    from lsn_explorer.viz.slices import window_to_uint8

    g = window_to_uint8(np.array([[-200.0, -100.0, 150.0, 400.0, 900.0]]), (-100, 400))
    assert g.tolist() == [[0, 0, 128, 255, 255]]


def test_bad_shapes_raise_input_error():
    with pytest.raises(InputError, match="image"):
        slice_figure(np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="mask"):
        slice_figure(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(InputError, match="prediction"):
        slice_figure(np.zeros((8, 8)), prediction=np.zeros((7, 8)))
