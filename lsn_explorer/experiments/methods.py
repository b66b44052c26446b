"""The networks of Table 2: which model each trains, on which input, into which columns.

``unet``         the analysed UNet
``lsn-uniform``  the paper's LSN with its random-uniform u0
``lsn-bubbles``  the same LSN started from bubbles placed in the label (the u0 study; no column;
                 run on request)
``lsn-g``        the authors' trained LSN with a learned CNN edge map
``speed-map``    the speed-map LSN: an encoder–decoder's α and g maps drive upwind solver layers
``no-pde``       its ablation: the same encoder–decoder, α map thresholded, no solver layers

Any registered model name is a method too, with one column on the held-out volumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..errors import InputError
from ..levelset.initial import bubble_level_set
from ..models.registry import build_model, model_names, recipe_for

__all__ = ["Method", "METHODS", "DEFAULT_METHODS", "COLUMN_TITLES", "resolve_methods", "parameter_counts",
           "method_inputs"]


@dataclass(frozen=True)
class Method:
    """A network trained and scored in every fold.

    Attributes
    ----------
    key : str
        Its run folder (``fold-<i>/<key>``) and its name in ``per_volume.csv``.
    model : str
        The registered model it trains.
    inputs : {"image", "bubbles"}
        The image alone, or (image, u0) with u0 = bubbles placed in the label.
    config : dict
        Constructor arguments over the model's recipe.
    columns : tuple of (column, split)
        The Table 2 columns it fills: ``split`` "test" = held-out volumes,
        "valid" = the fold's validation volumes.
    """

    key: str
    model: str
    inputs: str = "image"
    config: dict = field(default_factory=dict, hash=False)
    columns: tuple = field(default=())

    def model_config(self, preset, overrides: dict | None = None) -> dict:
        """Its model's constructor arguments under ``preset``: the recipe's, then :attr:`config`, then ``overrides``."""
        return {**recipe_for(self.model, preset).config, **self.config, **(overrides or {})}

    @classmethod
    def for_model(cls, name: str) -> "Method":
        """A method for any registered model: one column, its name, on the held-out volumes."""
        return cls(key=name, model=name, columns=((name, "test"),))


#: The networks Table 2 can run, in column order.
METHODS = (
    Method("unet", "unet", columns=(("unet", "test"),)),
    Method("lsn-uniform", "lsn", columns=(("lsn_test", "valid"), ("lsn_validation", "test"))),
    Method("lsn-bubbles", "lsn", inputs="bubbles"),
    Method("lsn-g", "lsn-g", columns=(("lsng_test", "valid"), ("lsng_validation", "test"))),
    Method("speed-map", "speed-map-lsn", columns=(("speedmap", "test"),)),
    Method("no-pde", "speed-map-lsn", config={"pde": False}, columns=(("nopde", "test"),)),
)
#: The methods a run without ``methods=`` trains (the bubble-u0 study runs on request).
DEFAULT_METHODS = ("unet", "lsn-uniform", "lsn-g", "speed-map", "no-pde")

#: Header of each known column (others are headed by their model name); the keys of the
#: methods head the columns of the real-CT table, which has one column per method.
COLUMN_TITLES = {
    "levelset": "Level set", "unet": "UNet", "lsn_test": "LSN test", "lsn_validation": "LSN validation",
    "lsng_test": "LSN-G test", "lsng_validation": "LSN-G validation", "speedmap": "Speed-map LSN",
    "nopde": "Speed maps, no PDE", "lsn-uniform": "LSN", "lsn-bubbles": "LSN, bubble u0", "lsn-g": "LSN-G",
    "speed-map": "Speed-map LSN", "no-pde": "Speed maps, no PDE",
}


def resolve_methods(names: Sequence[str] | None) -> tuple[Method, ...]:
    """The methods to run, in the order named.

    Parameters
    ----------
    names : sequence of str or None
        Method keys (``"lsn-uniform"``), registered model names (``"lsn"``: every method that
        trains that model, here ``lsn-uniform`` and ``lsn-bubbles``), or any other registered
        model (one column on the held-out volumes). None: :data:`DEFAULT_METHODS`.

    Returns
    -------
    tuple of Method
        Without repeats.

    Raises
    ------
    InputError
        A name that is neither a method nor a registered model.
    """
    names = DEFAULT_METHODS if names is None else names
    chosen = []
    for name in names:
        known = [m for m in METHODS if name in (m.key, m.model)]
        if not known and name not in model_names():
            raise InputError(f"method {name!r} is neither a Table 2 method {[m.key for m in METHODS]} "
                             f"nor a registered model {list(model_names())}")
        chosen += known or [Method.for_model(name)]
    return tuple(dict.fromkeys(chosen))


def parameter_counts(methods: Sequence[Method], preset, configs: dict | None = None) -> dict[str, int]:
    """Trainable parameters of the network behind each column (the level set has none).

    Parameters
    ----------
    methods : sequence of Method
    preset : Preset
        Its recipes give each model's constructor arguments.
    configs : dict, optional
        ``{method key: constructor arguments}`` over the recipes, as the networks were trained.

    Returns
    -------
    dict
        ``{column: count}``, ``"levelset"`` included (0).
    """
    counts = {"levelset": 0}
    for m in methods:
        net = build_model(m.model, m.model_config(preset, (configs or {}).get(m.key)))
        n = sum(p.numel() for p in net.parameters() if p.requires_grad)
        counts.update({column: n for column, _ in m.columns})
    return counts


def method_inputs(stack, kind: str) -> torch.Tensor:
    """A network's input for a stack of slices.

    Parameters
    ----------
    stack : SliceStack
        ``images`` and ``masks``, ``(N, 1, H, W)``.
    kind : {"image", "bubbles"}
        The image alone, or the image and u0 (bubbles placed in the label) as two channels.

    Returns
    -------
    torch.Tensor
        ``(N, 1, H, W)`` or ``(N, 2, H, W)``.
    """
    if kind == "bubbles":
        u0, _ = bubble_level_set(stack.masks)
        return torch.cat([stack.images, u0], dim=1)
    return stack.images
