"""What :func:`~lsn_explorer.train.fit` is told: the recipe of a run and the hooks around it.

:class:`FitOptions` is the recipe, everything that changes the weights a run gives
(epochs, batch size, Adam's ``lr`` and ``eps``, clipping, seed, precision,
augmentation). It is frozen and checks its values when made, so one recipe can be
kept, shared between runs and varied with :func:`dataclasses.replace`::

    recipe = FitOptions(epochs=40, batch_size=16, lr=1e-3, seed=0)
    fit(UNet(), train, valid, out="runs/unet", options=recipe)
    fit(UNet(), train, valid, out="runs/unet-seed1", options=recipe, seed=1)

:class:`FitHooks` holds what a caller around the loop needs and the weights never
see: a function called after every epoch, a stop after some epoch (tests), the
command printed after Ctrl-C (the CLI).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from ..augment import Augmentation
    from ..models.registry import Recipe

__all__ = ["FitOptions", "FitHooks", "fit_options"]


@dataclass(frozen=True)
class FitOptions:
    """The recipe of a training run: every setting that changes the weights it gives.

    Parameters
    ----------
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    batch_size : int, optional
        Slices per step (per rank under DDP). Default 16.
    lr : float, optional
        Learning rate of the default Adam optimiser. Default 1e-3.
    eps : float, optional
        Epsilon of the default Adam optimiser. Default 1e-7 (the Keras default the
        authors trained with).
    clip_grad_norm : float or None, optional
        Rescale the gradients so that their global norm is at most this before each
        step. Default None (no clipping).
    seed : int, optional
        Seeds python, numpy and torch, and the data order; in [0, 2**32). Default 0.
    amp : bool or None, optional
        Mixed precision (bfloat16 autocast, float16 with loss scaling on GPUs
        without bfloat16); None means on CUDA for models that allow it
        (``model.amp_ok``; the LSN does not). Default None.
    channels_last : bool or None, optional
        ``channels_last`` memory format; None means on CUDA for models that allow
        it. Default None.
    augment : Augmentation or None, optional
        Transform every training batch with :func:`lsn_explorer.augment.augment`
        (one-channel inputs only), drawn from a generator seeded by ``seed`` and the
        epoch, so a resumed run repeats. Default None (no augmentation).

    Raises
    ------
    InputError
        A value of the wrong type or out of range; the message names the field.

    Examples
    --------
    >>> from dataclasses import replace
    >>> recipe = FitOptions(epochs=2, lr=1e-2)
    >>> replace(recipe, seed=1).seed
    1
    >>> FitOptions(epochs=0)
    Traceback (most recent call last):
    ...
    lsn_explorer.errors.InputError: FitOptions: epochs=0 must be an integer >= 1
    """

    epochs: int
    batch_size: int = 16
    lr: float = 1e-3
    eps: float = 1e-7
    clip_grad_norm: float | None = None
    seed: int = 0
    amp: bool | None = None
    channels_last: bool | None = None
    augment: Augmentation | None = None

    @classmethod
    def from_recipe(cls, recipe: Recipe, *, epochs: int | None = None, **fields) -> FitOptions:
        """The options of a registered model's recipe (its epochs, learning rate and clipping).

        Parameters
        ----------
        recipe : Recipe
            :func:`~lsn_explorer.models.registry.recipe_for` of the model and preset.
        epochs : int, optional
            Instead of the recipe's.
        **fields
            The other fields (``batch_size``, ``seed``, ``augment``, ...).

        Returns
        -------
        FitOptions
        """
        epochs = recipe.epochs if epochs is None else epochs
        return cls(epochs=epochs, lr=recipe.lr, clip_grad_norm=recipe.clip_grad_norm, **fields)

    def __post_init__(self):
        _check_integer("epochs", self.epochs, low=1)
        _check_integer("batch_size", self.batch_size, low=1)
        _check_integer("seed", self.seed, low=0, high=2**32)
        _check_number("lr", self.lr, "> 0", lambda v: v > 0)
        _check_number("eps", self.eps, ">= 0", lambda v: v >= 0)
        if self.clip_grad_norm is not None:
            _check_number("clip_grad_norm", self.clip_grad_norm, "> 0 or None", lambda v: v > 0)
        for name in ("amp", "channels_last"):
            if not (getattr(self, name) is None or isinstance(getattr(self, name), bool)):
                raise InputError(f"FitOptions: {name}={getattr(self, name)!r} must be True, False or None")
        if self.augment is not None and not _is_augmentation(self.augment):
            raise InputError(f"FitOptions: augment={self.augment!r} must be an lsn_explorer.augment.Augmentation "
                             "or None")


def _is_augmentation(value) -> bool:
    from ..augment import Augmentation

    return isinstance(value, Augmentation)


def _check_integer(name: str, value, *, low: int, high: int | None = None) -> None:
    in_range = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    if not in_range or (high is not None and value >= high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high})"
        raise InputError(f"FitOptions: {name}={value!r} must be an integer {allowed}")


def _check_number(name: str, value, allowed: str, test: Callable[[float], bool]) -> None:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and test(value)):
        raise InputError(f"FitOptions: {name}={value!r} must be a finite number {allowed}")


@dataclass(frozen=True)
class FitHooks:
    """What a caller around the training loop needs and the weights never see.

    Parameters
    ----------
    on_epoch_end : callable or None, optional
        Called as ``on_epoch_end(row)`` after every epoch, once its checkpoint and
        ``history.csv`` are written, with a copy of its history row (a dict with
        keys of :data:`~lsn_explorer.train.HISTORY_FIELDS`: the ``valid_*`` ones only
        with validation data, ``valid_volume_dice`` only with its dataids); on rank 0 only under
        DDP. Default None.
    stop_after : int or None, optional
        Stop after this epoch as if interrupted: ``last.pt`` is kept and the run can
        be resumed (tests). Default None.
    resume_hint : str or None, optional
        The command printed after Ctrl-C to continue the run (the CLI). Default:
        the ``fit(..., resume=True)`` call.

    Raises
    ------
    InputError
        A value of the wrong type; the message names the field.

    Examples
    --------
    >>> rows = []
    >>> hooks = FitHooks(on_epoch_end=rows.append, stop_after=1)
    """

    on_epoch_end: Callable[[dict], object] | None = None
    stop_after: int | None = None
    resume_hint: str | None = None

    def __post_init__(self):
        if self.on_epoch_end is not None and not callable(self.on_epoch_end):
            raise InputError(f"FitHooks: on_epoch_end={self.on_epoch_end!r} must be callable or None")
        if self.stop_after is not None and not (
                isinstance(self.stop_after, numbers.Integral) and not isinstance(self.stop_after, bool)
                and self.stop_after >= 1):
            raise InputError(f"FitHooks: stop_after={self.stop_after!r} must be an integer >= 1 or None")
        if self.resume_hint is not None and not isinstance(self.resume_hint, str):
            raise InputError(f"FitHooks: resume_hint={self.resume_hint!r} must be a str or None")


_RECIPE = tuple(f.name for f in fields(FitOptions))
_HOOKS = tuple(f.name for f in fields(FitHooks))


def fit_options(options: FitOptions | None = None, **recipe) -> FitOptions:
    """The recipe of a run: ``options`` with the ``recipe`` keywords replacing its fields.

    Parameters
    ----------
    options : FitOptions or None, optional
        A prepared recipe. Default None: the recipe is ``FitOptions(**recipe)``.
    **recipe
        Fields of :class:`FitOptions` (``epochs``, ``batch_size``, ``lr``, ...).

    Returns
    -------
    FitOptions

    Raises
    ------
    InputError
        ``options`` not a FitOptions; a keyword that is not a field (the message says
        where a hook's name belongs); no ``epochs`` anywhere; a bad value.
    """
    unknown = [name for name in recipe if name not in _RECIPE]
    if unknown:
        hooks = [name for name in unknown if name in _HOOKS]
        where = f" ({', '.join(hooks)}: pass hooks=FitHooks({hooks[0]}=...))" if hooks else ""
        raise InputError(f"fit() got unexpected keyword argument(s) {unknown}{where}; "
                         f"the recipe keywords are {list(_RECIPE)}")
    if options is None:
        if "epochs" not in recipe:
            raise InputError("fit() needs epochs: pass epochs=... or options=FitOptions(epochs=...)")
        return FitOptions(**recipe)
    if not isinstance(options, FitOptions):
        raise InputError(f"options={options!r} must be a FitOptions or None")
    return replace(options, **recipe)
