"""Gather every 3x3 kernel of a network into one ``(K, 9)`` matrix.

A kernel is one ``(input channel, output channel)`` slice of a convolution
weight, flattened row-major: ``weight[o, i].flatten()`` in PyTorch, which is
``K[:, :, i, o].flatten()`` for a Keras ``(H, W, in, out)`` kernel (both
libraries compute a cross-correlation, so no flip is involved). Rows run
layer by layer, then output channel (outer) and input channel (inner), the
order of the authors' analysis. A depthwise layer gives one kernel per channel.
Biases are ignored. Kernels of another spatial size are listed in
``KernelSet.skipped`` and left out. A layer's part ("encoder", "decoder", ...)
comes from the model when it names it, else from the network's topology
(:mod:`~lsn_explorer.kernels.parts`); a bare state_dict has no topology, and its
layers are "unknown".

Sources: an ``nn.Module`` (its ``named_kernel_layers()`` when it has one, else
its ``Conv2d`` modules in registration order), an lsn_explorer checkpoint, a
raw PyTorch ``state_dict`` file (read with ``weights_only=True``), or a Keras 2
HDF5 model file read with h5py (no TensorFlow).
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import sys
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CheckpointError, DataFileError, InputError, MissingDataError
from .parts import keras_topology, module_topology, topology_parts

if TYPE_CHECKING:  # torch loads only for torch models and files: a Keras file or a KernelSet never needs it
    import torch
    from torch import nn

__all__ = ["LayerInfo", "KernelSet", "collect_kernels", "kernels_from_model", "kernels_from_arrays", "read_keras_h5"]


@dataclass(frozen=True)
class LayerInfo:
    """One convolution layer of a :class:`KernelSet`.

    Attributes
    ----------
    name : str
        Layer name (module path, state_dict key stem or Keras layer name).
    part : str
        ``"encoder"``, ``"decoder"``, ... as the model tags it, else as its topology
        says (:func:`~lsn_explorer.kernels.parts.topology_parts`; ``"unknown"``
        when it does not tell).
    shape : tuple of int
        Weight shape in PyTorch order ``(out, in, kh, kw)``; for a depthwise
        layer ``(channels * multiplier, 1, kh, kw)``.
    depthwise : bool
        One kernel per channel instead of one per (in, out) pair.
    start, stop : int
        Rows ``start:stop`` of ``KernelSet.kernels`` belong to this layer.
    """

    name: str
    part: str
    shape: tuple[int, ...]
    depthwise: bool
    start: int
    stop: int

    @property
    def n_kernels(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class KernelSet:
    """All 3x3 kernels of a network, row-major, with where each one came from.

    Attributes
    ----------
    kernels : (K, 9) float64 array
        ``kernels[r].reshape(3, 3)`` is indexed ``[row, col]`` (row = y down,
        col = x right), as ``weight[o, i]``.
    layer : (K,) int array
        Index into ``layers`` (0-based; the paper's layer number is ``layer + 1``).
    in_channel, out_channel : (K,) int arrays
        The (input, output) channel pair of each kernel.
    layers : tuple of LayerInfo
        The 3x3 layers in network order.
    skipped : tuple of (str, tuple)
        ``(name, weight shape)`` of convolution layers whose kernels are not 3x3.
    source : str
        What the kernels were read from.
    """

    kernels: np.ndarray
    layer: np.ndarray
    in_channel: np.ndarray
    out_channel: np.ndarray
    layers: tuple[LayerInfo, ...]
    skipped: tuple[tuple[str, tuple[int, ...]], ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.kernels)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def layer_kernels(self, index: int) -> np.ndarray:
        """The ``(n, 9)`` kernels of layer ``index`` (0-based), a view."""
        info = self.layers[index]
        return self.kernels[info.start : info.stop]


def _build(entries, skipped, source: str) -> KernelSet:
    """``entries``: (name, part, weight (out, in, 3, 3) array, multiplier or 0 if not depthwise)."""
    blocks, layer, cin, cout, infos = [], [], [], [], []
    start = 0
    for index, (name, part, w, mult) in enumerate(entries):
        n_out, n_in = w.shape[:2]
        blocks.append(np.asarray(w, dtype=np.float64).reshape(n_out * n_in, 9))
        o, i = np.meshgrid(np.arange(n_out), np.arange(n_in), indexing="ij")
        o, i = o.ravel(), i.ravel()
        if mult:
            # depthwise weight (C*m, 1, 3, 3): output channel o reads input channel o // m
            i = o // mult
        cin.append(i)
        cout.append(o)
        layer.append(np.full(len(o), index))
        infos.append(LayerInfo(name, part, tuple(int(s) for s in w.shape), bool(mult), start, start + len(o)))
        start += len(o)
    if not blocks:
        found = [f"{n} {s}" for n, s in skipped] or "no convolution layers"
        raise DataFileError(f"{source} has no convolution layer with 3x3 kernels; found {found}")
    return KernelSet(
        kernels=np.ascontiguousarray(np.concatenate(blocks), dtype=np.float64),
        layer=np.concatenate(layer).astype(np.int64),
        in_channel=np.concatenate(cin).astype(np.int64),
        out_channel=np.concatenate(cout).astype(np.int64),
        layers=tuple(infos),
        skipped=tuple(skipped),
        source=source,
    )


def _split(named_weights, source: str) -> KernelSet:
    """(name, part, weight (out, in, kh, kw) array, multiplier) -> KernelSet, skipping non-3x3."""
    entries, skipped = [], []
    for name, part, w, mult in named_weights:
        if w.ndim == 4 and tuple(w.shape[2:]) == (3, 3):
            entries.append((name, part, w, mult))
        else:
            skipped.append((name, tuple(int(s) for s in w.shape)))
    return _build(entries, skipped, source)


def kernels_from_arrays(layers, *, source: str = "arrays") -> KernelSet:
    """A :class:`KernelSet` from ``[(name, part, weight (out, in, kh, kw))]`` arrays or tensors.

    Weights that are not 3x3 are listed in ``skipped``. No layer is depthwise.

    Examples
    --------
    >>> ks = kernels_from_arrays([("a", "encoder", np.zeros((4, 2, 3, 3)))])
    >>> len(ks), ks.layers[0].part
    (8, 'encoder')
    """
    named = []
    for name, part, w in layers:
        arr = _numpy(w) if _is_torch(w, "Tensor") else np.asarray(w, dtype=np.float64)
        named.append((str(name), str(part), arr, 0))
    return _split(named, source)


def _is_torch(obj, kind: str) -> bool:
    """Whether ``obj`` is a ``torch.Tensor`` (``kind="Tensor"``) or ``torch.nn.Module`` (``"Module"``).

    Such an object exists only once torch is imported, so torch is not imported to find out.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(obj, torch.Tensor if kind == "Tensor" else torch.nn.Module)


def _numpy(w: torch.Tensor) -> np.ndarray:
    import torch

    return w.detach().to("cpu", torch.float64).numpy()


def kernels_from_model(model: nn.Module) -> KernelSet:
    """Collect the kernels of an ``nn.Module``.

    Parameters
    ----------
    model : nn.Module
        A model with ``named_kernel_layers() -> [(name, part, weight (out, in, 3, 3))]``
        (lsn_explorer's UNet and LSN), or any module: its ``nn.Conv2d``
        modules are then taken in registration order, each with the part its place
        among the pooling and up-sampling modules gives
        (:func:`~lsn_explorer.kernels.parts.module_topology`);
        a conv with ``groups == in_channels > 1`` is depthwise.

    Returns
    -------
    KernelSet
        ``kernels[r]`` is ``weight[o, i].flatten()``, rows ordered by layer,
        then ``o`` (outer), then ``i`` (inner).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 1, 1))
    >>> ks = kernels_from_model(net)
    >>> ks.kernels.shape, ks.skipped
    ((8, 9), (('2', (1, 4, 1, 1)),))
    """
    if not _is_torch(model, "Module"):
        raise InputError(f"model is a {type(model).__name__}; expected a torch.nn.Module")
    from torch import nn

    model = getattr(model, "module", model)  # DataParallel / DDP
    source = type(model).__name__
    if hasattr(model, "named_kernel_layers"):
        named = [(n, p, _numpy(w), 0) for n, p, w in model.named_kernel_layers()]
        return _split(named, source)
    parts = topology_parts(module_topology(model))
    named = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            depthwise = mod.groups > 1 and mod.groups == mod.in_channels
            mult = mod.out_channels // mod.in_channels if depthwise else 0
            named.append((name, parts.get(name, "unknown"), _numpy(mod.weight), mult))
    return _split(named, source)


def _state_dict_layers(state: dict, path: Path):
    named = []
    for key, value in state.items():
        if _is_torch(value, "Tensor") and value.ndim == 4 and value.is_floating_point():
            name = key[: -len(".weight")] if key.endswith(".weight") else key
            named.append((name, "unknown", _numpy(value), 0))
    if not named:
        raise CheckpointError(f"{path} holds no 4-D convolution weights; expected a state_dict of a convolutional network")
    return named


def _read_torch_file(path: Path) -> KernelSet:
    import torch

    from ..models import load_model

    try:
        return kernels_from_model(load_model(path))
    except CheckpointError:
        pass
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} holds pickled Python objects, which are refused (weights_only=True); expected a state_dict or an lsn_explorer checkpoint"
        ) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is neither a PyTorch checkpoint / state_dict nor a Keras .h5 file ({type(exc).__name__})"
        ) from None
    if isinstance(payload, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(payload.get(key), dict):
                payload = payload[key]
                break
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} holds a {type(payload).__name__}; expected a state_dict (dict of tensors)")
    return _split(_state_dict_layers(payload, path), str(path))


