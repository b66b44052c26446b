from __future__ import annotations

import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.edges import edge_function
from lsn_explorer.levelset.initial import bubbles
from lsn_explorer.levelset.solver import evolve
from lsn_explorer.levelset.stencils import XC, YC, as_weight
from lsn_explorer.models import LevelSetNetwork, load_model, save_checkpoint


def _image(n=3, size=40, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(n, 1, size, size, dtype=dtype)
    img[..., 10:30, 8:28] = 1.0
    return img + 0.1 * torch.randn(img.shape, generator=g, dtype=dtype)


def test_lsn_from_stencils_reproduces_the_solver():
    img = _image(dtype=torch.float64)
    u0 = bubbles((3, 1, 40, 40), [(20, 18)], radius=5.0, dtype=torch.float64)
    net = LevelSetNetwork.from_stencils(8, 0.2, alpha=1.0, beta=0.2, gamma=0.5).double()
    expected = evolve(u0, edge_function(img), num_iter=8, alpha=1.0, beta=0.2, gamma=0.5, dt=0.2,
                      backend="reference")
    torch.testing.assert_close(net(img, u0), expected, atol=1e-6, rtol=0)
    assert not any(p.requires_grad for p in net.parameters())


def test_lsn_from_stencils_float32_matches_to_rounding():
    img = _image()
    u0 = bubbles((3, 1, 40, 40), [(20, 18)], radius=5.0)
    net = LevelSetNetwork.from_stencils(8, 0.2, alpha=1.0, beta=0.2, gamma=0.5)
    expected = evolve(u0, edge_function(img), num_iter=8, alpha=1.0, beta=0.2, gamma=0.5, dt=0.2,
                      backend="reference")
    torch.testing.assert_close(net(img, u0), expected, atol=1e-5, rtol=1e-6)


def test_lsn_learned_curvature_kernels_go_through_the_solver_step():
    img = _image(dtype=torch.float64)
    u0 = bubbles((3, 1, 40, 40), [(20, 18)], radius=5.0, dtype=torch.float64)
    net = LevelSetNetwork.from_stencils(4, 0.1).double()
    with torch.no_grad():
        net.curvature_kernels.mul_(1.3).add_(0.01)
    expected = evolve(u0, edge_function(img), num_iter=4, alpha=1.0, beta=0.2, gamma=0.0, dt=0.1,
                      curvature_kernels=net.curvature_kernels)
    torch.testing.assert_close(net(img, u0), expected, atol=1e-6, rtol=0)


def test_lsn_learns_curvature_and_edge_kernels_not_convection():
    net = LevelSetNetwork()
    trainable = {name: p.shape for name, p in net.named_parameters() if p.requires_grad}
    assert trainable == {
        "edge_kernels": (2, 1, 3, 3), "curvature_kernels": (4, 1, 3, 3),
        "alpha": (), "beta": (), "gamma": (), "log_scale": (),
    }
    like = torch.zeros(())
    torch.testing.assert_close(net.curvature_kernels, as_weight([XC, YC, XC, YC], like))
    torch.testing.assert_close(net.edge_kernels, as_weight([XC, YC], like))
    assert not LevelSetNetwork(learn_weights=False).alpha.requires_grad
    torch.manual_seed(0)
    assert LevelSetNetwork(kernel_init="normal").curvature_kernels.std() > 0.5


def test_lsn_gradients_reach_every_trainable_parameter():
    net = LevelSetNetwork(num_steps=2, dt=0.5, init="disc")
    img = _image(n=2, size=32)
    y = torch.zeros_like(img)
    y[..., 10:25, 8:24] = 1
    from lsn_explorer.losses import dice_l2_loss

    dice_l2_loss(net(img), y).backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_lsn_batch_equals_single_images():
    net = LevelSetNetwork(num_steps=2, dt=0.5, init="disc")
    img = _image(n=3, size=32)
    img[1] *= 5.0  # a much stronger edge in one image must not change the others
    batch = net(img)
    single = torch.cat([net(img[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single, atol=1e-4, rtol=1e-5)


def test_lsn_default_is_not_the_identity():
    net = LevelSetNetwork(num_steps=2, init="disc")
    img = _image(n=1, size=32)
    u0 = net.initial(img)
    assert (net.evolve(img) - u0).abs().max() > 0.1


def test_lsn_paper_preset_is_stable_at_dt_one():
    img = _image(n=2, size=48)
    u0 = bubbles((2, 1, 48, 48), [(20, 18)], radius=6.0)
    paper = LevelSetNetwork.from_preset("paper", alpha=3.0, beta=1.0, gamma=2.0)
    assert paper.config["num_steps"] == 5 and paper.config["dt"] == 1.0
    assert paper.num_substeps() > 1
    u = paper.evolve(img, u0)
    # upwind steps under the CFL limit create no new extrema beyond the propagation: |u| stays bounded
    assert torch.isfinite(u).all() and u.abs().max() < u0.abs().max() + 3.0 * 5 * 1.5
    one_step = LevelSetNetwork.from_preset("paper", alpha=3.0, beta=1.0, gamma=2.0, substeps=1)
    assert one_step.evolve(img, u0).abs().max() > 10 * u.abs().max()  # the same dt without substeps blows up


def test_lsn_code_preset_matches_the_authors_settings():
    code = LevelSetNetwork.from_preset("code")
    assert (code.config["num_steps"], code.config["dt"], code.config["init"]) == (10, 0.05, "ones")
    assert code.num_substeps() == 1


def test_lsn_initial_conditions():
    img = torch.zeros(2, 1, 64, 64)
    uni = LevelSetNetwork(init="uniform").initial(img)
    assert uni.min() >= 0 and uni.max() < 1 and uni.std() > 0.2
    torch.testing.assert_close(uni, LevelSetNetwork(init="uniform").initial(img))
    assert (LevelSetNetwork(init="ones").initial(img) == 1).all()
    disc = LevelSetNetwork(init="disc").initial(img) > 0
    assert disc[0, 0, int(0.67 * 64), int(0.25 * 64)] and not disc[0, 0, 5, 60]


def test_lsn_checkpoint_round_trip(tmp_path):
    net = LevelSetNetwork(num_steps=2, init="disc", edge="sobel4")
    with torch.no_grad():
        net.alpha.fill_(0.7)
    path = save_checkpoint(tmp_path / "lsn.pt", net)
    back = load_model(path)
    img = _image(n=1, size=32)
    torch.testing.assert_close(back(img), net(img))
    assert [n for n, part, w in back.named_kernel_layers()] == ["edge", "curvature_gradient", "curvature_divergence"]
    assert all(part == "lsn" and w.shape == (2, 1, 3, 3) for _, part, w in back.named_kernel_layers())


def test_lsn_rejects_bad_options():
    with pytest.raises(InputError, match="init"):
        LevelSetNetwork(init="circle")
    with pytest.raises(InputError, match="num_steps"):
        LevelSetNetwork(num_steps=0)
    with pytest.raises(InputError, match="preset"):
        LevelSetNetwork.from_preset("keras")
    with pytest.raises(InputError, match=r"\(N, 1, H, W\)"):
        LevelSetNetwork()(torch.zeros(8, 8))


def test_two_channel_input_is_image_and_u0():
    torch.manual_seed(0)
    image, u0 = torch.rand(2, 1, 16, 16), torch.randn(2, 1, 16, 16)
    net = LevelSetNetwork(num_steps=2, dt=0.5)
    assert torch.equal(net(torch.cat([image, u0], dim=1)), net(image, u0))
    with pytest.raises(InputError, match="two channels"):
        net(torch.cat([image, u0], dim=1), u0)
