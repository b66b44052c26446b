"""Which part of an encoder-decoder network each layer sits in, read from the network's topology.

A model of lsn_explorer names the part of each kernel layer itself
(``named_kernel_layers()``). For any other network the part is inferred from
where the layer sits between the down-sampling and the up-sampling layers:

=============  ======================================================================
``"encoder"``  the network has not yet reached its deepest level (or, without any
               up-sampling, anywhere: the whole network encodes)
``"bottom"``   at the deepest level, before any up-sampling (the authors' UNet runs
               the first convolutions of each up block *before* its up-sampling, so
               those sit here too)
``"decoder"``  at least one up-sampling lies on a path from the input to the layer
``"unknown"``  the network neither down-samples nor up-samples
=============  ======================================================================

The same words as the built-in models ("encoder", "decoder", "bottom"; see
:mod:`lsn_explorer.models.registry`). The built-in UNet splits its bottom level
half and half between encoder and decoder, as the paper numbers its layers;
the topology alone cannot say where that split lies.

The topology is a list of :class:`TopologyNode`: one per layer, in an order where
every layer comes after its inputs. :func:`keras_topology` reads it from a Keras
``model_config`` (its inbound nodes, or the layer order of a Sequential model;
nested models are expanded in place), :func:`module_topology` from the order in
which an ``nn.Module`` registers its submodules (which is the order they run in
for most hand-written networks, but not for one that reuses a single pooling
module at every level).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopologyNode", "topology_parts", "keras_topology", "module_topology"]

# Keras layer classes (Keras 1 to 3 names) that convolve, pool and up-sample
_KERAS_CONV = frozenset({"Conv2D", "Convolution2D", "DepthwiseConv2D", "SeparableConv2D", "SeparableConvolution2D"})
_KERAS_DOWN = frozenset({"MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D"})
_KERAS_UP = frozenset({"UpSampling2D", "Conv2DTranspose", "Convolution2DTranspose", "Deconvolution2D"})


@dataclass(frozen=True)
class TopologyNode:
    """One layer of a network's graph.

    Attributes
    ----------
    name : str
        The layer's name (as kernel layers are named).
    kind : str
        ``"conv"``, ``"down"`` (pooling), ``"up"`` (up-sampling, transposed
        convolution) or ``"other"``.
    inputs : tuple of str
        Names of the layers it reads.
    stride : int
        Of a ``"conv"``: above 1, the convolution also goes one level down. Default 1.
    """

    name: str
    kind: str
    inputs: tuple[str, ...] = ()
    stride: int = 1


def topology_parts(nodes) -> dict[str, str]:
    """The part ("encoder", "bottom", "decoder" or "unknown") of every node.

    Parameters
    ----------
    nodes : sequence of TopologyNode
        Every node after its inputs; an input not listed counts as the network input.

    Returns
    -------
    dict of str -> str
        Node name -> part (see the module docstring).

    Examples
    --------
    >>> nodes = [TopologyNode("c1", "conv"), TopologyNode("pool", "down", ("c1",)), TopologyNode("c2", "conv", ("pool",)),
    ...          TopologyNode("up", "up", ("c2",)), TopologyNode("c3", "conv", ("c1", "up"))]
    >>> parts = topology_parts(nodes)
    >>> parts["c1"], parts["c2"], parts["c3"]
    ('encoder', 'bottom', 'decoder')
    """
    level_in, level_out, ups = {}, {}, {}
    for node in nodes:
        level_in[node.name] = max((level_out.get(i, 0) for i in node.inputs), default=0)
        goes_down = node.kind == "down" or (node.kind == "conv" and node.stride > 1)
        level_out[node.name] = level_in[node.name] + goes_down
        ups[node.name] = max((ups.get(i, 0) for i in node.inputs), default=0) + (node.kind == "up")
    deepest = max(level_out.values(), default=0)
    has_up = any(node.kind == "up" for node in nodes)
    if deepest == 0 and not has_up:
        return {node.name: "unknown" for node in nodes}
    parts = {}
    for node in nodes:
        if ups[node.name]:
            parts[node.name] = "decoder"
        elif has_up and deepest > 0 and level_in[node.name] == deepest:
            parts[node.name] = "bottom"
        else:
            parts[node.name] = "encoder"
    return parts


def _keras_layers(config) -> tuple[list, list]:
    """``(layers, output names)`` of a Keras model config (Functional, Model or Sequential)."""
    if not isinstance(config, dict):
        return [], []
    inner = config.get("config", {})
    if isinstance(inner, list):  # Keras 1 / early Keras 2 Sequential
        return inner, []
    if not isinstance(inner, dict):
        return [], []
    outputs = [o[0] for o in inner.get("output_layers", []) if isinstance(o, list) and o and isinstance(o[0], str)]
    return list(inner.get("layers", [])), outputs


def _inbound_names(nodes) -> list[str]:
    """Layer names referenced by Keras ``inbound_nodes`` (Keras 2 lists or Keras 3 ``keras_history``)."""
    names = []
    stack = [nodes]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") if isinstance(item.get("config"), dict) else None
            if history:
                names.append(str(history[0]))
            else:
                stack += list(item.values())
        elif isinstance(item, list):
            if len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int):
                names.append(item[0])
            else:
                stack += item[::-1]
    return names


def _stride(layer_config: dict, default) -> int:
    value = layer_config.get("strides") or default
    values = value if isinstance(value, (list, tuple)) else [value]
    return max((int(v) for v in values if isinstance(v, (int, float))), default=1)


def _keras_kind(class_name: str, layer_config: dict) -> tuple[str, int]:
    if class_name in _KERAS_CONV:
        return "conv", _stride(layer_config, 1)
    if class_name in _KERAS_DOWN:
        return ("down" if _stride(layer_config, layer_config.get("pool_size", 2)) > 1 else "other"), 1
    if class_name in _KERAS_UP:
        return "up", 1
    return "other", 1


def keras_topology(config, *, inputs: tuple[str, ...] = ()) -> list[TopologyNode]:
    """The layers of a Keras ``model_config`` (parsed JSON) as :class:`TopologyNode`, nested models in place.

    Parameters
    ----------
    config : dict
        ``json.loads`` of the HDF5 file's ``model_config`` attribute.
    inputs : tuple of str, optional
        What the model's own input layers read (for a model nested in another).

    Returns
    -------
    list of TopologyNode
        In the config's order (Keras writes layers after their inputs). A model
        without inbound nodes (Sequential) is a chain. A nested model is its own
        layers followed by an ``"other"`` node, named as the nested model, that
        reads the nested model's outputs.
    """
    layers, outputs = _keras_layers(config)
    graph = any(isinstance(layer, dict) and "inbound_nodes" in layer for layer in layers)
    nodes, previous = [], list(inputs)
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        layer_config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        name = str(layer.get("name") or layer_config.get("name", ""))
        reads = tuple(_inbound_names(layer.get("inbound_nodes", []))) if graph else tuple(previous)
        if layer.get("class_name") == "InputLayer" or (graph and not reads):
            reads = tuple(inputs)
        if "layers" in layer_config:
            nested = keras_topology(layer, inputs=reads)
            nodes += nested
            _, nested_outputs = _keras_layers(layer)
            reads = tuple(nested_outputs or [n.name for n in nested[-1:]])
            nodes.append(TopologyNode(name, "other", reads))
        else:
            kind, stride = _keras_kind(str(layer.get("class_name", "")), layer_config)
            nodes.append(TopologyNode(name, kind, reads, stride))
        previous = [name]
    return nodes


def module_topology(model) -> list[TopologyNode]:
    """The leaf modules of an ``nn.Module`` as a chain of :class:`TopologyNode`, in registration order.

    ``Conv2d`` is ``"conv"`` (with its stride), ``MaxPool2d`` / ``AvgPool2d`` with a stride
    above 1 ``"down"``, ``Upsample`` / ``UpsamplingNearest2d`` / ``UpsamplingBilinear2d`` /
    ``ConvTranspose2d`` / ``PixelShuffle`` ``"up"``; other modules are left out.
    Pooling and up-sampling done with ``torch.nn.functional`` leave no module,
    so such a network looks flat (its parts are ``"unknown"``).
    """
    from torch import nn

    down = (nn.MaxPool2d, nn.AvgPool2d)
    up = (nn.Upsample, nn.ConvTranspose2d, nn.PixelShuffle)  # UpsamplingNearest2d/Bilinear2d subclass Upsample
    nodes: list[TopologyNode] = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            kind, stride = "conv", max(module.stride)
        elif isinstance(module, down):
            stride = module.stride if module.stride is not None else module.kernel_size
            kind, stride = ("down" if max(_as_pair(stride)) > 1 else "other"), 1
        elif isinstance(module, up):
            kind, stride = "up", 1
        else:
            continue
        nodes.append(TopologyNode(name, kind, (nodes[-1].name,) if nodes else (), stride))
    return nodes


def _as_pair(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)