def _decode(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _keras_weights(root) -> tuple[dict[str, tuple[np.ndarray, int]], list[str]]:
    """``({layer: (weight (out, in, kh, kw), multiplier or 0)}, layers in file order)`` of an HDF5 group."""
    import h5py

    found: dict[str, tuple[np.ndarray, int]] = {}
    order: list[str] = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        parts = name.split("/")
        leaf = parts[-1].split(":")[0]
        if leaf not in ("kernel", "depthwise_kernel") or len(parts) < 2:
            return
        layer = parts[-2]
        if leaf == "kernel" and layer in found and found[layer][1]:
            return  # a SeparableConv2D's pointwise kernel is 1x1 anyway; keep the depthwise one
        k = np.asarray(obj[()], dtype=np.float64)
        if k.ndim != 4:
            return
        if leaf == "depthwise_kernel":
            # (kh, kw, C, m) -> (C*m, 1, kh, kw), output channel c*m + j
            w = k.reshape(k.shape[0], k.shape[1], -1).transpose(2, 0, 1)[:, None]
            found[layer] = (w, k.shape[3])
        else:
            found[layer] = (k.transpose(3, 2, 0, 1), 0)  # HWIO -> OIHW
        if layer not in order:
            order.append(layer)

    root.visititems(visit)
    return found, order


def _keras_config_topology(config) -> list:
    """The :class:`~lsn_explorer.kernels.parts.TopologyNode` list of a ``model_config`` attribute (empty if unreadable)."""
    if config is None:
        return []
    try:
        return keras_topology(json.loads(_decode(config)))
    except (ValueError, AttributeError, TypeError):
        return []


def read_keras_h5(path: str | os.PathLike) -> KernelSet:
    """Collect the kernels of a Keras 2 HDF5 model (or weights) file with h5py.

    Conv kernels are stored as ``.../<layer>/kernel:0`` of shape
    ``(kh, kw, in, out)`` and depthwise kernels as ``depthwise_kernel:0`` of
    shape ``(kh, kw, channels, multiplier)``, under ``model_weights/`` (whole
    model) or at the root (``save_weights``), possibly inside the group of a
    wrapper model (``multi_gpu_model``). Layer order follows the
    ``model_config`` attribute, nested models expanded in place; without it,
    the file order.

    Parameters
    ----------
    path : str or Path
        The ``.h5`` / ``.hdf5`` file.

    Returns
    -------
    KernelSet
        ``weight[o, i] = K[:, :, i, o]``. Parts ("encoder", "bottom", "decoder")
        come from the pooling and up-sampling layers of ``model_config``
        (:func:`~lsn_explorer.kernels.parts.keras_topology`); they are
        ``"unknown"`` in a file without ``model_config`` (``save_weights``)
        and in a network that neither pools nor up-samples.

    Raises
    ------
    MissingDataError
        If the file does not exist.
    DataFileError
        If it is not HDF5 or holds no 3x3 conv kernel.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"Keras model file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataFileError(f"{path} is not an HDF5 file ({exc}); expected a Keras .h5 model") from None
    with f:
        found, order = _keras_weights(f["model_weights"] if "model_weights" in f else f)
        nodes = _keras_config_topology(f.attrs.get("model_config"))
    ranked = list(dict.fromkeys(node.name for node in nodes if node.name in found))
    order = ranked + [n for n in order if n not in ranked]
    parts = topology_parts(nodes)
    named = [(n, parts.get(n, "unknown"), found[n][0], found[n][1]) for n in order]
    return _split(named, str(path))


def collect_kernels(model) -> KernelSet:
    """Collect kernels from a module, a checkpoint / state_dict file or a Keras ``.h5`` file.

    Parameters
    ----------
    model : nn.Module, KernelSet, str or Path
        A module (see :func:`kernels_from_model`), an already collected set
        (returned as is), or a file: ``.h5`` / ``.hdf5`` (or any HDF5 file)
        goes to :func:`read_keras_h5`; anything else is read as an lsn_explorer
        checkpoint, else as a raw ``state_dict`` (``weights_only=True``).

    Returns
    -------
    KernelSet

    Raises
    ------
    MissingDataError
        If the file does not exist.
    CheckpointError, DataFileError
        If the file cannot be read safely or holds no 3x3 kernels.
    """
    if isinstance(model, KernelSet):
        return model
    if _is_torch(model, "Module"):
        return kernels_from_model(model)
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(f"model is a {type(model).__name__}; expected an nn.Module, a KernelSet or a file path")
    path = Path(model)
    if not path.is_file():
        raise MissingDataError(f"model file {path} does not exist")
    if path.suffix.lower() in (".h5", ".hdf5"):
        return read_keras_h5(path)
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == b"\x89HDF\r\n\x1a\n":
        return read_keras_h5(path)
    return _read_torch_file(path)
