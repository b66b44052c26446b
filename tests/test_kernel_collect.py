"""Collecting 3x3 kernels from modules, checkpoints, state_dicts and Keras .h5 files."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from lsn_explorer.errors import CheckpointError, DataFileError, MissingDataError
from lsn_explorer.kernels import collect_kernels, kernels_from_model, read_keras_h5
from lsn_explorer.models import UNet, save_checkpoint


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 6, 3, groups=3), nn.Conv2d(6, 1, 1), nn.Conv2d(1, 2, 5)
    )


def test_module_rows_are_weight_o_i_row_major_o_outer():
    net = _net()
    ks = kernels_from_model(net)
    w = net[0].weight.detach().double().numpy()
    assert ks.kernels.shape == (6 + 6, 9)
    assert ks.kernels.dtype == np.float64
    r = 0
    for o in range(3):
        for i in range(2):
            np.testing.assert_array_equal(ks.kernels[r], w[o, i].ravel())
            assert (ks.out_channel[r], ks.in_channel[r], ks.layer[r]) == (o, i, 0)
            r += 1


def test_depthwise_gives_one_kernel_per_channel_and_other_sizes_are_skipped():
    net = _net()
    ks = kernels_from_model(net)
    dw = ks.layers[1]
    assert dw.depthwise and dw.n_kernels == 6
    # groups=3, 6 outputs: output o reads input o // 2
    np.testing.assert_array_equal(ks.in_channel[dw.start : dw.stop], [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(ks.kernels[dw.start + 5], net[2].weight[5, 0].detach().double().numpy().ravel())
    assert [s[1] for s in ks.skipped] == [(1, 6, 1, 1), (2, 1, 5, 5)]
    assert [info.part for info in ks.layers] == ["unknown", "unknown"]


def test_default_unet_has_18_layers_and_14608_kernels_tagged_encoder_decoder():
    ks = collect_kernels(UNet())
    assert len(ks) == 14_608
    assert ks.n_layers == 18
    assert [info.part for info in ks.layers] == ["encoder"] * 9 + ["decoder"] * 9
    assert [info.shape[:2] for info in ks.layers][:3] == [(16, 1), (16, 16), (16, 16)]


def test_checkpoint_and_raw_state_dict_give_the_module_kernels(tmp_path):
    torch.manual_seed(1)
    net = UNet(depth=1, features=2)
    ref = collect_kernels(net)
    ckpt = save_checkpoint(tmp_path / "net.pt", net)
    from_ckpt = collect_kernels(ckpt)
    np.testing.assert_array_equal(from_ckpt.kernels, ref.kernels)
    assert [i.part for i in from_ckpt.layers] == [i.part for i in ref.layers]
    raw = tmp_path / "raw.pth"
    torch.save(net.state_dict(), raw)
    from_raw = collect_kernels(raw)
    # a raw state_dict has no layer order beyond its keys, and no encoder/decoder tags
    assert len(from_raw) == len(ref)
    assert sorted(map(tuple, from_raw.kernels)) == sorted(map(tuple, ref.kernels))
    assert {i.part for i in from_raw.layers} == {"unknown"}


def _keras_file(path, *, wrapped=True):
    """A Keras-2 style file: wrapper model > inner model > conv, depthwise, 1x1 and conv layers."""
    rng = np.random.default_rng(3)
    k_a = rng.normal(size=(3, 3, 2, 4))  # HWIO
    k_dw = rng.normal(size=(3, 3, 4, 2))  # (h, w, channels, multiplier)
    k_1x1 = rng.normal(size=(1, 1, 8, 8))
    k_b = np.zeros((3, 3, 8, 1))
    k_b[0, 2, 5, 0] = 1.0  # top-right tap of input 5 -> output 0
    layers = [
        ("zz_first_conv", "Conv2D", k_a, "kernel"),
        ("depthwise_conv2d_1", "DepthwiseConv2D", k_dw, "depthwise_kernel"),
        ("conv2d_pointwise", "Conv2D", k_1x1, "kernel"),
        ("aa_last_conv", "Conv2D", k_b, "kernel"),
    ]
    inner = {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": [{"class_name": "InputLayer", "config": {"name": "input_1"}}]
            + [{"class_name": c, "config": {"name": n}} for n, c, _, _ in layers],
        },
    }
    outer = {
        "class_name": "Model",
        "config": {"name": "wrapper", "layers": [{"class_name": "InputLayer", "config": {"name": "in"}}, inner]},
    }
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(outer if wrapped else inner).encode()
        mw = f.create_group("model_weights")
        g = mw.create_group("model_1") if wrapped else mw
        for name, _, k, leaf in layers:
            grp = g if wrapped else g.create_group(name)
            sub = grp.create_group(name)
            sub.create_dataset(f"{leaf}:0", data=k.astype(np.float32))
            sub.create_dataset("bias:0", data=np.zeros(k.shape[-1], np.float32))
    return k_a, k_dw, k_b


@pytest.mark.parametrize("wrapped", [True, False])
def test_keras_h5_counts_order_and_orientation(tmp_path, wrapped):
    path = tmp_path / "modelunet.h5"
    k_a, k_dw, k_b = _keras_file(path, wrapped=wrapped)
    ks = collect_kernels(path)
    # order from model_config, not from the file's alphabetical order
    assert [i.name for i in ks.layers] == ["zz_first_conv", "depthwise_conv2d_1", "aa_last_conv"]
    assert [i.n_kernels for i in ks.layers] == [8, 8, 8]
    assert ks.layers[1].depthwise and not ks.layers[0].depthwise
    assert ks.skipped == (("conv2d_pointwise", (8, 8, 1, 1)),)
    # weight[o, i] = K[:, :, i, o], rows o-outer, i-inner
    np.testing.assert_allclose(ks.kernels[1 * 2 + 0], k_a[:, :, 0, 1].astype(np.float32).ravel())
    # depthwise: output c*m + j reads channel c
    s = ks.layers[1].start
    np.testing.assert_allclose(ks.kernels[s + 2 * 3 + 1], k_dw[:, :, 3, 1].astype(np.float32).ravel())
    assert ks.in_channel[s + 7] == 3
    # the top-right Keras tap is row 0, column 2 of the kernel
    row = ks.kernels[ks.layers[2].start + 5].reshape(3, 3)
    assert row[0, 2] == 1.0 and np.count_nonzero(row) == 1


def test_bad_files_raise_errors_that_name_the_file(tmp_path):
    fake_h5 = tmp_path / "model.h5"
    fake_h5.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFileError, match="model.h5"):
        collect_kernels(fake_h5)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="junk.pt"):
        collect_kernels(junk)
    pickled = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(2, 2, 3, 3)}, "obj": _Thing()}, pickled)
    with pytest.raises(CheckpointError, match="evil.pt"):
        collect_kernels(pickled)
    with pytest.raises(MissingDataError, match="nowhere.pt"):
        collect_kernels(tmp_path / "nowhere.pt")
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(DataFileError, match="empty.h5"):
        read_keras_h5(empty)


class _Thing:
    pass

