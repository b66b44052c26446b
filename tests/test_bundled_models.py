from __future__ import annotations

import pytest
import torch

from lsn_explorer.models import (
    LearnedEdgeLSN,
    LevelSetNetwork,
    SpeedMapLSN,
    UNet,
    bundled_model,
    bundled_names,
    bundled_path,
    load_checkpoint,
)
from lsn_explorer.train import evaluate, load_fold

BUNDLED = ("unet", "lsn", "lsn-g", "speed-map-lsn")


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """Fold 0 of the quick phantom: the test volumes, never seen in training or model selection."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LSN_EXPLORER_DATA", str(tmp_path_factory.mktemp("data")))
    try:
        _, _, test, fold = load_fold("phantom", fold=0, preset="quick")
    finally:
        mp.undo()
    return test, fold


def test_bundled_files_record_how_they_were_made():
    assert bundled_names() == BUNDLED
    for name in BUNDLED:
        payload = load_checkpoint(bundled_path(name))
        assert payload["command"].startswith(f"lsn-explorer train {name} --data phantom --fold 0 --preset quick")
        assert f"--seed {payload['seed']} " in payload["command"] + " " and payload["fold"] == 0
        assert 1 <= payload["epoch"] <= len(payload["history"]), "the best epoch is one of the recorded ones"
        assert bundled_path(name).stat().st_size < 1_000_000


def test_bundled_unet_segments_held_out_phantom_volumes(held_out):
    test, fold = held_out
    net = bundled_model("unet")
    assert isinstance(net, UNet) and len(net.named_kernel_layers()) == 18
    result = evaluate(net, test, device="cpu")
    assert set(result["per_volume"]) == set(fold.test)
    assert result["volume_dice"] >= 0.90
    # the number in the checkpoint (and assets/README.md) is what it really gets
    assert result["volume_dice"] == pytest.approx(load_checkpoint(bundled_path("unet"))["test_volume_dice"], abs=2e-3)


def test_bundled_lsn_dice_is_the_reported_one(held_out):
    test, _ = held_out
    net = bundled_model("lsn")
    assert isinstance(net, LevelSetNetwork)
    result = evaluate(net, test, device="cpu")
    assert result["volume_dice"] == pytest.approx(load_checkpoint(bundled_path("lsn"))["test_volume_dice"], abs=2e-3)
    # what a user sees (docs/lsn.md): the paper's LSN labels every pixel liver, so its Dice is an all-inside guess's
    with torch.no_grad():
        logits = net(test.images[:32])
    assert torch.isfinite(logits).all() and float((logits > 0).float().mean()) > 0.99
    assert result["volume_dice"] < 0.2


def test_bundled_lsn_g_is_the_authors_network_and_scores_as_reported(held_out):
    test, _ = held_out
    net = bundled_model("lsn-g")
    assert isinstance(net, LearnedEdgeLSN) and sum(p.numel() for p in net.parameters()) == 46_596
    result = evaluate(net, test, device="cpu")
    assert result["volume_dice"] == pytest.approx(load_checkpoint(bundled_path("lsn-g"))["test_volume_dice"], abs=2e-3)


def test_bundled_speed_map_lsn_segments_held_out_phantom_volumes(held_out):
    test, fold = held_out
    net = bundled_model("speed-map-lsn")
    assert isinstance(net, SpeedMapLSN) and net.preprocessing.size == 128
    result = evaluate(net, test, device="cpu")
    assert set(result["per_volume"]) == set(fold.test)
    assert result["volume_dice"] >= 0.85
    assert result["volume_dice"] == pytest.approx(
        load_checkpoint(bundled_path("speed-map-lsn"))["test_volume_dice"], abs=2e-3)
