"""Named sizes of a run: ``quick`` for a CPU in minutes, ``paper`` for a GPU.

Notebooks and scripts read the preset name from ``$LSN_EXPLORER_PRESET``;
without it, ``quick`` is used unless CUDA is present.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

from .errors import InputError

__all__ = ["Preset", "PRESETS", "get_preset", "default_preset_name"]


@dataclass(frozen=True)
class Preset:
    """The sizes that distinguish a quick CPU run from the paper's protocol.

    How long each network trains, and with which learning rate and layer counts,
    is the network's own business: every model lists a
    :class:`~lsn_explorer.models.registry.Recipe` per preset ``family``.

    Attributes
    ----------
    name : str
        ``"quick"``, ``"paper"`` or the name of a derived preset.
    image_size : int
        In-plane size (pixels) slices are resized to.
    phantom_volumes : int
        How many phantom volumes the default data set holds.
    phantom_size : int
        In-plane size of the generated phantom volumes.
    phantom_slices : int
        Axial slices per phantom volume.
    batch_size : int
        Slices per optimisation step.
    family : {"quick", "paper"}
        Which recipes of the models apply; a preset derived with
        :meth:`replace` keeps its parent's family.
    """

    name: str
    image_size: int
    phantom_volumes: int
    phantom_size: int
    phantom_slices: int
    batch_size: int = 20
    family: str = "paper"

    def to_dict(self) -> dict:
        """The preset as a plain dict (for ``config.json``)."""
        return asdict(self)

    def replace(self, **changes) -> "Preset":
        """A copy with some fields changed."""
        return replace(self, **changes)


PRESETS = {
    "quick": Preset(name="quick", image_size=128, phantom_volumes=10, phantom_size=256, phantom_slices=32,
                    batch_size=16, family="quick"),
    "paper": Preset(name="paper", image_size=256, phantom_volumes=20, phantom_size=512, phantom_slices=48,
                    batch_size=20, family="paper"),
}


def default_preset_name() -> str:
    """``$LSN_EXPLORER_PRESET`` if set, else ``paper`` with CUDA and ``quick`` without."""
    name = os.environ.get("LSN_EXPLORER_PRESET")
    if name:
        return name
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def get_preset(name: str | Preset | None = None) -> Preset:
    """Look a preset up by name (``None`` means :func:`default_preset_name`).

    Raises
    ------
    InputError
        If ``name`` is not one of the known presets.
    """
    if isinstance(name, Preset):
        return name
    name = default_preset_name() if name is None else name
    if name not in PRESETS:
        raise InputError(f"preset={name!r} is not one of {sorted(PRESETS)}")
    return PRESETS[name]
