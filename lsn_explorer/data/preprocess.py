"""Pure array steps that turn a CT volume and its label into training slices.

Orientation
-----------
Volumes are first brought to nibabel's closest canonical orientation (RAS+:
voxel axis 0 increases towards the patient's Right, axis 1 towards Anterior,
axis 2 towards Superior), then stored as ``(z, y, x)`` in *radiological
display*: each slice is an image whose row 0 is the most anterior row (the
front of the patient at the top) and whose column 0 is the patient's right
side (the patient's right on the viewer's left, as radiologists and ITK-SNAP's
axial view show it). Slice 0 is the most inferior slice. The authors
transposed the canonical array without these flips; the flips only change how
a slice looks, not what a network can learn from it.

Every function takes and returns NumPy arrays; nothing here reads files.
"""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np

__all__ = [
    "to_canonical",
    "voxel_sizes",
    "file_slice_index",
    "to_display_axes",
    "window_hu",
    "resize_image",
    "resize_label",
    "select_target",
    "liver_slices",
]

# slices resized per call to torch.interpolate: bounds the float32 working copy
_RESIZE_CHUNK = 64


def to_canonical(
    image: np.ndarray, label: np.ndarray | None, image_affine: np.ndarray, label_affine: np.ndarray | None = None, *,
    name: str = "label"
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Reorient an image and its label to the closest canonical (RAS+) orientation.

    Parameters
    ----------
    image, label : (X, Y, Z) ndarray
        Voxel arrays in file order, same shape; ``label`` may be None (a volume
        without a label), and is then returned as None.
    image_affine : (4, 4) ndarray
        The image's voxel-to-world affine.
    label_affine : (4, 4) ndarray, optional
        The label's affine. If it differs from ``image_affine`` the label is
        reoriented with the image's affine (as the authors did, trusting that
        the two arrays share one voxel grid) and a warning names ``name``.
    name : str
        The label's file name, for the warning.

    Returns
    -------
    image, label : (X', Y', Z') ndarray
        Views of the inputs with axes permuted/flipped so that voxel axes point
        R, A, S (``label`` None if it was given as None).
    affine : (4, 4) ndarray
        The canonical affine.
    """
    if label_affine is not None and not np.allclose(label_affine, image_affine, rtol=1e-4, atol=1e-3):
        warnings.warn(
            f"{name}: affine differs from its volume's; using the volume's affine for the label",
            stacklevel=2,
        )
    canonical_image = nib.as_closest_canonical(nib.Nifti1Image(image, image_affine))
    if label is None:
        return np.asanyarray(canonical_image.dataobj), None, canonical_image.affine
    canonical_label = nib.as_closest_canonical(nib.Nifti1Image(label, image_affine))
    return (
        np.asanyarray(canonical_image.dataobj),
        np.asanyarray(canonical_label.dataobj),
        canonical_image.affine,
    )


def voxel_sizes(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along each voxel axis of ``affine``, as ``(x, y, z)``."""
    return tuple(float(v) for v in np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0)))


