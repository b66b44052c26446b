"""What the course's hidden tests need beside the notebooks: a check on library calls, and a problem slice.

The exercises themselves live in ``course/source/*.ipynb`` with their solutions and hidden tests
(nbgrader's format, see :mod:`lsn_explorer.course`). Two things there are shared:

==========================  ======================================================
:func:`library_names_used`  which of the library's functions a learner's function calls
:func:`tuning_problem`      the phantom slice and bubble that notebook 2 tunes on
==========================  ======================================================
"""

from __future__ import annotations

import builtins
import functools
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .levelset.initial import bubbles

__all__ = ["library_names_used", "TuningProblem", "tuning_problem"]


def library_names_used(fn: Callable, package: str = "lsn_explorer") -> list[str]:
    """The names of ``package``'s functions, classes and modules that ``fn`` refers to.

    A hidden test asserts this is empty where an exercise asks a learner to write a piece
    of the solver themselves rather than call the library's. Constants (the stencil arrays)
    are allowed.

    Parameters
    ----------
    fn : callable
        A function defined in a notebook.
    package : str, optional
        The package whose callables count.

    Returns
    -------
    list of str
        Sorted names, as written in ``fn`` (and in functions nested in it).
    """
    names, codes = set(), [fn.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    scope = {**vars(builtins), **fn.__globals__}
    found = []
    for name in names:
        value = scope.get(name)
        origin = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if callable(value) or isinstance(value, types.ModuleType):
            if isinstance(origin, str) and (origin == package or origin.startswith(package + ".")):
                found.append(name)
    return sorted(found)


@dataclass(frozen=True)
class TuningProblem:
    """The slice of notebook 2's exercise 2: a front that stops by itself.

    Attributes
    ----------
    image : (H, W) float32 ndarray
        Phantom CT slice, HU window [-100, 400] mapped to [-1, 1].
    mask : (H, W) bool ndarray
        The liver label.
    u0 : (H, W) float32 Tensor
        One bubble at the deepest point of the liver (signed distance).
    bubble : (row, col, radius)
    """

    image: np.ndarray
    mask: np.ndarray
    u0: torch.Tensor
    bubble: tuple[float, float, float]


@functools.lru_cache(maxsize=1)
def tuning_problem() -> TuningProblem:
    """Phantom volume 0 at 128², the slice with most liver, one bubble inside it (about 2 s, then cached)."""
    from .data.phantom import widest_liver_slice
    from .levelset.initial import bubble_centers

    image, mask = widest_liver_slice(0, seed=0, size=128, num_slices=8)
    row, col, radius = bubble_centers(mask)[0]
    u0 = bubbles(mask.shape, [(row, col)], radius=radius)
    return TuningProblem(image=image, mask=mask, u0=u0, bubble=(row, col, radius))
