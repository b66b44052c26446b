"""Running a trained model: logits and scores on slices, on one device, at the size it was trained on.

:func:`predict` runs a model batch by batch in eval mode without gradients. It puts
the model and the inputs on one device without moving the caller's model, and
resamples inputs of another in-plane size to the size the model was trained on
(``model.preprocessing.size``) and its logits back, so a model answers the same
whatever size its input was loaded at. :func:`evaluate` adds the Dice-L2 loss,
per-slice and per-volume Dice.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data.slices import as_slice_data
from .devices import placed, resolve_device
from .errors import InputError
from .losses import dice_l2_loss
from .metrics import hard_dice, volume_dice

__all__ = ["predict", "evaluate", "check_inputs", "resample"]

#: Inputs windowed to [-1, 1] may overshoot by this much after resampling.
_WINDOW_SLACK = 0.05


def check_inputs(model: nn.Module, images: torch.Tensor) -> None:
    """Raise if ``images`` cannot be what ``model`` was trained on.

    Parameters
    ----------
    model : nn.Module
        A network, with ``preprocessing`` (:class:`~lsn_explorer.data.PreprocessSettings`) if it
        records what it was trained on.
    images : torch.Tensor
        ``(N, C, H, W)``; channel 0 is the CT image, further channels (an initial level set, say)
        are not windowed.

    Raises
    ------
    InputError
        Not ``(N, C, H, W)``; an image channel outside [-1, 1] for a model trained on an HU
        window mapped to [-1, 1] (raw HU given instead, say); or another in-plane
        size for a model whose input has more than one channel (a u0 channel
        cannot be resampled as an image).
    """
    if images.ndim != 4:
        raise InputError(f"images has shape {tuple(images.shape)}; expected (N, C, H, W)")
    settings = getattr(model, "preprocessing", None)
    if settings is None:
        return
    if settings.window is not None and images.numel():
        low, high = float(images[:, 0].min()), float(images[:, 0].max())
        if low < -1 - _WINDOW_SLACK or high > 1 + _WINDOW_SLACK:
            raise InputError(
                f"images range from {low:g} to {high:g}; {type(model).__name__} was trained on the HU window "
                f"{settings.window} mapped to [-1, 1] (load the data with PreprocessSettings(window={settings.window}))")
    if images.shape[1] > 1 and tuple(images.shape[-2:]) != (settings.size, settings.size):
        raise InputError(f"images of {tuple(images.shape[-2:])} pixels with {images.shape[1]} channels; "
                         f"{type(model).__name__} was trained at {settings.size}x{settings.size} and only a one-channel "
                         "image can be resampled to it")


def resample(x: torch.Tensor, size, *, antialias: bool = True) -> torch.Tensor:
    """``(N, C, H, W)`` resampled bilinearly to the in-plane ``size`` (h, w).

    Antialiased by default, as :func:`~lsn_explorer.data.resize_image` loads slices; returned
    as is when already that size.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=antialias)


def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 32, device: str | torch.device = "auto") -> torch.Tensor:
    """Logits of ``model`` on images, batched, in eval mode under ``torch.no_grad()``.

    The model runs on ``device`` (``"auto"``: see :func:`~lsn_explorer.devices.resolve_device`)
    with the inputs; a model that lives elsewhere is copied there, so the caller's
    model keeps its device and its train/eval mode. Images of another in-plane size
    than the model's ``preprocessing.size`` are resampled to it (bilinear) and the
    logits back to the images' size.

    Parameters
    ----------
    model : nn.Module
        A network returning logits ``(B, 1, h, w)``.
    images : torch.Tensor
        ``(N, C, H, W)``, preprocessed as the model's ``preprocessing`` says.
    batch_size : int, optional
        Slices per forward pass. Default 32.
    device : str or torch.device, optional
        Where the network runs. Default "auto".

    Returns
    -------
    torch.Tensor
        Logits ``(N, 1, H, W)`` on the CPU.

    Raises
    ------
    InputError
        Images the model cannot take (see :func:`check_inputs`).
    """
    check_inputs(model, images)
    settings = getattr(model, "preprocessing", None)
    trained = tuple(images.shape[-2:]) if settings is None else (settings.size, settings.size)
    dev = resolve_device(device)
    net = placed(model, dev)
    was_training = net.training
    net.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, images.shape[0], batch_size):
                x = resample(images[i : i + batch_size].to(dev), trained)
                out.append(resample(net(x).float(), images.shape[-2:]).cpu())
    finally:
        net.train(was_training)
    return torch.cat(out)


def evaluate(model: nn.Module, data, *, batch_size: int = 32, device: str | torch.device = "auto") -> dict:
    """Dice-L2 loss, mean per-slice hard Dice and per-volume Dice of ``model`` on ``data``.

    Parameters
    ----------
    model : nn.Module
        A network returning logits; it is not moved (see :func:`predict`).
    data : SliceData, SliceStack or (images, masks[, dataids])
        The slices.
    device : str or torch.device, optional
        Where the network runs. Default "auto".

    Returns
    -------
    dict
        ``loss``, ``dice`` (mean over slices), ``volume_dice`` (mean over
        volumes, when dataids are known) and ``per_volume`` ``{dataid: Dice}``.
    """
    data = as_slice_data(data, "data")
    logits = predict(model, data.images, batch_size=batch_size, device=device)
    result = {
        "loss": float(dice_l2_loss(logits, data.masks)),
        "dice": float(hard_dice(logits, data.masks)),
    }
    if data.dataids is not None:
        per = volume_dice(logits > 0, data.masks, data.dataids)
        result["per_volume"] = per
        result["volume_dice"] = float(np.mean(list(per.values())))
    return result


