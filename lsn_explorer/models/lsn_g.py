r"""LSN-G: the Level Set Network the authors trained, whose edge map ``g`` is a learned CNN.

The authors' public code trains ``get_lse_G`` (``liverlevelset/buildmodel.py``,
layer ``LearnedEdge``; run by ``liverlevelset/trainmodel.py``), not the network of
the paper's text (:class:`~lsn_explorer.models.lsn.LevelSetNetwork`). Its layers are
the same upwind solver steps, but ``g`` is the output of a 46,593-parameter CNN of
the image, and only ``α``, ``β``, ``γ`` are learned besides: 46,596 parameters.

The g sub-network, layer by layer (all convolutions 3x3, zero padding, weights
N(0, 0.05²), zero biases, as Keras ``'normal'``)::

    g1 = ReLU(conv 16→16 (ReLU(conv 1→16 (I))))
    g2 = ReLU(conv 16→16 (ReLU(conv 16→16 (pool(g1)))))
    g3 = ReLU(conv 32→16 (ReLU(conv 32→32 (ReLU(conv 32→32 (ReLU(conv 16→32 (pool(g2)))))))))
    g4 = conv 16→16 (ReLU(conv 32→16 ([g2, g3])))                  no ReLU on the last
    g  = sigmoid(conv 16→1 (ReLU(conv 32→16 ([g1, g4]))))

``pool`` is a 2x2 max-pool with **stride 1** ('same': the bottom row and right
column are padded), so the network never changes resolution; the authors also
computed a bilinear 2x up-sampling before ``g4`` and discarded it, which has no
effect and is left out. ``[a, b]`` concatenates channels in that order.

Settings against the authors' code::

    setting        authors (get_lse_G, trainmodel.py)        here
    -------------  ----------------------------------------  ----------------------------------------
    u0             ones; U[0,1) with --randinit              U[0,1) (the paper's), ones as an option
    Nt, dt         10, 0.05 (one Euler step per layer)       10, 0.05 (CFL substeps only if needed)
    weights        curvature, transport, balloon: trainable, the same three in Eq. 1's names: balloon α,
                   init 1 (their names α, β, γ)              curvature β, advection γ; init 1
    output         sigmoid(u_Nt), Dice-L2, Adam 1e-3         logits u_Nt (sigmoid in the loss), same
    input          raw HU                                    the HU window [-100, 400] → [-1, 1] that
                                                             every model here is trained on
    advection      y sign mixed up (see unrolled.py)         consistent; ``authors_y_sign=True``
    borders        zero padding in the solver                zero flux (replicate), as the solver
    balloon        centred |∇u|                              upwind |∇u| (Osher–Sethian)

What this network learns is measured in ``docs/lsn.md``
(:func:`lsn_explorer.experiments.lsn_ablation.ablate`): with the paper's random u0,
``|∇u0|`` is noise of order one everywhere, so the balloon term ``α g |∇u|`` acts at
every pixel as a source term, and the g-CNN becomes a pixel classifier of the liver.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Recipe
from .unrolled import UnrolledLevelSet

__all__ = ["AuthorsEdgeNet", "LearnedEdgeLSN"]


def _conv(in_channels: int, out_channels: int, std: float) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    nn.init.normal_(conv.weight, 0.0, std)
    nn.init.zeros_(conv.bias)
    return conv


def _pool_stride_one(x: torch.Tensor) -> torch.Tensor:
    """Keras ``MaxPooling2D(2, strides=1, padding='same')``: pad bottom and right, keep the size."""
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, stride=1)


class AuthorsEdgeNet(nn.Module):
    """The authors' g sub-network: ``(N, 1, H, W)`` image → ``(N, 1, H, W)`` edge map in (0, 1).

    Parameters
    ----------
    std : float, optional
        Standard deviation of the normal weight initialisation. Default 0.05
        (Keras ``'normal'``).
    """

    def __init__(self, std: float = 0.05):
        super().__init__()
        self.convs = nn.ModuleList(
            _conv(i, o, std)
            for i, o in [(1, 16), (16, 16), (16, 16), (16, 16), (16, 32), (32, 32), (32, 32), (32, 16),
                         (32, 16), (16, 16), (32, 16), (16, 1)]
        )

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        """The pre-sigmoid output, ``(N, 1, H, W)``."""
        c = self.convs
        g1 = F.relu(c[1](F.relu(c[0](image))))
        g2 = F.relu(c[3](F.relu(c[2](_pool_stride_one(g1)))))
        g3 = _pool_stride_one(g2)
        for conv in c[4:8]:
            g3 = F.relu(conv(g3))
        g4 = c[9](F.relu(c[8](torch.cat([g2, g3], dim=1))))
        return c[11](F.relu(c[10](torch.cat([g1, g4], dim=1))))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(image))


class LearnedEdgeLSN(UnrolledLevelSet):
    """The authors' trained Level Set Network ("LSN-G"): solver layers with a learned CNN edge map.

    Parameters
    ----------
    num_steps : int, optional
        Layers Nt. Default 10 (the authors').
    dt : float, optional
        Time per layer. Default 0.05 (the authors').
    alpha, beta, gamma : float, optional
        Initial balloon, curvature and advection weights (learned). Default 1.
    init : {"uniform", "ones", "disc"}, optional
        u0: U[0, 1) per pixel (default; the paper's and the authors' ``--randinit``),
        ones (the authors' default) or the authors' disc.
    init_seed : int, optional
        Seed of the uniform u0. Default 0.
    kernel_std : float, optional
        Initial weight standard deviation of the g-CNN. Default 0.05.
    authors_y_sign : bool, optional
        Reproduce the y-sign error of the authors' advection. Default False.
    substeps, cfl, max_substeps
        As :class:`~lsn_explorer.models.lsn.LevelSetNetwork`; at the default
        weights one Euler step per layer is stable.

    Examples
    --------
    >>> net = LearnedEdgeLSN()
    >>> sum(p.numel() for p in net.parameters())
    46596
    >>> net(torch.zeros(1, 1, 16, 16)).shape
    torch.Size([1, 1, 16, 16])
    """

    model_name = "lsn-g"
    #: Training per preset family: the authors' Adam 1e-3 (10 epochs; 6 on a CPU).
    recipes = {"quick": Recipe(epochs=6, lr=1e-3), "paper": Recipe(epochs=10, lr=1e-3)}

    def __init__(
        self,
        num_steps: int = 10,
        dt: float = 0.05,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        gamma: float = 1.0,
        init: str = "uniform",
        init_seed: int = 0,
        kernel_std: float = 0.05,
        authors_y_sign: bool = False,
        substeps: int | str = "auto",
        cfl: float = 0.9,
        max_substeps: int = 256,
    ):
        super().__init__()
        shared = self._unrolled_config(
            num_steps=num_steps, dt=dt, init=init, init_seed=init_seed, substeps=substeps, cfl=cfl,
            max_substeps=max_substeps, authors_y_sign=authors_y_sign,
        )
        self.config = dict(**shared, alpha=float(alpha), beta=float(beta), gamma=float(gamma),
                           kernel_std=float(kernel_std))
        self.edge_net = AuthorsEdgeNet(kernel_std)
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))
        self.beta = nn.Parameter(torch.tensor(float(beta)))
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))

    def edge_function(self, image: torch.Tensor) -> torch.Tensor:
        """The g-CNN's map, ``(N, 1, H, W)`` in (0, 1)."""
        return self.edge_net(image)

    def named_kernel_layers(self) -> list[tuple[str, str, torch.Tensor]]:
        """``(name, "g-net", weight)`` for the 12 convolutions of the g-CNN, in order (``g_conv1`` ...)."""
        return [(f"g_conv{k}", "g-net", conv.weight) for k, conv in enumerate(self.edge_net.convs, start=1)]
