"""The in-memory form of one preprocessed CT volume, and the settings that made it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Volume", "PreprocessSettings"]


@dataclass(frozen=True)
class PreprocessSettings:
    """How a LiTS-style volume becomes training slices.

    Attributes
    ----------
    window : (float, float) or None
        HU window ``(lower, upper)`` mapped linearly to [-1, 1] after clipping;
        ``None`` keeps raw HU (float32). Default (-100, 400), as the authors.
    size : int
        In-plane size after resizing (bilinear for images, nearest for labels).
        The number of slices is never changed. Default 256.
    target : {"liver", "tumour"}
        ``"liver"``: label > 0 (liver and tumour, as the paper);
        ``"tumour"``: label == 2.
    slices : {"liver", "all"}
        ``"liver"`` keeps the slices inside the z-extent of the liver label
        (as the authors train); ``"all"`` keeps every slice. A volume without
        a label keeps every slice either way.
    """

    window: tuple[float, float] | None = (-100.0, 400.0)
    size: int = 256
    target: str = "liver"
    slices: str = "liver"

    def to_dict(self) -> dict:
        """The settings as a plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Volume:
    """One preprocessed volume: slices of image and target mask.

    Attributes
    ----------
    dataid : int
        The LiTS case number (``volume-<dataid>.nii``).
    image : (Z, H, W) float32 ndarray
        Windowed to [-1, 1] (or raw HU); row = y pointing down (anterior to
        posterior after canonical reorientation), column = x.
    mask : (Z, H, W) uint8 ndarray or None
        The target in {0, 1}; None for a volume loaded without a label.
    spacing : (float, float, float)
        Voxel size in mm as (z, y, x), after the in-plane resize.
    slice_index : (Z,) int ndarray
        Index of each kept slice in the original volume.
    image_path : str
        The file the image was read from.
    label_path : str or None
        The file the label was read from; None without a label.
    """

    dataid: int
    image: np.ndarray
    mask: np.ndarray | None
    spacing: tuple[float, float, float]
    slice_index: np.ndarray
    image_path: str
    label_path: str | None

    @property
    def num_slices(self) -> int:
        """Number of kept slices Z."""
        return int(self.image.shape[0])

    def slice_mask(self, z: int) -> np.ndarray | None:
        """The ``(H, W)`` label of slice ``z``, or None for a volume without a label."""
        return None if self.mask is None else self.mask[z]

    def liver_slice(self) -> int:
        """The slice with the most liver; the middle slice of a volume without a label."""
        if self.mask is None:
            return self.num_slices // 2
        return int(self.mask.sum(axis=(1, 2)).argmax())
