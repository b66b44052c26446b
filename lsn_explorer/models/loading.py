"""Checkpoint files: write them atomically, read them without unpickling objects.

A checkpoint is a ``torch.save``'d dict of plain types and tensors only, so that
``torch.load(weights_only=True)`` can read it::

    {"format": "lsn_explorer.checkpoint/1",
     "model": {"name": a registered model name, "config": {constructor keyword arguments}},
     "state_dict": {...},
     "preprocessing": {"size": ..., "window": ..., ...},   # what the model was trained on
     # training checkpoints also hold: "epoch", "optimizer", "rng", "history", "best"
    }

Models are looked up in :mod:`lsn_explorer.models.registry`, so any registered
model can be saved and loaded.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch
from torch import nn

from .._files import atomic_path
from ..errors import CheckpointError, InputError
from .registry import build_model, model_names, model_spec

__all__ = [
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "export_checkpoint",
]

CHECKPOINT_FORMAT = "lsn_explorer.checkpoint/1"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **extra) -> Path:
    """Write ``model`` (spec + state_dict) and ``extra`` entries atomically to ``path``."""
    model = getattr(model, "module", model)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": model_spec(model),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        **extra,
    }
    preprocessing = getattr(model, "preprocessing", None)
    if preprocessing is not None:
        payload["preprocessing"] = preprocessing.to_dict()
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, *, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises
    ------
    MissingDataError
        If the file does not exist.
    CheckpointError
        If it is not a torch file, holds pickled objects, or lacks the keys above.
    """
    from ..errors import MissingDataError

    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"checkpoint {path} holds pickled Python objects, which are refused (weights_only=True): {str(exc).splitlines()[0]}"
        ) from None
    except Exception as exc:  # torch raises many types for a file that is not its own
        raise CheckpointError(f"{path} is not a PyTorch checkpoint file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} holds a {type(payload).__name__}; expected an lsn_explorer checkpoint dict")
    missing = [k for k in ("format", "model", "state_dict") if k not in payload]
    if missing:
        raise CheckpointError(f"{path} is not an lsn_explorer checkpoint: missing keys {missing}")
    if payload["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has format {payload['format']!r}; expected {CHECKPOINT_FORMAT!r}")
    spec = payload["model"]
    if not isinstance(spec, dict) or spec.get("name") not in model_names() or not isinstance(spec.get("config"), dict):
        raise CheckpointError(f"{path} has model entry {spec!r}; expected {{'name': one of {list(model_names())}, 'config': dict}}")
    return payload


def _load_state(model: nn.Module, state: dict, path: Path) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: missing keys {missing}, unexpected keys {unexpected}")
    wrong = [f"{k}: {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in own.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(f"{path} has tensors of the wrong shape: {'; '.join(wrong)}")
    model.load_state_dict(state)


def load_model(path: str | os.PathLike, *, map_location="cpu") -> nn.Module:
    """Rebuild the model stored in a checkpoint, in eval mode, with its preprocessing.

    Parameters
    ----------
    path : str or Path
        A ``best.pt`` / ``last.pt`` of a run folder, or a bundled ``.pt``.
    map_location : str or torch.device, optional
        Where the tensors go. Default "cpu".

    Returns
    -------
    nn.Module
        The model with its weights, ``.eval()``; ``model.preprocessing`` is the
        :class:`~lsn_explorer.data.PreprocessSettings` it was trained with (None
        when the checkpoint does not say).

    Raises
    ------
    CheckpointError
        Not a checkpoint, pickled objects refused, missing keys or wrong shapes
        (the message names the file).
    """
    path = Path(path)
    payload = load_checkpoint(path)  # on the CPU, where the model is built; then moved
    spec = payload["model"]
    try:
        model = build_model(spec["name"], spec["config"])
    except InputError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    _load_state(model, payload["state_dict"], path)
    model.preprocessing = _preprocessing(payload.get("preprocessing"), path)
    return model.to(map_location).eval()


def _preprocessing(entry, path: Path):
    """The :class:`~lsn_explorer.data.PreprocessSettings` stored in a checkpoint, or None."""
    if entry is None:
        return None
    from ..data.volume import PreprocessSettings

    try:
        window = entry.get("window")
        return PreprocessSettings(**{**entry, "window": tuple(window) if window is not None else None})
    except (TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path} has preprocessing {entry!r}; expected PreprocessSettings fields ({exc})") from None


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, **extra) -> Path:
    """Copy the model of checkpoint ``src`` to ``dst`` without optimiser and RNG state.

    ``epoch`` and ``history`` are kept when present; ``extra`` entries (plain
    types) are added, e.g. the command that trained it. Used for the bundled
    checkpoints.
    """
    src = Path(src)
    payload = load_checkpoint(src)
    model = load_model(src)
    keep = {k: payload[k] for k in ("epoch", "history") if k in payload}
    return save_checkpoint(dst, model, **keep, **extra)
