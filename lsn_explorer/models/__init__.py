"""Networks, the registry that lists them by name, and their checkpoint files.

Every model follows the protocol of :mod:`lsn_explorer.models.registry`; the
trainer, Table 2, the command line, the atlas and the apps find models there.
"""

from __future__ import annotations

from .loading import (
    bundled_model,
    bundled_names,
    bundled_path,
    export_checkpoint,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from .lsn import LevelSetNetwork
from .lsn_g import LearnedEdgeLSN
from .speed_map_lsn import SpeedMapLSN
from .registry import Recipe, build_model, model_class, model_names, model_spec, recipe_for, register_model
from .unet import UNet

__all__ = [
    "UNet",
    "LevelSetNetwork",
    "LearnedEdgeLSN",
    "SpeedMapLSN",
    "Recipe",
    "register_model",
    "model_names",
    "model_class",
    "build_model",
    "model_spec",
    "recipe_for",
    "load_model",
    "load_checkpoint",
    "save_checkpoint",
    "bundled_model",
    "bundled_names",
    "bundled_path",
    "export_checkpoint",
]
