"""One device for the model and its inputs, whatever device the caller's model lives on.

A CPU machine has a second device to stand in for a GPU: PyTorch's "meta" device, on
which tensors have shapes but no values. A model on the CPU fed a meta tensor fails
exactly as a CPU model fed a CUDA tensor does; the spy model below says so by name.
"""

import json

import pytest
import torch
from torch import nn

from lsn_explorer.devices import model_device, placed, resolve_device
from lsn_explorer.errors import InputError
from lsn_explorer.experiments import run_table2
from lsn_explorer.models import Recipe, register_model
from lsn_explorer.models import registry
from lsn_explorer.train import evaluate, predict

META = torch.device("meta")


class DeviceSpy(nn.Module):
    """A one-convolution model that fails when its input is not on its own device."""

    model_name = "device-spy"
    amp_ok = False
    recipes = {"quick": Recipe(epochs=1, lr=1e-2), "paper": Recipe(epochs=1, lr=1e-2)}
    preprocessing = None

    def __init__(self):
        super().__init__()
        self.config = {}
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        if x.device != self.conv.weight.device:
            raise AssertionError(f"input on {x.device}, model on {self.conv.weight.device}")
        if x.device == META:  # the stand-in device holds no values: answer on the CPU
            return torch.full((x.shape[0], 1, *x.shape[-2:]), -1.0)
        return self.conv(x[:, :1])

    def named_kernel_layers(self):
        return [("conv", "encoder", self.conv.weight)]


@pytest.fixture
def spy_registered():
    register_model(DeviceSpy)
    yield
    registry._REGISTRY.pop(DeviceSpy.model_name)


def test_predict_runs_the_model_where_the_inputs_go_and_leaves_the_callers_model_alone():
    model = DeviceSpy().train()
    logits = predict(model, torch.zeros(3, 1, 8, 8), device=META)
    assert logits.shape == (3, 1, 8, 8) and logits.device.type == "cpu"
    assert model_device(model).type == "cpu" and model.training


def test_evaluate_does_not_move_the_callers_model():
    model = DeviceSpy()
    masks = torch.zeros(2, 1, 8, 8)
    result = evaluate(model, (torch.zeros(2, 1, 8, 8), masks, torch.tensor([0, 1])), device=META)
    assert result["dice"] == 1.0  # all outside, as the masks
    assert model_device(model).type == "cpu"


def test_table2_loads_and_predicts_on_the_device_it_was_given(spy_registered, tmp_path):
    from lsn_explorer.data.phantom import write_phantom_dataset
    from lsn_explorer.presets import get_preset

    data = tmp_path / "phantom"
    write_phantom_dataset(data, volumes=4, seed=0, size=64, num_slices=8)
    options = dict(preset=get_preset("quick").replace(name="tiny", image_size=32, batch_size=8), n_folds=2,
                   folds=[0], methods=["device-spy"], levelset_trials=1, progress=False)
    out = tmp_path / "table2"
    run_table2(str(data), out=out, device="cpu", **options)  # trains on the CPU
    (out / "fold-0" / "device-spy" / "evaluation.json").unlink()
    # scoring again on another device: the checkpoint must be loaded where the inputs go
    run_table2(str(data), out=out, device=META, **options)
    scores = json.loads((out / "fold-0" / "device-spy" / "evaluation.json").read_text())["scores"]
    assert {row["split"] for row in scores} == {"test", "valid"}


def test_placed_copies_only_when_needed():
    model = DeviceSpy()
    assert placed(model, torch.device("cpu")) is model
    moved = placed(model, META)
    assert moved is not model and model_device(moved) == META and model_device(model).type == "cpu"


def test_resolve_device_is_one_rule():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(InputError, match="device='gpu0' is not a device"):
        resolve_device("gpu0")
