"""Where computations run: one rule for ``device="auto"`` and models placed without side effects.

Every part of lsn_explorer that takes ``device=`` (training, prediction, Table 2,
the notebooks) resolves it here, so ``"auto"`` means the same everywhere: CUDA,
then Apple's MPS, then the CPU.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .errors import InputError

__all__ = ["resolve_device", "model_device", "placed"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → cuda, then mps, then cpu; anything else is checked and passed to ``torch.device``.

    Raises
    ------
    InputError
        Not a device name, or CUDA asked for where there is none.
    """
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"device={device!r} is not a device ({exc}); expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device!r} but CUDA is not available; use device='auto' or 'cpu'")
    return dev


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for a model with neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _same(a: torch.device, b: torch.device) -> bool:
    return a.type == b.type and (a.index or 0) == (b.index or 0)


def placed(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` on ``device`` without touching the caller's object.

    Returns the model itself when it is already there, else a copy moved to
    ``device`` (the caller's model keeps its device, weights and mode).
    """
    if _same(model_device(model), device):
        return model
    return copy.deepcopy(model).to(device)
