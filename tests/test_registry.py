"""The model registry: a model added from outside trains, saves, reloads and shows its kernels like the built-in ones."""

import pytest
import torch
from torch import nn

from lsn_explorer import collect_kernels
from lsn_explorer.errors import CheckpointError, InputError
from lsn_explorer.models import (
    Recipe,
    build_model,
    load_checkpoint,
    load_model,
    model_names,
    recipe_for,
    register_model,
)
from lsn_explorer.models import registry
from lsn_explorer.presets import get_preset
from lsn_explorer.train import fit


class TwoLayerNet(nn.Module):
    """A toy segmenter: two 3x3 convolutions."""

    model_name = "two-layer-test"
    amp_ok = True
    recipes = {"quick": Recipe(epochs=2, lr=1e-2, config={"width": 3}), "paper": Recipe(epochs=5, lr=1e-3)}
    preprocessing = None

    def __init__(self, width: int = 4):
        super().__init__()
        self.config = {"width": int(width)}
        self.first = nn.Conv2d(1, width, 3, padding=1)
        self.second = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))

    def named_kernel_layers(self):
        return [("first", "encoder", self.first.weight), ("second", "decoder", self.second.weight)]


@pytest.fixture
def toy_registered():
    register_model(TwoLayerNet)
    yield TwoLayerNet
    registry._REGISTRY.pop(TwoLayerNet.model_name)


def test_a_registered_model_trains_saves_reloads_and_shows_its_kernels(toy_registered, tmp_path):
    assert "two-layer-test" in model_names()
    recipe = recipe_for("two-layer-test", get_preset("quick"))
    net = build_model("two-layer-test", recipe.config)
    assert net.config == {"width": 3}
    g = torch.Generator().manual_seed(0)
    images = torch.randn(8, 1, 16, 16, generator=g)
    masks = (images > 0).float()
    run = fit(net, (images, masks), (images[:4], masks[:4]), out=tmp_path / "run", epochs=recipe.epochs,
              batch_size=4, lr=recipe.lr, device="cpu", progress=False)
    payload = load_checkpoint(run / "best.pt")
    assert payload["model"] == {"name": "two-layer-test", "config": {"width": 3}}
    assert payload["preprocessing"]["size"] == 16
    back = load_model(run / "best.pt")
    assert isinstance(back, TwoLayerNet) and back.preprocessing.size == 16
    torch.testing.assert_close(back(images), load_model(run / "last.pt")(images))
    kernels = collect_kernels(back)
    assert [layer.name for layer in kernels.layers] == ["first", "second"]
    assert kernels.kernels.shape == (3 + 3, 9)  # 3 kernels in each layer, flattened


def test_an_unregistered_name_or_class_is_refused_with_the_known_names(tmp_path):
    with pytest.raises(InputError, match=r"model='nope' is not one of \['unet', 'lsn', 'lsn-g'"):
        build_model("nope")

    class Plain(nn.Module):
        pass

    with pytest.raises(InputError, match="Plain lacks"):
        register_model(Plain)


def test_a_checkpoint_of_a_model_no_longer_registered_names_the_model(toy_registered, tmp_path):
    from lsn_explorer.models import save_checkpoint

    path = save_checkpoint(tmp_path / "toy.pt", TwoLayerNet())
    registry._REGISTRY.pop(TwoLayerNet.model_name)
    try:
        with pytest.raises(CheckpointError, match="'two-layer-test'"):
            load_model(path)
    finally:
        register_model(TwoLayerNet)


def test_every_built_in_model_follows_the_protocol():
    for name in ("unet", "lsn", "lsn-g"):
        net = build_model(name, recipe_for(name, get_preset("quick")).config)
        assert net.model_name == name
        assert build_model(name, net.config).config == net.config  # the config rebuilds it
        layers = net.named_kernel_layers()
        assert layers and all(w.shape[-2:] == (3, 3) for _, _, w in layers)
        logits = net(torch.zeros(1, 1, 32, 32))
        assert logits.shape == (1, 1, 32, 32)
