import inspect
import math
from dataclasses import replace

import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.backends import BACKENDS, StepProblem, choose_backend, chunk_size
from lsn_explorer.levelset.band import BandStep
from lsn_explorer.levelset.edges import edge_function
from lsn_explorer.levelset.initial import authors_disc, bubbles, random_uniform, signed_distance
from lsn_explorer.levelset.initial import reinitialise
from lsn_explorer.levelset.solver import evolve, store_evolution_in
from lsn_explorer.levelset.operators import central_gradient
from lsn_explorer.levelset.speeds import RateFields
from lsn_explorer.levelset.step import cfl_time_step, gac_step
from lsn_explorer.levelset.stencils import XC, YC, as_weight

from problems import DEVICES, DTYPES, disc_radius, front_position, linear_ramp, step_edge, straight_front
from problems import one_thread  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_disc_under_curvature_flow_follows_r_squared_law(dtype, device):
    r0 = 20.0
    u0 = bubbles((1, 1, 64, 64), [(32, 32)], radius=r0, dtype=dtype, device=device)
    res = evolve(u0, torch.ones_like(u0), num_iter=300, alpha=0.0, beta=1.0, gamma=0.0, return_info=True)
    t = 300 * res.dt
    expected = math.sqrt(r0**2 - 2 * t)  # dr/dt = -1/r
    assert res.u.dtype == dtype and res.u.device == u0.device
    assert abs(float(disc_radius(res.u)) - expected) < 0.05 * expected
    assert float(disc_radius(res.u)) < r0 - 1.5  # it did shrink


def test_constant_propagation_moves_a_straight_front_by_alpha_t():
    u0 = straight_front(16, 64, x0=20.3)
    for alpha in (1.0, 0.5, -0.7):
        res = evolve(u0, torch.ones_like(u0), num_iter=40, alpha=alpha, beta=0.0, gamma=0.0, return_info=True)
        assert abs(front_position(res.u, 8) - (20.3 + alpha * 40 * res.dt)) < 1.0


def test_upwind_step_creates_no_new_extrema_but_central_does():
    u = step_edge(8, 32, x0=16)
    g = linear_ramp(8, 32, a=-0.02, b=0.0, c=1.0)  # constant ∂g/∂x: pure transport
    out = {}
    for scheme in ("upwind", "central"):
        v = u
        for _ in range(10):
            v = gac_step(v, g, alpha=0.0, beta=0.0, gamma=20.0, dt=0.5, scheme=scheme)
        out[scheme] = v
    assert out["upwind"].max() <= 1.0 + 1e-12 and out["upwind"].min() >= -1.0 - 1e-12
    assert not torch.equal(out["upwind"], u)  # the front did move
    assert out["central"].max() > 1.05 or out["central"].min() < -1.05


def _batch_problem():
    u0 = bubbles((4, 1, 40, 48), [[(20, 20)], [(10, 30)], [(25, 24), (30, 10)], [(20, 40)]], radius=4.0)
    y, x = torch.meshgrid(torch.arange(40.0), torch.arange(48.0), indexing="ij")
    images = torch.stack([((x - 24) ** 2 + (y - 20) ** 2 < (8 + 3 * k) ** 2).float() for k in range(4)])[:, None]
    g = 1 / (1 + 10 * (images - torch.nn.functional.avg_pool2d(images, 3, 1, 1)).abs())
    return u0, g


