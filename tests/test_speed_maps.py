"""Speeds as fields: α, β, γ and g as numbers, per-image values or per-pixel maps, in every backend."""

import math

import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset import bubbles, cfl_time_step, evolve, gac_step
from lsn_explorer.levelset.backends import BACKENDS
from lsn_explorer.models import LevelSetNetwork

from problems import one_thread  # noqa: F401  (autouse fixture)

WEIGHTS = dict(alpha=0.8, beta=0.3, gamma=1.5)


def _problem(n=3, h=32, w=48, dtype=torch.float64):
    u0 = bubbles((n, 1, h, w), [[(16, 14)], [(10, 30), (24, 8)], [(20, 36)]][:n], radius=5.0, dtype=dtype)
    y, x = torch.meshgrid(torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij")
    g = torch.stack([0.55 + 0.4 * torch.cos(x / (5 + k)) * torch.sin(y / 4) for k in range(n)])[:, None]
    return u0, g


def _as(kind, value, like):
    """``value`` as a number, an (N,) tensor or a constant (N, 1, H, W) map."""
    if kind == "scalar":
        return value
    if kind == "per-image":
        return torch.full((like.shape[0],), value, dtype=like.dtype)
    return torch.full_like(like, value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["per-image", "map"])
def test_constant_fields_give_the_scalar_result_in_every_backend(backend, kind):
    if "compiled" in backend:
        pytest.importorskip("torch._inductor")
    u0, g = _problem()
    kw = dict(num_iter=25, dt=0.15, backend=backend)
    scalar = evolve(u0, g, **WEIGHTS, **kw)
    fields = {name: _as(kind, value, u0) for name, value in WEIGHTS.items()}
    torch.testing.assert_close(evolve(u0, g, **fields, **kw), scalar, rtol=0, atol=1e-6)
    # g itself as a per-image value or map: a constant g = 0.7 everywhere
    flat = evolve(u0, 0.7, **WEIGHTS, **kw)
    torch.testing.assert_close(evolve(u0, _as(kind, 0.7, u0), **WEIGHTS, **kw), flat, rtol=0, atol=1e-6)
    assert not torch.equal(flat, u0)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if BACKENDS[b].exact and b not in ("reference", "compiled")])
@pytest.mark.parametrize("clamp", [None, 3.0])
def test_every_backend_follows_the_reference_under_varying_maps(backend, clamp):
    u0, g = _problem(dtype=torch.float32)
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(48.0), indexing="ij")
    alpha = (0.3 + torch.sin(x / 6) * torch.cos(y / 9)).expand_as(u0).contiguous()  # grows here, shrinks there
    beta = torch.tensor([0.1, 0.3, 0.6])
    gamma = (1.0 + 0.5 * torch.cos(y / 5)).expand_as(u0).contiguous()
    kw = dict(num_iter=40, alpha=alpha, beta=beta, gamma=gamma, dt=0.12, clamp=clamp)
    reference = evolve(u0, g, backend="reference", **kw)
    torch.testing.assert_close(evolve(u0, g, backend=backend, **kw), reference, rtol=1e-6, atol=1e-5)
    singles = torch.cat([evolve(u0[i : i + 1], g[i : i + 1], backend=backend, num_iter=40, alpha=alpha[i : i + 1],
                                beta=float(beta[i]), gamma=gamma[i : i + 1], dt=0.12, clamp=clamp) for i in range(3)])
    torch.testing.assert_close(singles, reference, rtol=1e-6, atol=1e-5)


def test_a_map_changes_the_speed_where_it_says():
    # α = +1 on the left half, -1 on the right: a centred disc grows left and shrinks right
    u0 = bubbles((1, 1, 40, 40), [(20, 20)], radius=8.0, dtype=torch.float64)
    alpha = torch.ones_like(u0)
    alpha[..., 20:] = -1.0
    u = evolve(u0, 1.0, num_iter=20, alpha=alpha, beta=0.0, dt=0.5)
    row = (u[0, 0, 20] > 0).nonzero().squeeze(1)
    assert int(row.min()) < 12 - 3  # the left edge moved out by ~10 px·0.5
    assert int(row.max()) < 28 - 3  # the right edge moved in


