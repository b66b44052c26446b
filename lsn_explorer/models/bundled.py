"""The checkpoints that ship with the package, trained on the phantom (``lsn_explorer/assets/``).

Finding them needs no torch; :func:`bundled_model` loads one (and torch with it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .registry import model_names

if TYPE_CHECKING:
    from torch import nn

__all__ = ["ASSETS", "bundled_model", "bundled_path", "bundled_names"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"
"""The package's asset folder: bundled checkpoints, their histories, precomputed embeddings."""


def _asset(name: str) -> Path:
    return ASSETS / f"{name}_phantom_quick.pt"


def bundled_names() -> tuple[str, ...]:
    """The registered models that ship with a checkpoint trained on the phantom (quick preset)."""
    return tuple(name for name in model_names() if _asset(name).is_file())


def bundled_path(name: str) -> Path:
    """Path of the bundled checkpoint of model ``name`` under ``lsn_explorer/assets/``.

    Raises
    ------
    InputError
        If ``name`` is not a registered model with a bundled checkpoint.
    """
    if name not in bundled_names():
        raise InputError(f"name={name!r} is not one of the bundled models {list(bundled_names())}")
    return _asset(name)


def bundled_model(name: str) -> nn.Module:
    """The bundled model ``name`` trained on the phantom (quick preset); see ``assets/README.md``."""
    from .loading import load_model

    return load_model(bundled_path(name))
