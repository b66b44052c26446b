"""The model protocol, and the registry that lists every model by name.

The trainer, the checkpoints, the command line, Table 2, the kernel atlas and the
apps never name a network: they ask this registry. A model is an ``nn.Module``
class that provides

=========================  ===================================================================
``model_name``             class attribute: the registry key (``"unet"``, ``"lsn"``...)
``recipes``                class attribute ``{"quick": Recipe, "paper": Recipe}``: epochs,
                           learning rate and constructor config under each preset family
``config``                 instance attribute: the JSON-able constructor keyword arguments,
                           so that ``cls(**config)`` rebuilds the model (checkpoints store it)
``amp_ok``                 class attribute: bfloat16 autocast and ``channels_last`` suit it
                           (used on CUDA only)
``named_kernel_layers()``  ``[(name, part, weight (out, in, 3, 3))]``: its 3x3 kernels for the
                           atlas; ``part`` is "encoder", "decoder", "bottom" or a free label
``forward(images)``        ``(N, C, H, W) -> (N, 1, H, W)`` logits; the segmentation is
                           ``logits > 0``
=========================  ===================================================================

and may provide

=========================================  ======================================================
``title``                                  a short label for menus and tables (default: the name;
                                           the built-ins' are in this module)
``training_loss(net, images, masks, *,``   ``(per-slice loss (N,), logits)`` for one batch;
``progress)``                              ``net`` is the callable to run the forward pass with
                                           (a DistributedDataParallel wrapper under torchrun;
                                           keyword arguments reach ``forward``), ``progress``
                                           runs from 0 to 1 over the training. Default: the
                                           Dice-L2 loss of ``net(images)``.
=========================================  ======================================================

Every model also carries ``preprocessing``: the
:class:`~lsn_explorer.data.PreprocessSettings` (in-plane size, HU window) of the
slices it was trained on, or ``None`` before training. :func:`lsn_explorer.train.fit`
sets it and checkpoints store it.

Adding a model means one file defining the class and one line in ``_BUILTIN`` below
(or a call to :func:`register_model` from outside the package).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "Recipe", "register_model", "model_names", "model_class", "build_model", "model_spec", "recipe_for", "title",
    "describe",
]

#: Built-in models: name -> "module:Class", imported on first use.
_BUILTIN = {
    "unet": "lsn_explorer.models.unet:UNet",
    "lsn": "lsn_explorer.models.lsn:LevelSetNetwork",
    "lsn-g": "lsn_explorer.models.lsn_g:LearnedEdgeLSN",
    "speed-map-lsn": "lsn_explorer.models.speed_map_lsn:SpeedMapLSN",
}
_REGISTRY: dict[str, str | type] = dict(_BUILTIN)
#: Titles by name, the built-ins' written here so that a menu of models imports none of them (nor torch);
#: a registered class's ``title`` is recorded when it registers.
_TITLES = {"unet": "UNet", "lsn": "LSN", "lsn-g": "LSN-G", "speed-map-lsn": "Speed-map LSN"}


@dataclass(frozen=True)
class Recipe:
    """How a model is trained under one preset family.

    Attributes
    ----------
    epochs : int
        Training epochs.
    lr : float
        Adam learning rate.
    config : Mapping
        Constructor keyword arguments (the model's defaults fill the rest).
    clip_grad_norm : float or None
        Largest global gradient norm of a step (None: no clipping).
    """

    epochs: int
    lr: float
    config: Mapping = field(default_factory=dict)
    clip_grad_norm: float | None = None


def register_model(cls: type[nn.Module]) -> type[nn.Module]:
    """Add ``cls`` under ``cls.model_name`` (usable as a class decorator).

    Raises
    ------
    InputError
        If the class lacks a part of the protocol, or the name is taken by another class.
    """
    missing = [a for a in ("model_name", "recipes", "amp_ok", "named_kernel_layers") if not hasattr(cls, a)]
    if missing or not isinstance(getattr(cls, "model_name", None), str):
        raise InputError(f"{cls.__name__} lacks {missing or ['model_name (a str)']} of the model protocol (see lsn_explorer.models.registry)")
    if "quick" not in cls.recipes or "paper" not in cls.recipes:
        raise InputError(f"{cls.__name__}.recipes has {sorted(cls.recipes)}; expected 'quick' and 'paper'")
    name = cls.model_name
    known = _REGISTRY.get(name)
    if known is not None and known is not cls and not (isinstance(known, str) and _path_of(cls) == known):
        raise InputError(f"model name {name!r} is already registered for {known}")
    _REGISTRY[name] = cls
    _TITLES[name] = getattr(cls, "title", _TITLES.get(name, name))
    return cls


def _path_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def model_names() -> tuple[str, ...]:
    """The registered model names, built-in first."""
    return tuple(_REGISTRY)


def model_class(name: str) -> type[nn.Module]:
    """The class registered as ``name``.

    Raises
    ------
    InputError
        If no model has that name; the message lists the names.
    """
    entry = _REGISTRY.get(name)
    if entry is None:
        raise InputError(f"model={name!r} is not one of {list(_REGISTRY)}")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
        _REGISTRY[name] = entry
    return entry


def build_model(name: str, config: Mapping | None = None) -> nn.Module:
    """A new model ``name`` built from its constructor keyword arguments.

    Raises
    ------
    InputError
        Unknown name, or a config the constructor refuses (the message says why).
    """
    cls = model_class(name)
    try:
        return cls(**dict(config or {}))
    except TypeError as exc:
        raise InputError(f"config {dict(config or {})!r} does not fit {cls.__name__}: {exc}") from None


def model_spec(model: nn.Module) -> dict:
    """``{"name": ..., "config": ...}`` of a registered model (a DDP wrapper is unwrapped).

    Raises
    ------
    InputError
        If the model's class is not registered.
    """
    model = getattr(model, "module", model)
    name = getattr(model, "model_name", None)
    if name not in _REGISTRY or not isinstance(model, model_class(name)):
        raise InputError(
            f"{type(model).__name__} is not a registered model (known: {list(_REGISTRY)}); "
            "register it with lsn_explorer.models.register_model"
        )
    return {"name": name, "config": dict(model.config)}


def recipe_for(name: str, preset) -> Recipe:
    """The :class:`Recipe` of model ``name`` under ``preset`` (a :class:`~lsn_explorer.presets.Preset`).

    A preset picks the recipe of its ``family`` ("quick" or "paper").

    Raises
    ------
    InputError
        An unknown model, or a model without a recipe for that family.
    """
    recipes = model_class(name).recipes
    if preset.family not in recipes:
        raise InputError(f"model {name!r} has recipes for {sorted(recipes)}; preset {preset.name!r} needs {preset.family!r}")
    return recipes[preset.family]


def title(name: str) -> str:
    """The short label of model ``name`` (its class's ``title``, else the name), without importing the model.

    Raises
    ------
    InputError
        If no model has that name.
    """
    if name not in _REGISTRY:
        raise InputError(f"model={name!r} is not one of {list(_REGISTRY)}")
    return _TITLES.get(name, name)


def describe(name: str) -> str:
    """The first line of the docstring of model ``name``'s class."""
    doc = (model_class(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else name
