"""Small level-set problems with known answers, shared by the solver tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage


__all__ = [
    "DTYPES",
    "DEVICES",
    "linear_ramp",
    "quadratic_ramp",
    "disc_radius",
    "straight_front",
    "front_position",
    "step_edge",
    "blob_image",
    "phantom_slices",
    "one_thread",
]

DTYPES = (torch.float32, torch.float64)
DEVICES = ("cpu",) + (("cuda:0",) if torch.cuda.is_available() else ())


def linear_ramp(h: int, w: int, *, a: float, b: float, c: float = 0.0, dtype=torch.float64) -> torch.Tensor:
    """``u = a·x + b·y + c`` on (1, 1, h, w), x = column, y = row (down)."""
    y, x = torch.meshgrid(torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij")
    return (a * x + b * y + c)[None, None]


def quadratic_ramp(h: int, w: int, *, a: float, b: float, dtype=torch.float64) -> torch.Tensor:
    """``u = a·x² + b·y²``: Laplacian ``2a + 2b``, centred ``Dx = 2a·x``."""
    y, x = torch.meshgrid(torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij")
    return (a * x**2 + b * y**2)[None, None]


def disc_radius(u: torch.Tensor) -> torch.Tensor:
    """Radius of a disc from its area, per image: ``sqrt(|u > 0| / π)``."""
    return torch.sqrt((u > 0).sum(dim=(1, 2, 3)).double() / math.pi)


def straight_front(h: int, w: int, *, x0: float, dtype=torch.float32) -> torch.Tensor:
    """Signed distance of the half-plane ``x < x0`` (inside on the left)."""
    return linear_ramp(h, w, a=-1.0, b=0.0, c=x0, dtype=dtype)


def front_position(u: torch.Tensor, row: int) -> float:
    """Sub-pixel x where ``u[row]`` crosses zero (linear interpolation)."""
    line = u[0, 0, row].double()
    j = int((line > 0).sum()) - 1
    return j + float(line[j] / (line[j] - line[j + 1]))


def step_edge(h: int, w: int, *, x0: int) -> torch.Tensor:
    """A steep front: 1 for x < x0, -1 from x0 on."""
    u = -torch.ones(1, 1, h, w, dtype=torch.float64)
    u[..., :x0] = 1.0
    return u


def blob_image(size: int = 64, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bright ellipse on a dark background with mild noise; (image, mask)."""
    y, x = np.mgrid[:size, :size]
    mask = ((y - size / 2) / (0.32 * size)) ** 2 + ((x - size / 2) / (0.24 * size)) ** 2 < 1
    noise = np.random.default_rng(seed).normal(0, 0.05, (size, size))
    return (mask + noise).astype(np.float32), mask


def phantom_slices(*, size: int = 128, zs=(3, 4, 5)):
    """Axial phantom slices windowed to [-1, 1], liver masks and the deepest liver point.

    Returns a list of ``(image (H, W) float32, liver mask (H, W) bool, (row, col), depth)``.
    """
    from lsn_explorer.data.phantom import phantom_volume

    hu, label, _ = phantom_volume(0, seed=0, size=size, num_slices=8)
    out = []
    for z in zs:
        image = np.clip((hu[:, :, z].astype(np.float32) + 100.0) / 500.0 * 2.0 - 1.0, -1.0, 1.0)
        mask = label[:, :, z] > 0
        depth = ndimage.distance_transform_edt(mask)
        out.append((image, mask, np.unravel_index(int(depth.argmax()), depth.shape), float(depth.max())))
    return out




@pytest.fixture(autouse=True)
def one_thread():
    """Run on one intra-op thread: on a small, shared CPU, thread hand-offs dominate tiny tensors."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
