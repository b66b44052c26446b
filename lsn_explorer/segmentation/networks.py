"""A trained network on a whole volume: windowed and resized as it was trained, answered at the input's size."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.preprocess import resize_image, window_hu
from ..data.volume import PreprocessSettings
from ..devices import placed, resolve_device
from ..errors import InputError
from ..inference import predict, resample
from ..models.bundled import bundled_model, bundled_names
from ..models.loading import load_model
from ..models.registry import model_names
from .progress import slice_progress

__all__ = ["resolve_model", "network_volume"]


def resolve_model(method) -> nn.Module:
    """The network a ``method`` names.

    Parameters
    ----------
    method : str, path-like or nn.Module
        A registered model with a bundled checkpoint (``"unet"``, ``"speed-map-lsn"``...,
        also as ``"bundled-unet"``), a checkpoint file (``best.pt``), or a model.

    Returns
    -------
    nn.Module

    Raises
    ------
    InputError
        A name that is neither bundled nor a file; the message lists the bundled names.
    CheckpointError, MissingDataError
        A checkpoint that cannot be loaded.
    """
    if isinstance(method, nn.Module):
        return method
    name = str(method)
    name = name[len("bundled-"):] if name.startswith("bundled-") else name
    if isinstance(method, str) and name in bundled_names():
        return bundled_model(name)
    if isinstance(method, os.PathLike) or name.endswith(".pt") or Path(name).is_file():
        return load_model(method)
    hint = " (registered, but no checkpoint ships with it: pass its best.pt)" if name in model_names() else ""
    raise InputError(f"method={method!r}{hint}; expected 'levelset', a bundled model {list(bundled_names())} "
                     "or a checkpoint file (.pt)")


def network_volume(
    hu: np.ndarray,
    model: nn.Module,
    *,
    device: str | torch.device = "auto",
    progress: bool = False,
    batch_size: int = 16,
) -> np.ndarray:
    """Segment every slice of a volume with a network, preprocessed as the network was trained.

    Each slice is resized to the model's ``preprocessing.size`` (antialiased bilinear) and
    windowed to its ``preprocessing.window`` (as :func:`~lsn_explorer.data.load_volumes`
    prepares training slices); the logits are resized back bilinearly and thresholded at 0.

    Parameters
    ----------
    hu : (Z, H, W) ndarray
        Hounsfield units, slices in radiological display.
    model : nn.Module
        A network of the registry; without ``preprocessing`` the default window
        (-100, 400) HU is used at the slices' own size.
    device : str or torch.device
        Where it runs. Default "auto".
    progress : bool
        A tqdm bar over the slices. Default False.
    batch_size : int
        Slices per forward pass. Default 16.

    Returns
    -------
    (Z, H, W) uint8 ndarray
        1 where the logits are positive.
    """
    settings = getattr(model, "preprocessing", None) or PreprocessSettings(size=hu.shape[-1])
    depth, height, width = hu.shape
    out = np.zeros(hu.shape, dtype=np.uint8)
    dev = resolve_device(device)
    net = placed(model, dev)  # once, not once per batch
    with slice_progress(depth, progress, getattr(model, "model_name", type(model).__name__)) as bar:
        for start in range(0, depth, batch_size):
            chunk = hu[start : start + batch_size]
            if settings.size != width or settings.size != height:
                chunk = resize_image(chunk, settings.size)
            x = torch.from_numpy(np.ascontiguousarray(window_hu(chunk, settings.window)))[:, None]
            logits = resample(predict(net, x, batch_size=batch_size, device=dev), (height, width))
            out[start : start + len(x)] = (logits[:, 0] > 0).numpy()
            bar.update(len(x))
    return out
