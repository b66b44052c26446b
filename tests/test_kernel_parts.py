"""Encoder, bottom and decoder parts of foreign models, read from their topology."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from fixtures.kernels.keras_unet import PARTS, model_config, write_keras_unet
from torch import nn

from lsn_explorer.kernels import collect_kernels, kernels_from_model
from lsn_explorer.kernels.parts import TopologyNode, keras_topology, topology_parts


@pytest.mark.parametrize("keras3", [False, True])
def test_keras_unet_layers_get_the_part_their_place_in_the_graph_gives(tmp_path, keras3):
    path = tmp_path / "unet.h5"
    kernels = write_keras_unet(path, keras3=keras3)
    ks = collect_kernels(path)
    assert [(i.name, i.part) for i in ks.layers] == list(PARTS.items())
    assert ks.skipped == (("head", (1, 2, 1, 1)),)
    dec_a = ks.layers[3]
    # the decoder's input is the concatenation [enc_b (2 channels), up (3 channels)]
    assert dec_a.shape[:2] == (2, 5)
    np.testing.assert_array_equal(ks.kernels[dec_a.start + 4], kernels["dec_a"][:, :, 4, 0].ravel())


def test_a_weights_only_file_has_no_topology_so_parts_are_unknown(tmp_path):
    path = tmp_path / "weights.h5"
    write_keras_unet(path, with_config=False)
    ks = collect_kernels(path)
    assert len(ks.layers) == 5
    assert {i.part for i in ks.layers} == {"unknown"}


def test_a_network_without_pooling_or_upsampling_has_unknown_parts(tmp_path):
    config = model_config()
    config["config"]["layers"] = [
        layer for layer in config["config"]["layers"] if layer["class_name"] not in ("MaxPooling2D", "UpSampling2D")
    ]
    parts = topology_parts(keras_topology(config))
    assert {parts[name] for name in PARTS} == {"unknown"}


def test_a_keras_sequential_model_is_read_as_a_chain():
    layers = [{"class_name": c, "config": {"name": n}} for n, c in
              [("c1", "Conv2D"), ("p", "MaxPooling2D"), ("c2", "Conv2D"), ("u", "UpSampling2D"), ("c3", "Conv2D")]]
    parts = topology_parts(keras_topology({"class_name": "Sequential", "config": {"name": "s", "layers": layers}}))
    assert [parts[n] for n in ("c1", "c2", "c3")] == ["encoder", "bottom", "decoder"]


def test_a_model_nested_in_a_wrapper_keeps_its_parts(tmp_path):
    inner = model_config()
    inner["name"] = "unet"
    wrapper = {"class_name": "Model", "config": {"name": "wrapper", "layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"name": "in"}, "inbound_nodes": []},
        {**inner, "inbound_nodes": [[["in", 0, 0, {}]]]},
    ], "output_layers": [["unet", 0, 0]]}}
    parts = topology_parts(keras_topology(wrapper))
    assert {name: parts[name] for name in PARTS} == PARTS


def test_strided_convolutions_go_down_a_level():
    nodes = [TopologyNode("c1", "conv", (), stride=2), TopologyNode("c2", "conv", ("c1",)),
             TopologyNode("t", "up", ("c2",)), TopologyNode("c3", "conv", ("t",))]
    parts = topology_parts(nodes)
    assert [parts[n] for n in ("c1", "c2", "t", "c3")] == ["encoder", "bottom", "decoder", "decoder"]


class _TorchUNet(nn.Module):
    """Modules registered in the order they run: conv, conv, pool, conv, upsample, conv."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1))
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(2, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)
        self.dec = nn.Conv2d(5, 1, 3, padding=1)

    def forward(self, x):
        skip = self.enc(x)
        return self.dec(torch.cat([skip, self.up(self.mid(self.pool(skip)))], dim=1))


def test_torch_modules_get_parts_from_pooling_and_upsampling_modules():
    net = _TorchUNet()
    assert net(torch.zeros(1, 1, 8, 8)).shape == (1, 1, 8, 8)
    ks = kernels_from_model(net)
    assert [(i.name, i.part) for i in ks.layers] == [
        ("enc.0", "encoder"), ("enc.2", "encoder"), ("mid", "bottom"), ("dec", "decoder")]
    transposed = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ConvTranspose2d(2, 2, 2, stride=2), nn.Conv2d(2, 1, 3))
    assert [i.part for i in kernels_from_model(transposed).layers] == ["encoder", "decoder"]


def test_an_unreadable_model_config_leaves_the_parts_unknown(tmp_path):
    path = tmp_path / "broken.h5"
    write_keras_unet(path)
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = b"{not json"
    assert {i.part for i in collect_kernels(path).layers} == {"unknown"}
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": "nonsense"}).encode()
    assert {i.part for i in collect_kernels(path).layers} == {"unknown"}
