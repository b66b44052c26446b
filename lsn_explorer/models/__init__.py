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


def __getattr__(name):
    # the LSN imports lsn_explorer.levelset; load it on first use
    if name == "LevelSetNetwork":
        from .lsn import LevelSetNetwork

        return LevelSetNetwork
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
