"""Where a trained level-set network's Dice comes from: switch the terms of Eq. 1 off one at a time.

:func:`ablate` scores one trained :class:`~lsn_explorer.models.unrolled.UnrolledLevelSet`
(the paper's LSN or the authors' LSN-G) on held-out slices as trained and with one
change at a time:

==========================  =============================================================
variant                     what changes
==========================  =============================================================
``as trained``              nothing
``no balloon``              α = 0: no propagation term ``α g |∇u|``
``no curvature``            β = 0
``no advection``            γ = 0
``no PDE``                  the output is u0 itself (all terms off)
``u0 = ones``               a flat start, so ``|∇u0| = 0`` (the authors' default u0)
``u_Nt at best level``      the output thresholded at the level (not 0) that scores best on
                            ``tune`` slices: what u_Nt knows, whether or not it crosses 0
``u_Nt - u0 at best level`` the same for what the layers added to u0
``g thresholded``           no solver at all: the edge map ``g`` thresholded directly, with
                            the threshold and polarity that score best on ``tune`` slices
==========================  =============================================================

If the Dice survives "no curvature" and "no advection" but not "no balloon" or
"u0 = ones", and "g thresholded" scores as well, the network segments through the
balloon term acting on the noise of u0: ``α g |∇u0|`` is a per-pixel source term and
the edge network a pixel classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..devices import placed, resolve_device
from ..metrics import volume_dice

__all__ = ["AblationRow", "ablate", "VARIANTS", "format_ablation"]

#: The variants of :func:`ablate`, in order.
VARIANTS = ("as trained", "no balloon", "no curvature", "no advection", "no PDE", "u0 = ones", "u_Nt at best level",
            "u_Nt - u0 at best level", "g thresholded")

_THRESHOLDS = np.round(np.linspace(0.05, 0.95, 19), 2)


@dataclass(frozen=True)
class AblationRow:
    """One variant's score.

    Attributes
    ----------
    variant : str
        One of :data:`VARIANTS`.
    dice : float
        Mean per-volume Dice on the scored slices.
    per_volume : dict
        ``{dataid: Dice}``.
    note : str
        What was set (e.g. the chosen threshold).
    """

    variant: str
    dice: float
    per_volume: dict
    note: str = ""


def _level_set(model, images: torch.Tensor, *, batch_size: int, device, **overrides) -> torch.Tensor:
    """``u_Nt`` of ``model.evolve(image, **overrides)`` in batches, on the CPU."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(device)
            kw = {k: (v(x) if callable(v) else v) for k, v in overrides.items()}
            out.append(model.evolve(x, **kw).cpu())
    return torch.cat(out)


def _segment(model, images: torch.Tensor, **options) -> torch.Tensor:
    return _level_set(model, images, **options) > 0


def _edge_maps(model, images: torch.Tensor, *, batch_size: int, device) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model.edge_function(images[i : i + batch_size].to(device)).cpu()
                          for i in range(0, len(images), batch_size)])


def _quantiles(values: torch.Tensor) -> list[float]:
    """99 candidate levels: the 1st to 99th percentiles of (a sample of) ``values``."""
    flat = values.flatten()
    sample = flat[torch.randperm(len(flat), generator=torch.Generator().manual_seed(0))[:200_000]]
    return torch.quantile(sample.double(), torch.linspace(0.01, 0.99, 99, dtype=torch.float64)).tolist()


def _best_threshold(values: torch.Tensor, masks: torch.Tensor, levels=_THRESHOLDS) -> tuple[float, bool]:
    """The level and polarity (inside = ``values < t`` or ``> t``) of best pooled Dice on these slices."""
    y = masks > 0.5
    best = (-1.0, 0.5, True)
    for t in levels:
        for below in (True, False):
            pred = values < t if below else values > t
            dice = float(2 * (pred & y).sum() / max(1, int(pred.sum() + y.sum())))
            best = max(best, (dice, float(t), below))
    return best[1], best[2]


def ablate(model, stack, *, tune=None, batch_size: int = 16, device: str = "auto") -> list[AblationRow]:
    """Score ``model`` on ``stack`` as trained and with each term of Eq. 1 switched off.

    Parameters
    ----------
    model : UnrolledLevelSet
        A trained :class:`~lsn_explorer.models.LevelSetNetwork` or
        :class:`~lsn_explorer.models.LearnedEdgeLSN` (it is not changed).
    stack : SliceStack
        The slices to score (``images``, ``masks``, ``dataids``), e.g. held-out volumes.
    tune : SliceStack, optional
        Slices that choose the threshold of "g thresholded" (e.g. the validation
        volumes). Default ``stack`` itself (optimistic for that row).
    batch_size : int
        Slices per forward pass. Default 16.
    device : str
        Default "auto".

    Returns
    -------
    list of AblationRow
        In the order of :data:`VARIANTS`.
    """
    dev = resolve_device(device)
    net = placed(model, dev).eval()
    opts = dict(batch_size=batch_size, device=dev)
    images, masks, ids = stack.images, stack.masks, stack.dataids

    def row(variant, prediction, note=""):
        per = volume_dice(prediction, masks, ids)
        return AblationRow(variant, float(np.mean(list(per.values()))), per, note)

    rows = [
        row("as trained", _segment(net, images, **opts)),
        row("no balloon", _segment(net, images, alpha=0.0, **opts), "α = 0"),
        row("no curvature", _segment(net, images, beta=0.0, **opts), "β = 0"),
        row("no advection", _segment(net, images, gamma=0.0, **opts), "γ = 0"),
        row("no PDE", torch.cat([net.initial(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]) > 0,
            "u_Nt = u0"),
        row("u0 = ones", _segment(net, images, u0=torch.ones_like, **opts), "flat u0: no gradient"),
    ]
    tune = stack if tune is None else tune
    u_tune, u_test = _level_set(net, tune.images, **opts), _level_set(net, images, **opts)
    u0_tune, u0_test = net.initial(tune.images), net.initial(images)
    for variant, (a, b) in {"u_Nt at best level": (u_tune, u_test),
                            "u_Nt - u0 at best level": (u_tune - u0_tune, u_test - u0_test)}.items():
        t, below = _best_threshold(a, tune.masks, levels=_quantiles(a))
        rows.append(row(variant, b < t if below else b > t, f"inside where {'<' if below else '>'} {t:.3g}"))
    t, below = _best_threshold(_edge_maps(net, tune.images, **opts), tune.masks)
    g = _edge_maps(net, images, **opts)
    rows.append(row("g thresholded", g < t if below else g > t, f"inside where g {'<' if below else '>'} {t:g}"))
    return rows


def format_ablation(rows: list[AblationRow]) -> str:
    """The rows as a markdown table: variant, mean volume Dice, what was set.

    Parameters
    ----------
    rows : list of AblationRow
        As :func:`ablate` returns them.

    Returns
    -------
    str
        A header, then one line per row in the given order (Dice with 3 decimals,
        the row's ``note`` as the setting); ends with a newline.
    """
    lines = ["| variant | Dice | setting |", "|---|---|---|"]
    lines += [f"| {r.variant} | {r.dice:.3f} | {r.note} |" for r in rows]
    return "\n".join(lines) + "\n"
