"""Networks, the registry that lists them by name, and their checkpoint files.

Every model follows the protocol of :mod:`lsn_explorer.models.registry`; the
trainer, Table 2, the command line, the atlas and the apps find models there.
"""

from __future__ import annotations

from .._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, {
    "bundled_model": "bundled",
    "bundled_names": "bundled",
    "bundled_path": "bundled",
    "export_checkpoint": "loading",
    "load_checkpoint": "loading",
    "load_model": "loading",
    "save_checkpoint": "loading",
    "LevelSetNetwork": "lsn",
    "LearnedEdgeLSN": "lsn_g",
    "SpeedMapLSN": "speed_map_lsn",
    "Recipe": "registry",
    "build_model": "registry",
    "model_class": "registry",
    "model_names": "registry",
    "model_spec": "registry",
    "recipe_for": "registry",
    "register_model": "registry",
    "UNet": "unet",
})