def test_the_cfl_step_takes_per_image_maxima_of_maps():
    u0, g = _problem(dtype=torch.float32)
    alpha = torch.ones_like(u0)
    alpha[1] *= 4.0  # image 1 is four times as fast
    alpha[2, :, 5, 5] = 8.0  # one fast pixel decides image 2
    limits = cfl_time_step(torch.ones_like(u0), alpha=alpha, beta=0.0, gamma=0.0, cfl=1.0)
    assert limits.shape == (3,) and limits.dtype == torch.float64
    expected = [1 / math.sqrt(2), 1 / (4 * math.sqrt(2)), 1 / (8 * math.sqrt(2))]
    torch.testing.assert_close(limits, torch.tensor(expected, dtype=torch.float64))
    # a per-image β with a shared g and zero α, γ: 1 / (4 β)
    beta = torch.tensor([1.0, 0.5, 0.0])
    limits = cfl_time_step(torch.ones(1, 1, 8, 8), alpha=0.0, beta=beta, gamma=0.0, cfl=1.0)
    assert limits.tolist()[:2] == pytest.approx([0.25, 0.5]) and math.isinf(limits[2])


def test_auto_time_step_is_per_image_so_a_batch_equals_single_calls():
    u0, g = _problem()
    alpha = torch.stack([torch.full_like(g[0], a) for a in (0.5, 1.0, 3.0)])
    batch = evolve(u0, g, num_iter=15, alpha=alpha, beta=0.2, gamma=1.0, return_info=True)
    singles = [evolve(u0[i : i + 1], g[i : i + 1], num_iter=15, alpha=alpha[i : i + 1], beta=0.2, gamma=1.0,
                      return_info=True) for i in range(3)]
    torch.testing.assert_close(batch.u, torch.cat([s.u for s in singles]), rtol=0, atol=1e-12)
    assert batch.dt.tolist() == pytest.approx([float(s.dt[0]) for s in singles])
    assert batch.dt[0] > batch.dt[2]  # the slow image takes longer steps


def test_an_explicit_dt_is_checked_against_every_image():
    u0, g = _problem()
    alpha = torch.ones_like(u0)
    alpha[2] = 5.0
    with pytest.raises(InputError, match=r"dt=0.3 exceeds the CFL limit 0.1\d* for dx=1 in image 2 of 3"):
        evolve(u0, g, num_iter=1, alpha=alpha, beta=0.0, gamma=0.0, dt=0.3)
    evolve(u0, g, num_iter=1, alpha=alpha, beta=0.0, gamma=0.0, dt=torch.tensor([0.3, 0.3, 0.1]))


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("alpha", torch.ones(5), r"alpha has shape \(5,\); expected a number, a \(3,\) tensor"),
        ("beta", torch.ones(3, 1, 16, 16), r"beta has shape \(3, 1, 16, 16\); .* \(3, 1, 32, 48\) map"),
        ("gamma", torch.ones(3, 32, 48), r"gamma has shape \(3, 32, 48\)"),
        ("alpha", torch.ones(3, dtype=torch.int64), "alpha has dtype torch.int64; expected a floating-point"),
        ("beta", "fast", "beta is a str"),
        ("g", torch.ones(2, 1, 32, 48), r"g has shape \(2, 1, 32, 48\)"),
        ("dt", torch.ones(4), r"dt has shape \(4,\)"),
    ],
)
def test_wrong_shapes_and_dtypes_name_the_argument(name, value, expected):
    u0, g = _problem()
    kw = dict(alpha=1.0, beta=0.2, gamma=0.5, dt=0.1)
    args = {"g": g, **kw, name: value}
    with pytest.raises(InputError, match=expected):
        gac_step(u0, args.pop("g"), **args)
    if name != "dt":
        args = {"g": g, **kw, name: value}
        args.pop("dt")
        with pytest.raises(InputError, match=expected):
            evolve(u0, args.pop("g"), num_iter=1, **args)


def test_the_level_set_network_takes_speed_maps():
    torch.manual_seed(0)
    net = LevelSetNetwork.from_stencils(3, 0.2, alpha=1.0, beta=0.2, gamma=0.5).double()
    image = torch.rand(2, 1, 24, 24, dtype=torch.float64)
    u0 = bubbles((2, 1, 24, 24), [(12, 12)], radius=5.0, dtype=torch.float64)
    scalar = net.evolve(image, u0)
    alpha, beta, gamma = (w.detach() for w in net.weights())
    maps = net.evolve(image, u0, alpha=alpha * torch.ones_like(u0), beta=beta.expand(2), gamma=gamma * torch.ones_like(u0))
    torch.testing.assert_close(maps, scalar, rtol=0, atol=1e-12)
    faster = net.evolve(image, u0, alpha=torch.full_like(u0, 2.0))
    assert (faster > 0).sum() > (scalar > 0).sum()