def test_batch_of_four_equals_four_single_calls():
    u0, g = _batch_problem()
    kw = dict(num_iter=30, alpha=1.0, beta=0.3, gamma=2.0, dt=0.1)
    batch = evolve(u0, g, **kw)
    singles = torch.cat([evolve(u0[i : i + 1], g[i : i + 1], **kw) for i in range(4)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-6)


def test_rms_stop_is_per_image_and_batch_equals_singles():
    u0, g = _batch_problem()
    g[0] = 1e-3  # image 0 barely moves: it stops first
    kw = dict(num_iter=200, alpha=1.0, beta=0.3, gamma=2.0, dt=0.1, max_rms_change=0.02, return_info=True)
    batch = evolve(u0, g, **kw)
    singles = [evolve(u0[i : i + 1], g[i : i + 1], **kw) for i in range(4)]
    assert batch.num_iter_run[0] < batch.num_iter_run.max()
    assert batch.num_iter_run.tolist() == [int(s.num_iter_run[0]) for s in singles]
    torch.testing.assert_close(batch.u, torch.cat([s.u for s in singles]), rtol=0, atol=1e-6)
    assert all(bool(r < 0.02) for r, c in zip(batch.rms_change, batch.converged) if c)


def test_dt_above_the_cfl_limit_raises_with_the_numbers():
    g = torch.ones(1, 1, 8, 8)
    assert float(cfl_time_step(g, alpha=0.0, beta=1.0, gamma=0.0, cfl=1.0)) == pytest.approx(0.25)
    assert float(cfl_time_step(g, alpha=1.0, beta=0.0, gamma=0.0, cfl=0.5)) == pytest.approx(0.5 / math.sqrt(2))
    with pytest.raises(InputError, match=r"dt=0.8 exceeds the CFL limit 0.25 "):
        evolve(torch.ones_like(g), g, num_iter=1, alpha=0.0, beta=1.0, dt=0.8)
    with pytest.raises(InputError, match="dt='fast'"):
        evolve(torch.ones_like(g), g, num_iter=1, dt="fast")


def test_callback_and_store_evolution_in():
    u0 = bubbles((2, 1, 16, 16), [(8, 8)], radius=3.0)
    frames = []
    out = evolve(u0, torch.ones_like(u0), num_iter=5, iter_callback=store_evolution_in(frames))
    assert len(frames) == 5 and frames[-1].device.type == "cpu"
    torch.testing.assert_close(frames[-1], out.cpu())
    assert not torch.equal(frames[0], frames[-1])


def test_evolve_takes_one_image_as_bubbles_and_edge_function_do():
    image = torch.zeros(32, 32)
    image[8:24, 8:24] = 1.0
    u0 = bubbles((32, 32), [(16, 16)], radius=3.0)
    seen = []
    u = evolve(u0, edge_function(image), num_iter=30, alpha=1.0, iter_callback=lambda v: seen.append(v.shape))
    batched = evolve(u0[None, None], edge_function(image[None, None]), num_iter=30, alpha=1.0)
    assert u.shape == (32, 32) and seen[-1] == (32, 32)
    torch.testing.assert_close(u, batched[0, 0])
    info = evolve(u0, edge_function(image), num_iter=5, return_info=True)
    assert info.u.shape == (32, 32)


def test_step_is_differentiable_in_weights_and_kernels():
    u0 = bubbles((2, 1, 16, 16), [(8, 8)], radius=4.0)
    g = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.5
    alpha = torch.tensor(1.0, requires_grad=True)
    kernels = torch.nn.Parameter(as_weight([XC, YC, XC, YC], u0))
    u = evolve(u0, g, num_iter=3, alpha=alpha, beta=torch.tensor(0.2), gamma=0.5, dt=0.1, curvature_kernels=kernels)
    torch.sigmoid(u).sum().backward()
    assert alpha.grad is not None and torch.isfinite(alpha.grad) and alpha.grad != 0
    assert torch.isfinite(kernels.grad).all() and kernels.grad.abs().sum() > 0


def test_reinitialise_keeps_the_front_and_restores_unit_slope():
    u0 = 3.0 * bubbles((1, 1, 32, 32), [(16, 15)], radius=8.3)  # steep, not a distance
    u = reinitialise(u0)
    assert torch.equal(u > 0, u0 > 0)
    torch.testing.assert_close(u[0, 0, 16, 2:8], u0[0, 0, 16, 2:8] / 3.0, atol=0.6, rtol=0)
    with pytest.raises(InputError, match="reinit_every=0"):
        evolve(u0, torch.ones_like(u0), num_iter=1, reinit_every=0)


def test_initial_conditions():
    u = bubbles((9, 9), [(4, 4)], radius=2.5)
    assert u.shape == (9, 9) and u.dtype == torch.float32 and u[4, 4] == 2.5 and u[0, 0] < 0
    sd = signed_distance(u > 0)
    assert torch.equal(sd > 0, u > 0) and sd[4, 4] == pytest.approx(2.33, abs=0.01)
    assert torch.equal(random_uniform((1, 1, 4, 4), seed=3), random_uniform((1, 1, 4, 4), seed=3))
    assert not torch.equal(random_uniform((4, 4), seed=3), random_uniform((4, 4), seed=4))
    disc = authors_disc((256, 256))
    assert disc[171, 64] == 10.0 and int((disc > 0).sum()) == pytest.approx(math.pi * 100, rel=0.05)
    with pytest.raises(InputError, match="centers"):
        bubbles((4, 1, 8, 8), [[(1, 1)], [(2, 2)]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_backend_matches_the_reference_step(dtype):
    u0, g = _batch_problem()
    u0, g = u0.to(dtype), g.to(dtype)
    for alpha in (1.0, -0.5):
        kw = dict(num_iter=20, alpha=alpha, beta=0.3, gamma=2.0, dt=0.1)
        ref = evolve(u0, g, backend="reference", **kw)
        fused = evolve(u0, g, backend="fused", **kw)
        torch.testing.assert_close(fused, ref, rtol=0, atol=1e-6 if dtype == torch.float64 else 1e-5)


def test_fused_backend_refuses_what_it_cannot_do():
    u0, g = _batch_problem()
    with pytest.raises(InputError, match="backend='fused' needs"):
        evolve(u0, g, num_iter=1, backend="fused", alpha=torch.tensor(1.0, requires_grad=True))
    with pytest.raises(InputError, match="backend='jax'"):
        evolve(u0, g, num_iter=1, backend="jax")


@pytest.mark.slow
def test_compiled_backend_matches_the_reference_step():
    u0, g = _batch_problem()
    kw = dict(num_iter=5, alpha=1.0, beta=0.3, gamma=2.0, dt=0.1)
    torch.testing.assert_close(evolve(u0, g, backend="compiled", **kw), evolve(u0, g, backend="reference", **kw), rtol=0,
                               atol=1e-5)


def _fronts_across_tiles(dtype):
    # fronts cross many tiles and the image border, in images whose sides are not multiples of the tile
    u0 = bubbles((3, 1, 64, 78), [[(32, 30)], [(3, 4)], [(60, 70), (20, 60)]], radius=6.0, dtype=dtype)
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(78.0), indexing="ij")
    g = (0.6 + 0.4 * torch.cos(x / 7) * torch.sin(y / 5)).to(dtype).expand(3, 1, 64, 78).contiguous()
    return u0, g


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clamp", [4.0, None])
def test_band_backend_equals_the_reference(dtype, clamp):
    u0, g = _fronts_across_tiles(dtype)
    for alpha in (1.0, -0.4):
        kw = dict(num_iter=80, alpha=alpha, beta=0.3, gamma=1.5, dt=0.2, clamp=clamp)
        ref = evolve(u0, g, backend="reference", **kw)
        band = evolve(u0, g, backend="band", tile=8, **kw)
        torch.testing.assert_close(band, ref, rtol=1e-6, atol=1e-5)
        assert (ref > 0).sum() != (u0 > 0).sum()
    kw = dict(num_iter=40, alpha=1.0, beta=0.3, gamma=1.5, dt=0.2, clamp=clamp, reinit_every=15)
    torch.testing.assert_close(evolve(u0, g, backend="band", tile=8, **kw), evolve(u0, g, backend="reference", **kw),
                               rtol=1e-6, atol=1e-5)


def test_the_band_follows_the_front_and_skips_the_rest():
    u0, g = _fronts_across_tiles(torch.float32)
    fields = RateFields.of(g, central_gradient(g), 1.0, 0.3, 1.5).scaled(0.2)
    step = BandStep(fields, u0, clamp=4.0, tile=8)
    u = u0
    for _ in range(30):
        u, _ = step(u)
    assert 0.1 < step.active.mean() < 0.6  # tiles along the fronts only
    dense = BandStep(fields, u0, clamp=None, tile=8)
    u = u0
    for _ in range(3):
        u, _ = dense(u)
    assert dense.active.all()  # an unclipped distance moves everywhere


@pytest.mark.parametrize("backend", ["fused", "band"])
def test_rms_stop_and_batches_agree_across_backends(backend):
    u0, g = _batch_problem()
    g[0] = 1e-3
    kw = dict(num_iter=200, alpha=1.0, beta=0.3, gamma=2.0, dt=0.1, max_rms_change=0.02, return_info=True,
              backend=backend, clamp=4.0)
    ref = evolve(u0, g, **{**kw, "backend": "reference"})
    got = evolve(u0, g, **kw)
    assert got.num_iter_run.tolist() == ref.num_iter_run.tolist() and 0 < min(ref.num_iter_run) < 200
    torch.testing.assert_close(got.rms_change, ref.rms_change, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got.u, ref.u, rtol=0, atol=1e-5)


def test_auto_is_the_default_and_picks_by_what_the_call_needs():
    u0, g = _batch_problem()
    problem = StepProblem(u0, g, central_gradient(g), 1.0, 0.2, 0.0, 0.1, "upwind", None, None, 16, False)
    assert choose_backend("auto", problem).name == "sparse"  # its work follows the front
    assert choose_backend("auto", replace(problem, clamp=4.0)).name == "sparse"
    assert choose_backend("auto", replace(problem, scheme="central")).name == "reference"
    assert choose_backend("auto", replace(problem, alpha=torch.tensor(1.0, requires_grad=True))).name == "reference"
    assert choose_backend("auto", replace(problem, u0=u0.half())).name == "fused"
    assert inspect.signature(evolve).parameters["backend"].default == "auto"
    alpha = torch.tensor(1.0, requires_grad=True)  # the default call still learns
    evolve(u0, g, num_iter=3, alpha=alpha, dt=0.1).sum().backward()
    assert alpha.grad is not None and alpha.grad != 0


def test_a_cpu_batch_runs_in_cache_sized_chunks_with_the_same_result():
    u0 = bubbles((12, 1, 256, 256), [(128, 128)], radius=30.0)
    size = chunk_size(BACKENDS["band"], u0)
    assert 1 <= size < 12  # 12 images of 256² do not fit a core's cache
    g = torch.rand(1, 1, 256, 256, generator=torch.Generator().manual_seed(1)) * 0.5 + 0.5
    kw = dict(num_iter=5, alpha=1.0, beta=0.2, gamma=1.0, dt=0.2)
    torch.testing.assert_close(evolve(u0, g, backend="band", **kw), evolve(u0, g, backend="fused", **kw), rtol=1e-6,
                               atol=1e-5)
    assert chunk_size(BACKENDS["fused"], u0.to("meta")) == 12  # not on the CPU: the whole batch at once


def test_backends_refuse_what_they_cannot_do():
    u0, g = _batch_problem()
    with pytest.raises(InputError, match="backend='band' needs scheme='upwind'"):
        evolve(u0, g, num_iter=1, backend="band", scheme="central")
    with pytest.raises(InputError, match="tile=1"):
        evolve(u0, g, num_iter=1, backend="band", tile=1)
    with pytest.raises(InputError, match="backend='band' steps float32 or float64"):
        evolve(u0.half(), g.half(), num_iter=1, backend="band", dt=0.1)
