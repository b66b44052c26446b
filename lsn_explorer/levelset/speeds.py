"""Speeds of the level set equation as fields: scalars, per-image values or per-pixel maps.

Eq. 1 has three weights (``α`` propagation, ``β`` curvature, ``γ`` advection) and
an edge function ``g``.  Each may be given in one of three forms, and every
function of :mod:`lsn_explorer.levelset` accepts all three:

=====================  ===========================================================
form                   meaning
=====================  ===========================================================
``float`` or 0-d       the same value at every pixel of every image
``(N,)`` Tensor        one value per image of the batch
``(N, 1, H, W)``       a map: one value per pixel (``N`` may be 1: one map for all)
=====================  ===========================================================

:func:`as_field` checks a value and returns it in a form that broadcasts against
a ``(N, 1, H, W)`` level set, keeping tensors (and their gradients) as they are.
:class:`RateFields` multiplies the weights into the three fields a step needs:
the normal speed ``F = α g``, the advection velocity ``v = γ ∇g`` and the
curvature weight ``B = β g``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InputError

__all__ = ["as_field", "edge_field", "RateFields", "Field"]

#: A speed as :func:`as_field` returns it: a float, or a tensor that broadcasts against (N, 1, H, W).
Field = float | torch.Tensor


def _expected(name: str, n: int, h: int, w: int) -> str:
    return f"expected a number, a ({n},) tensor (one value per image) or a ({n}, 1, {h}, {w}) map"


def as_field(name: str, value, like: torch.Tensor) -> Field:
    """``value`` in a form that broadcasts against ``like`` ``(N, 1, H, W)``.

    Parameters
    ----------
    name : str
        The argument's name, for messages (``"alpha"``, ``"g"``...).
    value : float, 0-d, (N,) or (N | 1, 1, H, W) Tensor
        The speed (an ``(N, 1, 1, 1)`` tensor, this function's own output for
        ``(N,)``, is accepted too).
    like : (N, 1, H, W) Tensor
        The level set the speed acts on.

    Returns
    -------
    float or Tensor
        A python number as a ``float``; a 0-d tensor unchanged; an ``(N,)``
        tensor viewed as ``(N, 1, 1, 1)``; a map unchanged. Tensors keep their
        autograd history.

    Raises
    ------
    InputError
        A tensor of another shape, or of an integer, boolean or complex dtype;
        the message names ``name`` and the shapes it accepts.

    Examples
    --------
    >>> import torch
    >>> u = torch.zeros(2, 1, 4, 4)
    >>> as_field("alpha", torch.tensor([1.0, -1.0]), u).shape
    torch.Size([2, 1, 1, 1])
    """
    n, _, h, w = like.shape
    if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
        raise InputError(f"{name} is a {type(value).__name__}; {_expected(name, n, h, w)}")
    if not isinstance(value, torch.Tensor):
        return float(value)
    if not value.is_floating_point():
        raise InputError(f"{name} has dtype {value.dtype}; expected a floating-point tensor")
    shape = tuple(value.shape)
    if value.ndim == 0:
        return value
    if value.ndim == 1 and shape[0] in (1, n):
        return value.view(-1, 1, 1, 1)
    if value.ndim == 4 and shape[0] in (1, n) and shape[1:] in ((1, h, w), (1, 1, 1)):
        return value
    raise InputError(f"{name} has shape {shape}; {_expected(name, n, h, w)}")


def edge_field(g, like: torch.Tensor) -> torch.Tensor:
    """The edge function ``g`` as a ``(N | 1, 1, H, W)`` tensor (a map is returned as it is).

    A number or per-image value becomes a constant map on ``like``'s device (its
    gradient is zero).

    Raises
    ------
    InputError
        As :func:`as_field`, naming ``g``.
    """
    g = as_field("g", g, like)
    if isinstance(g, torch.Tensor) and g.ndim == 4:
        return g
    t = torch.as_tensor(g, dtype=like.dtype, device=like.device).reshape(-1, 1, 1, 1)
    return t.expand(t.shape[0], 1, *like.shape[-2:])


@dataclass(frozen=True)
class RateFields:
    """The fields one step of Eq. 1 needs, each broadcasting against ``(N, 1, H, W)``.

    Attributes
    ----------
    speed : float or Tensor
        Normal speed ``F = α g`` of the propagation term ``F |∇u|``.
    vx, vy : float or Tensor
        Advection velocity ``v = γ ∇g`` of the term ``v · ∇u``.
    curvature : float or Tensor
        Weight ``B = β g`` of the curvature term ``B κ |∇u|``.
    """

    speed: Field
    vx: Field
    vy: Field
    curvature: Field

    @classmethod
    def of(cls, g: torch.Tensor, grad_g, alpha: Field, beta: Field, gamma: Field) -> "RateFields":
        """``F = α g``, ``v = γ ∇g``, ``B = β g`` from checked fields (see :func:`as_field`)."""
        gx, gy = grad_g
        return cls(speed=alpha * g, vx=gamma * gx, vy=gamma * gy, curvature=beta * g)

    def scaled(self, dt: Field) -> "RateFields":
        """Every field times ``dt`` (a float or an ``(N, 1, 1, 1)`` tensor): the step ``u + rate(dt·fields)``."""
        return RateFields(self.speed * dt, self.vx * dt, self.vy * dt, self.curvature * dt)

    def maps(self, like: torch.Tensor) -> "RateFields":
        """Every field as a contiguous, detached ``(N, 1, H, W)`` map of ``like``'s dtype and device (for the band step)."""

        def full(x):
            t = torch.as_tensor(x, dtype=like.dtype, device=like.device).detach()
            return t.expand(like.shape).contiguous()

        return RateFields(full(self.speed), full(self.vx), full(self.vy), full(self.curvature))
