from __future__ import annotations

import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.models import UNet

PAIRS = [(1, 16)] + [(16, 16)] * 5 + [
    (16, 32), (32, 32), (32, 64), (64, 64), (64, 32), (32, 32), (48, 16), (16, 16), (32, 16), (16, 16), (32, 16), (16, 16),
]


def test_unet_has_the_18_analysed_layers_in_order():
    layers = UNet().named_kernel_layers()
    assert [name for name, _, _ in layers] == [f"conv{k}" for k in range(1, 19)]
    assert [(w.shape[1], w.shape[0]) for _, _, w in layers] == PAIRS
    assert all(w.shape[-2:] == (3, 3) for _, _, w in layers)
    assert [part for _, part, _ in layers] == ["encoder"] * 9 + ["decoder"] * 9


def test_unet_kernel_and_parameter_counts():
    net = UNet()
    assert sum(w.shape[0] * w.shape[1] for _, _, w in net.named_kernel_layers()) == 14608
    assert sum(p.numel() for p in net.parameters()) == 131938


def test_unet_kernel_layers_are_the_live_weights():
    net = UNet()
    _, _, w = net.named_kernel_layers()[0]
    with torch.no_grad():
        w.zero_()
    assert torch.count_nonzero(net.down[0][0].conv.weight) == 0


@pytest.mark.parametrize("shape", [(2, 1, 32, 48), (1, 1, 16, 16)])
def test_unet_returns_logits_of_the_input_shape(shape):
    torch.manual_seed(0)
    out = UNet()(torch.randn(shape))
    assert out.shape == shape
    assert out.dtype == torch.float32


def test_unet_options_change_the_network():
    plain = sum(p.numel() for p in UNet().parameters())
    with_bn = UNet(batch_norm=True)
    assert sum(p.numel() for p in with_bn.parameters()) > plain
    assert any(isinstance(m, torch.nn.Dropout2d) for m in UNet(dropout=0.5).modules())
    small = UNet(depth=2, features=8)
    assert len(small.named_kernel_layers()) == 10
    assert small(torch.zeros(1, 1, 12, 12)).shape == (1, 1, 12, 12)


def test_unet_batch_norm_keeps_18_kernel_layers():
    assert len(UNet(batch_norm=True, dropout=0.2).named_kernel_layers()) == 18


def test_unet_rejects_bad_options_and_sizes():
    with pytest.raises(InputError, match="depth"):
        UNet(depth=0)
    with pytest.raises(InputError, match="dropout"):
        UNet(dropout=1.5)
    with pytest.raises(InputError, match="divisible by 16"):
        UNet()(torch.zeros(1, 1, 33, 63))
