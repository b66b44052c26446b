"""The ``MODEL`` argument of the commands: a bundled model's name, or anything the atlas collects from."""

from __future__ import annotations

from ..errors import InputError

__all__ = ["load_model_argument"]


def load_model_argument(model):
    """``"bundled-<name>"`` (e.g. ``"bundled-unet"``) -> that bundled model; anything else unchanged.

    Parameters
    ----------
    model : str, Path, nn.Module or KernelSet

    Returns
    -------
    nn.Module or the argument itself

    Raises
    ------
    InputError
        A ``bundled-`` name that no bundled model has; the message lists them.
    """
    if isinstance(model, str) and model.startswith("bundled-"):
        from ..models import bundled_model, bundled_names

        name = model[len("bundled-") :]
        if name not in bundled_names():
            raise InputError(f"model={model!r}; expected one of {[f'bundled-{n}' for n in bundled_names()]} or a file")
        return bundled_model(name)
    return model
