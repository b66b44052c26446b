"""LSN-G, the authors' trained Level Set Network: its g-CNN layer by layer, its solver layers, one quick epoch."""

import pytest
import torch

from lsn_explorer.levelset import evolve
from lsn_explorer.levelset.operators import central_gradient
from lsn_explorer.models import LearnedEdgeLSN, load_model, save_checkpoint
from lsn_explorer.models.lsn_g import AuthorsEdgeNet, _pool_stride_one
from lsn_explorer.train import evaluate, fit, load_fold


def test_lsn_g_has_the_authors_46596_parameters_layer_by_layer():
    net = LearnedEdgeLSN()
    assert sum(p.numel() for p in net.edge_net.parameters()) == 46_593
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 46_596
    shapes = [tuple(conv.weight.shape[:2]) for conv in net.edge_net.convs]
    assert shapes == [(16, 1), (16, 16), (16, 16), (16, 16), (32, 16), (32, 32), (32, 32), (16, 32),
                      (16, 32), (16, 16), (16, 32), (1, 16)]  # (out, in): concatenations feed 32 channels
    assert all(float(conv.bias.detach().abs().max()) == 0 for conv in net.edge_net.convs)
    weights = torch.cat([conv.weight.detach().flatten() for conv in net.edge_net.convs])
    assert float(weights.std()) == pytest.approx(0.05, rel=0.05)
    assert [n for n, part, _ in net.named_kernel_layers()] == [f"g_conv{k}" for k in range(1, 13)]
    assert (net.config["num_steps"], net.config["dt"], net.config["init"]) == (10, 0.05, "uniform")


def test_the_g_net_keeps_the_resolution_and_its_pools_have_stride_one():
    net = AuthorsEdgeNet()
    image = torch.randn(2, 1, 20, 28)
    with torch.no_grad():
        g = net(image)
    assert g.shape == (2, 1, 20, 28) and float(g.min()) > 0 and float(g.max()) < 1
    # a stride-1 max-pool 'same' pads bottom and right only: a single bright pixel spreads up and left
    x = torch.zeros(1, 1, 5, 5)
    x[..., 2, 2] = 1.0
    pooled = _pool_stride_one(x)[0, 0]
    assert pooled.shape == (5, 5) and pooled[1:3, 1:3].eq(1).all() and pooled.sum() == 4


def test_lsn_g_layers_are_the_solver_with_the_learned_edge_map():
    torch.manual_seed(0)
    net = LearnedEdgeLSN(num_steps=4, dt=0.1).double()
    assert net.num_substeps() == 1
    image = torch.randn(2, 1, 24, 24, dtype=torch.float64)
    u0 = net.initial(image)
    g = net.edge_function(image)
    expected = evolve(u0, g, num_iter=4, alpha=1.0, beta=1.0, gamma=1.0, dt=0.1)
    torch.testing.assert_close(net(image), expected, rtol=0, atol=1e-10)
    # the authors' y sign: the advection's y velocity flipped
    flipped = LearnedEdgeLSN(num_steps=4, dt=0.1, authors_y_sign=True).double()
    flipped.load_state_dict(net.state_dict())
    gx, gy = central_gradient(g)
    expected = evolve(u0, g, num_iter=4, alpha=1.0, beta=1.0, gamma=1.0, dt=0.1, grad_g=(gx, -gy))
    torch.testing.assert_close(flipped(image), expected, rtol=0, atol=1e-10)
    assert not torch.allclose(flipped(image), net(image))


def test_with_u0_ones_the_network_is_the_identity():
    # a flat u0 has no gradient: every term of Eq. 1 vanishes (the authors' default u0 learns nothing)
    net = LearnedEdgeLSN(init="ones")
    image = torch.randn(1, 1, 16, 16)
    assert torch.equal(net(image), torch.ones(1, 1, 16, 16))


def test_lsn_g_checkpoint_round_trip(tmp_path):
    net = LearnedEdgeLSN(num_steps=3)
    with torch.no_grad():
        net.gamma.fill_(-2.5)
    back = load_model(save_checkpoint(tmp_path / "lsn-g.pt", net))
    assert isinstance(back, LearnedEdgeLSN) and float(back.gamma.detach()) == -2.5
    image = torch.randn(1, 1, 16, 16)
    torch.testing.assert_close(back(image), net(image))


@pytest.mark.slow
def test_one_quick_epoch_of_lsn_g_on_the_phantom(tmp_path):
    train, valid, _, _ = load_fold("phantom", fold=0, preset="quick")
    train, valid = train.select(range(0, len(train), 4)), valid.select(range(0, len(valid), 4))
    torch.manual_seed(0)
    net = LearnedEdgeLSN()
    before = evaluate(net, valid)["loss"]
    run = fit(net, train, valid, out=tmp_path / "run", epochs=1, batch_size=16, lr=1e-3, seed=0, device="cpu",
              progress=False)
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 2
    after = evaluate(load_model(run / "best.pt"), valid)["loss"]
    assert after < before  # one epoch already lowers the validation Dice-L2 loss