def file_slice_index(affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """For each canonical slice (inferior to superior), its index along the file's axis.

    Parameters
    ----------
    affine : (4, 4) ndarray
        The file's affine (before reorientation).
    shape : (int, int, int)
        The file's array shape.

    Returns
    -------
    (Z,) int64 ndarray
        ``k`` -> index along the file axis that becomes the canonical z axis
        (the third axis for any axial scan); reversed when that axis runs
        superior to inferior in the file.
    """
    ornt = nib.orientations.io_orientation(affine)
    axis = int(np.flatnonzero(ornt[:, 0] == 2)[0])
    index = np.arange(shape[axis], dtype=np.int64)
    return index if ornt[axis, 1] > 0 else index[::-1].copy()


def to_display_axes(array: np.ndarray) -> np.ndarray:
    """Canonical ``(X, Y, Z)`` (RAS+) array to ``(Z, Y, X)`` in radiological display.

    Rows are flipped so that row 0 is anterior, columns so that column 0 is the
    patient's right; see the module docstring.

    Parameters
    ----------
    array : (X, Y, Z) ndarray
        Canonical (RAS+) voxel array.

    Returns
    -------
    (Z, Y, X) ndarray
        A view of ``array``.
    """
    return array.transpose(2, 1, 0)[:, ::-1, ::-1]


def window_hu(image: np.ndarray, window: tuple[float, float] | None = (-100.0, 400.0)) -> np.ndarray:
    """Clip HU to ``window`` and map it linearly to [-1, 1], in float32.

    Parameters
    ----------
    image : (...) ndarray
        Hounsfield units.
    window : (float, float) or None
        ``(lower, upper)``: the result is ``2 (clip(x) - lower) / (upper - lower) - 1``.
        ``None`` returns the raw HU as float32.

    Returns
    -------
    (...) float32 ndarray

    Examples
    --------
    >>> window_hu(np.array([-1000.0, -100.0, 150.0, 400.0, 3000.0]))
    array([-1., -1.,  0.,  1.,  1.], dtype=float32)
    """
    image = np.asarray(image, dtype=np.float32)
    if window is None:
        return image
    lower, upper = (np.float32(w) for w in window)
    out = np.clip(image, lower, upper)
    out -= lower
    out *= np.float32(2.0) / (upper - lower)
    out -= np.float32(1.0)
    return out


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Resize each slice to ``size x size`` with antialiased bilinear interpolation.

    Uses ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)``:
    when shrinking, the bilinear (triangle) filter is widened by the reduction
    factor, so every input pixel contributes and noise is averaged instead of
    aliased (a 2:1 reduction weighs 4 input rows/columns by 1/8, 3/8, 3/8, 1/8).

    Parameters
    ----------
    image : (Z, H, W) ndarray
    size : int

    Returns
    -------
    (Z, size, size) float32 ndarray
    """
    if image.shape[1:] == (size, size):
        return np.ascontiguousarray(image, dtype=np.float32)
    import torch  # only a resize needs torch: reading and windowing a slice do not
    import torch.nn.functional as F

    out = np.empty((image.shape[0], size, size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, image.shape[0], _RESIZE_CHUNK):
            # convert chunk by chunk: a 512 x 512 x 900 int16 volume never exists as float32 at once
            chunk = np.ascontiguousarray(image[start : start + _RESIZE_CHUNK, None], dtype=np.float32)
            chunk = torch.from_numpy(chunk)
            resized = F.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            out[start : start + _RESIZE_CHUNK] = resized[:, 0].numpy()
    return out


def resize_label(label: np.ndarray, size: int) -> np.ndarray:
    """Resize each slice of a label to ``size x size`` by nearest-neighbour sampling.

    Output pixel ``i`` takes input pixel ``floor(i * H / size)`` (PyTorch's
    ``"nearest"``), so an exact 2:1 reduction takes every 2nd pixel,
    ``label[:, ::2, ::2]``. Label values are never mixed.

    Parameters
    ----------
    label : (Z, H, W) ndarray
    size : int

    Returns
    -------
    (Z, size, size) ndarray, same dtype as ``label``
    """
    label = np.asarray(label)
    height, width = label.shape[1:]
    if (height, width) == (size, size):
        return np.ascontiguousarray(label)
    rows = np.minimum((np.arange(size) * height) // size, height - 1)
    cols = np.minimum((np.arange(size) * width) // size, width - 1)
    return np.ascontiguousarray(label[:, rows[:, None], cols[None, :]])


def select_target(label: np.ndarray, target: str = "liver") -> np.ndarray:
    """The binary mask to learn from a LiTS label (0 background, 1 liver, 2 tumour).

    Parameters
    ----------
    label : (...) integer ndarray
    target : {"liver", "tumour"}
        ``"liver"``: ``label > 0`` (liver and its tumours, as the paper);
        ``"tumour"``: ``label == 2``.

    Returns
    -------
    (...) uint8 ndarray in {0, 1}
    """
    if target == "liver":
        return (label > 0).astype(np.uint8)
    if target == "tumour":
        return (label == 2).astype(np.uint8)
    raise ValueError(f"target={target!r}; expected 'liver' or 'tumour'")


def liver_slices(label: np.ndarray) -> np.ndarray:
    """Indices of the slices inside the z-extent of the liver (label > 0).

    Parameters
    ----------
    label : (Z, H, W) ndarray

    Returns
    -------
    (K,) int64 ndarray
        ``first, first + 1, ..., last`` where ``first``/``last`` are the lowest
        and highest slices holding any liver or tumour voxel (slices in between
        without liver are kept, as the authors' bounding box does); empty if
        there is no liver.
    """
    present = np.flatnonzero(np.asarray(label).any(axis=(1, 2)))
    if present.size == 0:
        return present.astype(np.int64)
    return np.arange(present[0], present[-1] + 1, dtype=np.int64)
