"""Data augmentation on the fly, in torch: what lets a phantom-trained network hold on real CT.

A batch of slices ``(N, 1, H, W)`` and their masks is transformed on its device, each
slice with its own random draw (the blur: one draw per batch) from the trainer's torch
generator, so a seeded run repeats exactly:

=====================  =====================================================================
transform              what it imitates
=====================  =====================================================================
scale 0.7–2            another field of view: > 1 zooms in (a crop around the liver fills the
                       slice), < 1 zooms out (the body smaller, air around it)
rotation ±15°          patient position
elastic deformation    anatomy that differs between patients (a smooth random displacement)
contrast ×0.8–1.25,    another scanner, contrast phase or window
shift ±0.1
blur σ 0–1 px          another reconstruction kernel or slice thickness
noise σ 0–0.05         another dose
=====================  =====================================================================

Geometric transforms move image and mask together (one sampling grid; the mask is
resampled bilinearly and thresholded at ½); the intensity transforms touch the image
only. Intensities are in the windowed units of the data ([-1, 1] for the default HU
window). The paths that reproduce the authors' code train without augmentation;
``lsn-explorer train --augment`` and ``fit(..., augment=Augmentation())`` turn it on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .errors import InputError
from .levelset.edges import gaussian_blur

__all__ = ["Augmentation", "augment"]


@dataclass(frozen=True)
class Augmentation:
    """The ranges of :func:`augment` (each drawn uniformly per slice).

    Attributes
    ----------
    scale : (float, float)
        Zoom factor; the slice shows ``1/scale`` of its field of view.
    rotation : float
        Largest rotation, degrees.
    elastic : float
        Largest displacement of the elastic deformation, pixels (at 128²; scaled with the size).
    contrast : (float, float)
        Factor on the intensities, about their mean.
    shift : float
        Largest additive intensity shift.
    blur : float
        Largest Gaussian blur σ, pixels.
    noise : float
        Largest standard deviation of additive Gaussian noise.
    """

    scale: tuple[float, float] = (0.7, 2.0)
    rotation: float = 15.0
    elastic: float = 4.0
    contrast: tuple[float, float] = (0.8, 1.25)
    shift: float = 0.1
    blur: float = 1.0
    noise: float = 0.05

    def __post_init__(self):
        low, high = self.scale
        if not 0 < low <= high:
            raise InputError(f"scale={self.scale}; expected 0 < low <= high")
        if not 0 < self.contrast[0] <= self.contrast[1]:
            raise InputError(f"contrast={self.contrast}; expected 0 < low <= high")
        for name in ("rotation", "elastic", "shift", "blur", "noise"):
            if getattr(self, name) < 0:
                raise InputError(f"{name}={getattr(self, name)}; expected >= 0")

    def to_dict(self) -> dict:
        """The ranges as a plain dict (for ``config.json``)."""
        return asdict(self)


def _uniform(n: int, low: float, high: float, generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator).to(device)


def _grid(n: int, h: int, w: int, settings: Augmentation, generator, device, dtype) -> torch.Tensor:
    """Sampling grid ``(N, H, W, 2)`` of a random zoom, rotation, shift and smooth elastic displacement."""
    # zoom in log space, so that 0.7-2 is not dominated by the zoom-ins
    scale = torch.exp(_uniform(n, math.log(settings.scale[0]), math.log(settings.scale[1]), generator, device))
    angle = _uniform(n, -settings.rotation, settings.rotation, generator, device) * math.pi / 180
    # a zoom-in may look anywhere its crop fits; a zoom-out stays centred
    room = (1 - 1 / scale).clamp_min(0)
    shift = torch.stack([_uniform(n, -1, 1, generator, device) * room for _ in range(2)], dim=1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(dtype), (n, 1, h, w), align_corners=False)
    if settings.elastic > 0:
        coarse = torch.randn(n, 2, 5, 5, generator=generator).to(device=device, dtype=dtype)
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
        amplitude = settings.elastic / 128 * 2  # pixels at 128² → normalised coordinates
        field = field / field.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6) * amplitude
        grid = grid + field.permute(0, 2, 3, 1) * _uniform(n, 0, 1, generator, device).to(dtype)[:, None, None, None]
    return grid


def augment(images: torch.Tensor, masks: torch.Tensor, *, settings: Augmentation | None = None,
            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A randomly transformed copy of a batch of slices and their masks.

    Parameters
    ----------
    images : (N, 1, H, W) Tensor
        Windowed slices.
    masks : (N, 1, H, W) Tensor in {0, 1}
    settings : Augmentation, optional
        The ranges; default :class:`Augmentation()`.
    generator : torch.Generator, optional
        A CPU generator the draws come from (default: torch's global one).

    Returns
    -------
    images, masks : (N, 1, H, W) Tensor
        Same device and dtype; masks stay in {0, 1}.

    Raises
    ------
    InputError
        If the images do not have one channel or the shapes differ.

    Examples
    --------
    >>> x, y = torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 32, 32)
    >>> [t.shape for t in augment(x, y, generator=torch.Generator().manual_seed(0))]
    [torch.Size([2, 1, 32, 32]), torch.Size([2, 1, 32, 32])]
    """
    if images.ndim != 4 or images.shape[1] != 1 or masks.shape != images.shape:
        raise InputError(f"images {tuple(images.shape)} and masks {tuple(masks.shape)}; expected both (N, 1, H, W)")
    settings = Augmentation() if settings is None else settings
    n, _, h, w = images.shape
    dev, dtype = images.device, images.dtype
    grid = _grid(n, h, w, settings, generator, dev, dtype)
    # outside the field of view is air: the window's lowest value
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    moved = F.grid_sample(images - low, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + low
    masks = (F.grid_sample(masks.to(dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5)
    sigma = float(_uniform(1, 0, settings.blur, generator, "cpu"))
    moved = gaussian_blur(moved, sigma) if sigma > 0.25 else moved
    mean = moved.mean(dim=(1, 2, 3), keepdim=True)
    contrast = _uniform(n, *settings.contrast, generator, dev).to(dtype)[:, None, None, None]
    shift = _uniform(n, -settings.shift, settings.shift, generator, dev).to(dtype)[:, None, None, None]
    noise = _uniform(n, 0, settings.noise, generator, dev).to(dtype)[:, None, None, None]
    moved = (moved - mean) * contrast + mean + shift + noise * torch.randn(moved.shape, generator=generator).to(dev, dtype)
    return moved, masks.to(images.dtype)
