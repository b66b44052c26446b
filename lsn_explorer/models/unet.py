"""The UNet whose 3x3 kernels the paper analyses (Actor et al. 2020, Figure 1 and 3).

The default configuration rebuilds the September-2019 Keras network behind the
kernel-analysis figures: depth 4, 16 filters doubling to 32 and 64 in the two
deepest levels ("fan-out"), two 3x3 conv + ReLU per block, 2x2 max-pooling,
nearest up-sampling *after* the two decoder convolutions, concatenation skips
and a 1x1 head.  It has exactly 18 3x3 convolutions, numbered 1-18 in the
order the paper numbers them (1-9 encoder, 10-18 decoder)::

    layer  in -> out   resolution      layer  in -> out   resolution
      1     1 -> 16    H                 10    64 -> 64   H/16 (bottom)
      2    16 -> 16    H                 11    64 -> 32   H/16
      3    16 -> 16    H/2               12    32 -> 32   H/16
      4    16 -> 16    H/2               13    48 -> 16   H/8
      5    16 -> 16    H/4               14    16 -> 16   H/8
      6    16 -> 16    H/4               15    32 -> 16   H/4
      7    16 -> 32    H/8               16    16 -> 16   H/4
      8    32 -> 32    H/8               17    32 -> 16   H/2
      9    32 -> 64    H/16 (bottom)     18    16 -> 16   H/2

14,608 3x3 kernels and 131,938 parameters (without batch norm).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from .registry import Recipe

__all__ = ["UNet"]


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3x3 convolution with zero 'same' padding, Glorot-uniform weights, zero bias (Keras defaults)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class _ConvReLU(nn.Sequential):
    """[batch norm] -> [spatial dropout] -> conv 3x3 -> ReLU (the authors' ``cbr``)."""

    def __init__(self, in_channels: int, out_channels: int, *, batch_norm: bool, dropout: float):
        layers: list[nn.Module] = []
        if batch_norm:
            layers.append(nn.BatchNorm2d(in_channels))
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        layers += [_conv3x3(in_channels, out_channels), nn.ReLU(inplace=True)]
        super().__init__(*layers)

    @property
    def conv(self) -> nn.Conv2d:
        return self[-2]


class _TwoConv(nn.Sequential):
    """two conv 3x3 + ReLU blocks."""

    def __init__(self, in_channels: int, out_channels: int, *, batch_norm: bool, dropout: float):
        super().__init__(
            _ConvReLU(in_channels, out_channels, batch_norm=batch_norm, dropout=dropout),
            _ConvReLU(out_channels, out_channels, batch_norm=batch_norm, dropout=dropout),
        )


class UNet(nn.Module):
    """The analysed UNet: 2-D, one input channel, concatenation skips, raw logits out.

    Parameters
    ----------
    in_channels : int, optional
        Input channels. Default 1.
    out_channels : int, optional
        Output channels (logits). Default 1.
    depth : int, optional
        Number of pooling steps. Default 4 (18 conv layers). H and W must be
        divisible by ``2**depth``.
    features : int, optional
        Filters at the outer levels. Default 16. The two deepest levels use
        2x and 4x as many (the authors' ``fanout``).
    batch_norm : bool, optional
        Batch norm on each conv's input, as the authors' ``--batchnorm``. Default False.
    dropout : float, optional
        Rate of spatial dropout (``nn.Dropout2d``) before each conv of the
        decoder and bottom blocks, where the authors put theirs (0.5). Default 0.0.

    Raises
    ------
    InputError
        If ``depth < 1``, ``features < 1`` or ``dropout`` is outside [0, 1).

    Notes
    -----
    Layer ``k`` of the paper's Figure 3 is ``named_kernel_layers()[k - 1]``.
    Weights are Glorot-uniform with zero biases (the Keras defaults the
    authors trained with); the paper's "standard normal" is not used.

    Examples
    --------
    >>> net = UNet()
    >>> len(net.named_kernel_layers())
    18
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 1, 32, 32])
    """

    model_name = "unet"
    amp_ok = True
    #: Training per preset family: 12 epochs at lr 2e-3 on a CPU; the paper's 40 epochs at 1e-3.
    recipes = {"quick": Recipe(epochs=12, lr=2e-3), "paper": Recipe(epochs=40, lr=1e-3)}
    preprocessing = None

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        *,
        depth: int = 4,
        features: int = 16,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if int(depth) != depth or depth < 1:
            raise InputError(f"depth={depth!r} must be an integer >= 1")
        if int(features) != features or features < 1:
            raise InputError(f"features={features!r} must be an integer >= 1")
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"dropout={dropout!r} must be in [0, 1)")
        self.config = dict(
            in_channels=int(in_channels), out_channels=int(out_channels), depth=int(depth),
            features=int(features), batch_norm=bool(batch_norm), dropout=float(dropout),
        )
        opts = dict(batch_norm=batch_norm)
        widths = [features * 2 ** max(0, 2 - d) if d < 2 else features for d in range(depth, -1, -1)]
        # widths[i]: filters of the level i steps below the top; the last is the bottom
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        skips = []
        c = in_channels
        for i in range(depth):
            skips.append(c)
            self.down.append(_TwoConv(c, widths[i], dropout=0.0, **opts))
            c = widths[i]
        self.bottom = _TwoConv(c, widths[depth], dropout=dropout, **opts)
        c = widths[depth]
        for i in reversed(range(depth)):
            self.up.append(_TwoConv(c, widths[i], dropout=dropout, **opts))
            c = widths[i] + skips[i]
        self.head = nn.Conv2d(c, out_channels, kernel_size=1)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def depth(self) -> int:
        return self.config["depth"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W) -> (N, C_out, H, W)`` logits; H, W divisible by ``2**depth``.

        Raises
        ------
        InputError
            If ``x`` is not 4-D or H, W are not divisible by ``2**depth``.
        """
        m = 2**self.depth
        if x.ndim != 4 or x.shape[-1] % m or x.shape[-2] % m:
            raise InputError(f"UNet input has shape {tuple(x.shape)}; expected (N, C, H, W) with H, W divisible by {m}")
        skips = []
        h = x
        for block in self.down:
            skips.append(h)
            h = F.max_pool2d(block(h), 2)
        h = self.bottom(h)
        for block, skip in zip(self.up, reversed(skips)):
            h = F.interpolate(block(h), scale_factor=2, mode="nearest")
            h = torch.cat([skip, h], dim=1)
        return self.head(h)

    def kernel_convs(self) -> list[nn.Conv2d]:
        """The 3x3 convolutions in the paper's order (encoder first, bottom, decoder)."""
        blocks = [*self.down, self.bottom, *self.up]
        return [cbr.conv for block in blocks for cbr in block]

    def named_kernel_layers(self) -> list[tuple[str, str, torch.Tensor]]:
        """``(name, part, weight (out, in, 3, 3))`` for layers 1..18, in order.

        Layers ``1 .. 2*depth + 1`` are ``"encoder"``, the rest ``"decoder"``
        (for depth 4: 1-9 and 10-18, as the paper).
        """
        convs = self.kernel_convs()
        n_enc = 2 * self.depth + 1
        return [
            (f"conv{k}", "encoder" if k <= n_enc else "decoder", conv.weight)
            for k, conv in enumerate(convs, start=1)
        ]
