"""All slices of a set of volumes as contiguous torch tensors, built once for training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .volume import Volume

__all__ = ["SliceStack", "stack_slices", "SliceData", "as_slice_data"]


@dataclass(frozen=True)
class SliceStack:
    """Image and mask slices of several volumes, with where each slice came from.

    Attributes
    ----------
    images : (N, 1, H, W) float32 Tensor
    masks : (N, 1, H, W) float32 Tensor or None
        In {0, 1}; None when a volume was loaded without a label (a Dice or a
        loss then refuses the stack).
    dataids : (N,) int64 Tensor
        The volume of each slice.
    slice_index : (N,) int64 Tensor
        The slice's index in its original volume.
    """

    images: torch.Tensor
    masks: torch.Tensor | None
    dataids: torch.Tensor
    slice_index: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def select(self, index) -> "SliceStack":
        """The slices at ``index`` (int sequence, ndarray or Tensor of positions, or a bool mask)."""
        index = torch.as_tensor(np.asarray(index) if not isinstance(index, torch.Tensor) else index)
        index = index.to(self.images.device)
        return SliceStack(
            images=self.images[index].contiguous(),
            masks=None if self.masks is None else self.masks[index].contiguous(),
            dataids=self.dataids[index].contiguous(),
            slice_index=self.slice_index[index].contiguous(),
        )

    def subset(self, dataids: Sequence[int]) -> "SliceStack":
        """The slices of the volumes ``dataids`` (e.g. a fold's ``train``), in stack order.

        Raises
        ------
        InputError
            If an id has no slice in the stack.
        """
        wanted = torch.as_tensor(sorted({int(i) for i in dataids}), dtype=torch.int64, device=self.dataids.device)
        missing = sorted(set(wanted.tolist()) - set(self.dataids.unique().tolist()))
        if missing:
            raise InputError(f"dataids {missing} have no slices in this stack; it holds {self.volume_ids()}")
        return self.select(torch.isin(self.dataids, wanted))

    def volume_ids(self) -> list[int]:
        """The distinct dataids in the stack, sorted."""
        return sorted(self.dataids.unique().tolist())

    def to(self, device) -> "SliceStack":
        """A copy of the stack on ``device``."""
        return SliceStack(*(None if t is None else t.to(device)
                            for t in (self.images, self.masks, self.dataids, self.slice_index)))


def stack_slices(volumes: Sequence[Volume]) -> SliceStack:
    """Concatenate the slices of ``volumes`` into one :class:`SliceStack`.

    Parameters
    ----------
    volumes : sequence of Volume
        All with the same in-plane size.

    Returns
    -------
    SliceStack
        Slices in the order of ``volumes``, then of their slices. On the CPU;
        move it with :meth:`SliceStack.to`. ``masks`` is None when any volume
        has no label.

    Raises
    ------
    InputError
        If ``volumes`` is empty or their in-plane sizes differ.
    """
    volumes = list(volumes)
    if not volumes:
        raise InputError("volumes is empty; expected at least one Volume")
    sizes = {v.image.shape[1:] for v in volumes}
    if len(sizes) != 1:
        raise InputError(f"volumes have in-plane sizes {sorted(sizes)}; expected one size (set PreprocessSettings.size)")
    images = np.concatenate([v.image for v in volumes]).astype(np.float32, copy=False)
    labelled = all(v.mask is not None for v in volumes)
    masks = np.concatenate([v.mask for v in volumes]).astype(np.float32) if labelled else None
    dataids = np.concatenate([np.full(v.num_slices, v.dataid, dtype=np.int64) for v in volumes])
    slice_index = np.concatenate([np.asarray(v.slice_index, dtype=np.int64) for v in volumes])
    return SliceStack(
        images=torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1),
        masks=torch.from_numpy(np.ascontiguousarray(masks)).unsqueeze(1) if labelled else None,
        dataids=torch.from_numpy(dataids),
        slice_index=torch.from_numpy(slice_index),
    )


@dataclass(frozen=True)
class SliceData:
    """Slices as contiguous tensors: what :func:`lsn_explorer.train.fit` trains on and :func:`lsn_explorer.inference.evaluate` scores.

    Attributes
    ----------
    images : (N, C, H, W) float32 Tensor
        The network input: C = 1 (the image), or more channels such as the
        LSN's (image, u0).
    masks : (N, 1, H, W) float32 Tensor in {0, 1}
    dataids : (N,) int64 Tensor or None
        Volume of each slice (for per-volume Dice).
    """

    images: torch.Tensor
    masks: torch.Tensor
    dataids: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def as_slice_data(data, name: str) -> SliceData | None:
    """A :class:`SliceData` from a SliceData, a :class:`SliceStack` or an ``(images, masks[, dataids])`` tuple.

    Parameters
    ----------
    data : SliceData, SliceStack, tuple, list or None
        Anything with ``images``, ``masks`` (and optionally ``dataids``) attributes,
        or ``(images, masks[, dataids])`` as tensors or arrays: images
        ``(N, C, H, W)``, masks ``(N, 1, H, W)``, dataids ``(N,)``.
    name : str
        The argument's name in error messages (``"train"``, ``"valid"``, ``"data"``).

    Returns
    -------
    SliceData or None
        Images and masks as contiguous float32 tensors (on the device they were on),
        dataids flattened to an int64 Tensor (or None); None when ``data`` is None.

    Raises
    ------
    InputError
        Shapes that are not ``(N, C, H, W)`` and ``(N, 1, H, W)`` of the same N, H, W, no slices, or
        no masks (slices of a volume loaded without its label); the message starts with ``name``.
    """
    if data is None:
        return None
    if isinstance(data, (tuple, list)):
        images, masks, *rest = data
        dataids = rest[0] if rest else None
    else:
        images, masks, dataids = data.images, data.masks, getattr(data, "dataids", None)
    if masks is None:
        raise InputError(f"{name} has no masks: a volume was loaded without its label (segmentation-N.nii[.gz]); "
                         "a Dice or a loss needs the label")
    images, masks = torch.as_tensor(images), torch.as_tensor(masks)
    same_slices = images.shape[:1] + images.shape[2:] == masks.shape[:1] + masks.shape[2:]
    if images.ndim != 4 or masks.ndim != 4 or masks.shape[1] != 1 or not same_slices:
        raise InputError(
            f"{name}: images {tuple(images.shape)} and masks {tuple(masks.shape)} must be (N, C, H, W) and (N, 1, H, W)"
        )
    if images.shape[0] == 0:
        raise InputError(f"{name} holds no slices")
    if dataids is not None:
        dataids = torch.as_tensor(dataids, dtype=torch.int64).reshape(-1)
    return SliceData(images.float().contiguous(), masks.float().contiguous(), dataids)
