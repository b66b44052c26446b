"""Networks: the analysed UNet and the Level Set Network, and their checkpoint files."""

from __future__ import annotations

from .loading import (
    build_model,
    bundled_model,
    bundled_path,
    export_checkpoint,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from .lsn import LevelSetNetwork
from .unet import UNet

__all__ = [
    "UNet",
    "LevelSetNetwork",
    "build_model",
    "load_model",
    "load_checkpoint",
    "save_checkpoint",
    "bundled_model",
    "bundled_path",
    "export_checkpoint",
]

