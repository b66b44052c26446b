"""The speed-map LSN: consistent fixed stencils, solver layers, a front that reaches the liver, one quick epoch."""

import numpy as np
import pytest
import torch

from lsn_explorer.levelset import gac_step
from lsn_explorer.levelset.stencils import XC, XN, XP, YC, YN, YP
from lsn_explorer.metrics import dice_score
from lsn_explorer.models import SpeedMapLSN, UNet, load_model
from lsn_explorer.train import batch_loss, fit, load_fold


@pytest.fixture(scope="module")
def phantom_fold():
    return load_fold("phantom", fold=0, preset="quick")


@pytest.mark.parametrize(
    "stencil, moment_x, moment_y",
    [(XP, 1, 0), (XN, 1, 0), (XC, 1, 0), (YP, 0, 1), (YN, 0, 1), (YC, 0, 1)],
)
def test_the_solver_stencils_are_consistent(stencil, moment_x, moment_y):
    # zero sum: a constant has no derivative; first moments: a ramp's slope comes out exactly
    rows, cols = np.mgrid[-1:2, -1:2]
    assert stencil.sum() == 0
    assert (stencil * cols).sum() == moment_x and (stencil * rows).sum() == moment_y


def test_parameters_stay_under_the_unet():
    net = SpeedMapLSN()
    count = sum(p.numel() for p in net.parameters())
    assert count == 116_014 and count <= sum(p.numel() for p in UNet().parameters()) == 131_938
    assert len(net.named_kernel_layers()) == 18


def test_batch_norm_normalises_the_encoder_decoder_and_survives_a_checkpoint(tmp_path):
    from lsn_explorer.models.loading import save_checkpoint

    net = SpeedMapLSN(features=3, batch_norm=True)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 18 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in SpeedMapLSN(features=3).modules())
    net.train()
    net(torch.randn(4, 1, 32, 32) * 5 + 3)  # batch statistics move the running ones
    assert float(norms[0].running_mean) != 0.0
    save_checkpoint(tmp_path / "bn.pt", net)
    loaded = load_model(tmp_path / "bn.pt").eval()
    image = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(loaded(image), net.eval()(image))


def test_every_layer_is_one_upwind_step_of_eq_1():
    torch.manual_seed(0)
    net = SpeedMapLSN(coarse_factor=2, coarse_steps=3, fine_steps=3).double()
    alpha = torch.tanh(torch.randn(2, 1, 16, 16, dtype=torch.float64))
    g = torch.sigmoid(torch.randn(2, 1, 16, 16, dtype=torch.float64))
    frames = []
    net.solve(alpha, g, iter_callback=frames.append)
    assert [f.shape[-1] for f in frames] == [8] * 3 + [16] * 3
    # a fine layer: one gac_step (reference convolutions) with the per-image CFL step, then the clip
    speed = alpha * g
    dt = 0.9 / (np.sqrt(2) * speed.abs().amax(dim=(1, 2, 3)) + 4 * 0.1 * g.amax(dim=(1, 2, 3)))
    expected = gac_step(frames[-2], g, alpha=alpha, beta=0.1, gamma=0.0, dt=dt).clamp(-3.0, 3.0)
    torch.testing.assert_close(frames[-1], expected, rtol=0, atol=1e-10)


def test_image_edge_terms_act_in_the_full_size_layers_only():
    torch.manual_seed(0)
    net = SpeedMapLSN(coarse_factor=2, coarse_steps=3, fine_steps=3, image_edges=True, edge_advection=1.0).double()
    image = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    image[..., 4:12, 4:12] = 1.0  # a square: the edge map is low on its outline
    alpha = torch.full_like(image, -0.5)
    g = torch.full_like(image, 0.8)
    fine_g, (vx, vy) = net.image_terms(image, g)
    assert float(fine_g[0, 0, 4, 8]) < 0.5 * float(fine_g[0, 0, 0, 0]), "g times the image's edge map"
    assert float(vx.abs().amax()) > 0 and float(vy.abs().amax()) > 0
    plain, edged = [], []
    net.solve(alpha, g, iter_callback=plain.append)
    net.solve(alpha, g, fine_g=fine_g, advection=(vx, vy), iter_callback=edged.append)
    for k in range(3):  # the coarse layers see the learned g only (the front must cross the body's outline)
        torch.testing.assert_close(edged[k], plain[k])
    assert not torch.equal(edged[-1], plain[-1])
    off = SpeedMapLSN(coarse_factor=2, coarse_steps=3, fine_steps=3)
    assert off.image_terms(image, g) == (g, None)


def test_oracle_speeds_carry_the_front_to_the_liver(phantom_fold):
    # α = +1 in the liver and -1 outside, g = 1: the solver alone must find the liver from the border
    _, _, test, _ = phantom_fold
    with_liver = test.masks.flatten(1).sum(1) > 200
    masks = test.masks[with_liver]
    net = SpeedMapLSN()
    frames = []
    u = net.solve(2 * masks - 1, torch.ones_like(masks), iter_callback=frames.append)
    dice = [dice_score(p > 0, m > 0) for p, m in zip(u[:, 0].numpy(), masks[:, 0].numpy())]
    assert len(dice) >= 10 and min(dice) >= 0.95, f"oracle Dice {np.round(dice, 3)}"
    assert len(frames) == 52 and float((frames[0] > 0).float().mean()) > 0.8  # it started from the border


@pytest.mark.slow
def test_one_quick_epoch_learns_and_the_ablation_is_the_same_network(phantom_fold, tmp_path):
    train, valid, _, _ = phantom_fold
    train, valid = train.select(range(0, len(train), 3)), valid.select(range(0, len(valid), 3))
    torch.manual_seed(0)
    net = SpeedMapLSN()

    def own_loss(model):  # what training minimises, on the validation slices
        with torch.no_grad():
            loss, _ = batch_loss(model, model, valid.images, valid.masks, progress=0.0)
        return float(loss.mean())

    before = own_loss(net)
    run = fit(net, train, valid, out=tmp_path / "run", epochs=1, batch_size=8, lr=2e-3, seed=0, device="cpu",
              progress=False)
    trained = load_model(run / "best.pt")
    assert own_loss(trained) < before
    ablation = SpeedMapLSN(pde=False)
    ablation.load_state_dict(trained.state_dict())  # the same weights, α thresholded
    a, _, _ = trained.speed_maps(valid.images[:2])
    torch.testing.assert_close(ablation(valid.images[:2]), a)
