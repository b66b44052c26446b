from __future__ import annotations

import csv
import functools
import json
import math

import pytest
import torch

from lsn_explorer.augment import Augmentation
from lsn_explorer.data import PreprocessSettings
from lsn_explorer.errors import CheckpointError, InputError
from lsn_explorer.models import UNet, load_checkpoint, load_model, save_checkpoint
from lsn_explorer.train import HISTORY_FIELDS, evaluate, fit, predict, resolve_device
from lsn_explorer.train.options import FitHooks, FitOptions


def _toy_data(n=12, size=16, seed=0):
    """Bright squares on noise; the mask is the square."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, size, size, generator=g) * 0.4 - 1
    masks = torch.zeros(n, 1, size, size)
    for i in range(n):
        r, c = torch.randint(0, size // 2, (2,), generator=g).tolist()
        masks[i, 0, r : r + size // 2, c : c + size // 2] = 1
    images = images + masks
    dataids = torch.arange(n) // 4
    return images, masks, dataids


def _tiny_unet():
    return UNet(depth=2, features=4, dropout=0.1)


def _read_history(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _fit(out, **kw):
    torch.manual_seed(0)
    images, masks, ids = _toy_data()
    valid = (images[:4], masks[:4], ids[:4])
    opts = dict(out=out, epochs=3, batch_size=4, lr=1e-2, seed=3, device="cpu", progress=False)
    opts.update(kw)
    return fit(_tiny_unet(), (images, masks), valid, **opts)


def test_fit_writes_a_run_folder(tmp_path):
    run = _fit(tmp_path / "run")
    assert {p.name for p in run.iterdir()} == {"config.json", "history.csv", "best.pt", "last.pt"}
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["name"] == "unet" and config["optimizer"]["eps"] == 1e-7 and config["seed"] == 3
    rows = _read_history(run / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert set(HISTORY_FIELDS) - {"lr"} <= set(rows[0])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    model = load_model(run / "last.pt")
    assert isinstance(model, UNet) and not model.training


def test_fit_is_reproducible_and_seeded(tmp_path):
    a = _read_history(_fit(tmp_path / "a") / "history.csv")
    b = _read_history(_fit(tmp_path / "b") / "history.csv")
    c = _read_history(_fit(tmp_path / "c", seed=4) / "history.csv")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert [r["train_loss"] for r in a] != [r["train_loss"] for r in c]


def test_resume_reproduces_the_uninterrupted_history(tmp_path):
    full = _read_history(_fit(tmp_path / "full") / "history.csv")
    seen = []
    _fit(tmp_path / "part", hooks=FitHooks(stop_after=1, on_epoch_end=seen.append))
    assert len(_read_history(tmp_path / "part" / "history.csv")) == 1
    assert [row["epoch"] for row in seen] == [1]
    resumed = _read_history(_fit(tmp_path / "part", resume=True, hooks=FitHooks(on_epoch_end=seen.append))
                            / "history.csv")
    assert len(resumed) == 3
    assert [row["epoch"] for row in seen] == [1, 2, 3]
    assert [row["train_loss"] for row in seen] == [row["train_loss"] for row in resumed]
    for r_full, r_res in zip(full, resumed):
        for key in ("train_loss", "train_dice", "valid_loss", "valid_dice", "valid_volume_dice"):
            assert r_res[key] == pytest.approx(r_full[key], abs=1e-6), key
    w_full = load_model(tmp_path / "full" / "last.pt").state_dict()
    w_res = load_model(tmp_path / "part" / "last.pt").state_dict()
    for k in w_full:
        torch.testing.assert_close(w_res[k], w_full[k], atol=1e-6, rtol=0)


def test_fit_refuses_to_overwrite_and_to_resume_nothing(tmp_path):
    _fit(tmp_path / "run", epochs=1)
    with pytest.raises(InputError, match="resume"):
        _fit(tmp_path / "run", epochs=1)
    with pytest.raises(InputError, match="does not exist"):
        _fit(tmp_path / "empty", resume=True)


class _InterruptedUNet(UNet):
    calls = 0

    def forward(self, x):
        type(self).calls += 1
        if type(self).calls == 5:  # during epoch 2 (3 steps per epoch, plus validation)
            raise KeyboardInterrupt
        return super().forward(x)


def test_ctrl_c_keeps_the_last_checkpoint_and_says_how_to_resume(tmp_path, capsys):
    images, masks, _ = _toy_data(n=12)
    torch.manual_seed(0)
    net = _InterruptedUNet(depth=2, features=4)
    with pytest.raises(KeyboardInterrupt):
        fit(net, (images, masks), (images[:4], masks[:4]), out=tmp_path / "run", epochs=3, batch_size=4,
            device="cpu", progress=False, hooks=FitHooks(resume_hint="lsn-explorer train unet --out RUN --resume"))
    err = capsys.readouterr().err
    assert "Resume with: lsn-explorer train unet --out RUN --resume" in err
    assert "holds epoch 1 of 3" in err
    assert len(_read_history(tmp_path / "run" / "history.csv")) == 1
    resumed = fit(UNet(depth=2, features=4), (images, masks), (images[:4], masks[:4]), out=tmp_path / "run",
                  epochs=3, batch_size=4, device="cpu", progress=False, resume=True)
    assert len(_read_history(resumed / "history.csv")) == 3


def test_fit_rejects_bad_arguments(tmp_path):
    images, masks, _ = _toy_data(n=4)
    with pytest.raises(InputError, match="epochs"):
        fit(_tiny_unet(), (images, masks), out=tmp_path, epochs=0)
    with pytest.raises(InputError, match=r"\(N, 1, H, W\)"):
        fit(_tiny_unet(), (images[:, 0], masks[:, 0]), out=tmp_path, epochs=1)
    with pytest.raises(InputError, match="device"):
        resolve_device("tpu:9")


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("epochs", 2.5), ("epochs", True), ("batch_size", 0), ("batch_size", "16"),
    ("lr", 0), ("lr", -1e-3), ("lr", math.nan), ("lr", "fast"), ("eps", -1e-7), ("eps", math.inf),
    ("clip_grad_norm", 0.0), ("seed", -1), ("seed", 2**32), ("amp", "yes"), ("channels_last", 1),
    ("augment", {"rotation": 15}),
])
def test_fit_options_name_the_bad_field(field, value):
    with pytest.raises(InputError, match=rf"FitOptions: {field}="):
        FitOptions(**{"epochs": 3, field: value})


@pytest.mark.parametrize("field, value", [("on_epoch_end", 3), ("stop_after", 0), ("stop_after", 1.5),
                                          ("resume_hint", ["lsn-explorer"])])
def test_fit_hooks_name_the_bad_field(field, value):
    with pytest.raises(InputError, match=rf"FitHooks: {field}="):
        FitHooks(**{field: value})


def test_fit_names_a_misplaced_or_missing_argument(tmp_path):
    images, masks, _ = _toy_data(n=4)
    with pytest.raises(InputError, match=r"unexpected keyword argument\(s\) \['lrate'\].*'lr'"):
        fit(_tiny_unet(), (images, masks), out=tmp_path, epochs=1, lrate=1e-2)
    with pytest.raises(InputError, match=r"hooks=FitHooks\(stop_after=\.\.\.\)"):
        fit(_tiny_unet(), (images, masks), out=tmp_path, epochs=1, stop_after=1)
    with pytest.raises(InputError, match="needs epochs"):
        fit(_tiny_unet(), (images, masks), out=tmp_path, lr=1e-2)
    with pytest.raises(InputError, match="options="):
        fit(_tiny_unet(), (images, masks), out=tmp_path, options={"epochs": 1})
    with pytest.raises(InputError, match="FitOptions: lr="):
        fit(_tiny_unet(), (images, masks), out=tmp_path, options=FitOptions(epochs=1), lr=-1)
    with pytest.raises(InputError, match="hooks="):
        fit(_tiny_unet(), (images, masks), out=tmp_path, epochs=1, hooks={"stop_after": 1})
    with pytest.raises(InputError, match="optimizer="):
        fit(_tiny_unet(), (images, masks), out=tmp_path, epochs=1, optimizer="sgd")
    with pytest.raises(InputError, match="returned list"):
        fit(_tiny_unet(), (images, masks), out=tmp_path / "list", epochs=1, optimizer=list)


def test_options_and_keywords_are_one_recipe(tmp_path):
    images, masks, ids = _toy_data()
    recipe = FitOptions(epochs=2, batch_size=4, lr=1.0, seed=3)
    a = _read_history(_fit(tmp_path / "keywords", epochs=2) / "history.csv")
    torch.manual_seed(0)
    run = fit(_tiny_unet(), (images, masks), (images[:4], masks[:4], ids[:4]), out=tmp_path / "options",
              options=recipe, lr=1e-2, device="cpu", progress=False)
    b = _read_history(run / "history.csv")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert json.loads((tmp_path / "options" / "config.json").read_text())["optimizer"]["lr"] == 1e-2
    assert recipe.lr == 1.0  # the keywords replace fields of a copy


def test_the_default_optimizer_is_adam_with_the_recipes_lr_and_eps(tmp_path):
    default = _fit(tmp_path / "default", epochs=2)
    adam = _fit(tmp_path / "adam", epochs=2, optimizer=functools.partial(torch.optim.Adam, lr=1e-2, eps=1e-7))
    w_default, w_adam = load_model(default / "last.pt").state_dict(), load_model(adam / "last.pt").state_dict()
    assert all(torch.equal(w_default[k], w_adam[k]) for k in w_default)


def test_a_custom_optimizer_factory_is_used(tmp_path):
    made = []

    def sgd(parameters):
        made.append(torch.optim.SGD(parameters, lr=0.05, momentum=0.9))
        return made[-1]

    run = _fit(tmp_path / "sgd", epochs=2, optimizer=sgd)
    assert len(made) == 1 and made[0].state  # built once, and it took the steps
    config = json.loads((run / "config.json").read_text())
    assert config["optimizer"]["name"] == "SGD" and config["optimizer"]["momentum"] == 0.9
    assert [r["lr"] for r in _read_history(run / "history.csv")] == [0.05, 0.05]
    assert load_checkpoint(run / "last.pt")["optimizer"]["param_groups"][0]["momentum"] == 0.9
    adam = load_model(_fit(tmp_path / "adam", epochs=2) / "last.pt").state_dict()
    sgd_weights = load_model(run / "last.pt").state_dict()
    assert not all(torch.equal(adam[k], sgd_weights[k]) for k in adam)


def test_fit_gives_the_model_its_preprocessing_once_it_trains(tmp_path):
    images, masks, _ = _toy_data(n=8)
    torch.manual_seed(0)
    net = _tiny_unet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(InputError, match="does not exist"):
        fit(net, (images, masks), out=tmp_path / "none", epochs=1, device="cpu", progress=False, resume=True)
    with pytest.raises(InputError, match=r"preprocessing.size=32"):
        fit(net, (images, masks), out=tmp_path / "size", epochs=1, device="cpu", progress=False,
            preprocessing=PreprocessSettings(size=32))
    assert net.preprocessing is None and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    run = fit(net, (images, masks), out=tmp_path / "run", epochs=1, batch_size=4, device="cpu", progress=False)
    assert net.preprocessing == PreprocessSettings(size=16) == load_model(run / "last.pt").preprocessing
    larger = torch.nn.functional.interpolate(images[:2], size=(40, 40), mode="bilinear")
    torch.testing.assert_close(predict(net, larger, device="cpu"),
                               predict(load_model(run / "last.pt"), larger, device="cpu"), atol=0, rtol=0)


def test_a_model_keeps_the_preprocessing_it_carries(tmp_path):
    images, masks, _ = _toy_data(n=8)
    net = _tiny_unet()
    net.preprocessing = PreprocessSettings(window=(-200.0, 300.0), size=16)
    run = fit(net, (images, masks), out=tmp_path / "run", epochs=1, batch_size=4, device="cpu", progress=False)
    assert json.loads((run / "config.json").read_text())["preprocessing"]["window"] == [-200.0, 300.0]
    assert load_model(run / "best.pt").preprocessing == net.preprocessing
    net.preprocessing = PreprocessSettings(size=32)
    with pytest.raises(InputError, match=r"model.preprocessing.size=32 .* slices are \(16, 16\)"):
        fit(net, (images, masks), out=tmp_path / "other", epochs=1, device="cpu", progress=False)
    assert net.preprocessing == PreprocessSettings(size=32)


def test_augmentation_needs_one_channel_images(tmp_path):
    images, masks, _ = _toy_data(n=4)
    with pytest.raises(InputError, match="one-channel"):
        fit(_tiny_unet(), (images.repeat(1, 2, 1, 1), masks), out=tmp_path, epochs=1, augment=Augmentation())


def test_evaluate_reports_slice_and_volume_dice():
    images, masks, ids = _toy_data(n=8)
    torch.manual_seed(0)
    result = evaluate(_tiny_unet(), (images, masks, ids), device="cpu")
    assert set(result) == {"loss", "dice", "volume_dice", "per_volume"}
    assert list(result["per_volume"]) == [0, 1]
    assert 0 <= result["dice"] <= 1 and 0 <= result["loss"] <= 1


def test_load_model_names_what_is_wrong(tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt is not a PyTorch checkpoint"):
        load_model(bad)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "lsn_explorer.checkpoint/1", "obj": _InterruptedUNet}, pickled)
    with pytest.raises(CheckpointError, match="pickled.pt holds pickled Python objects"):
        load_model(pickled)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(CheckpointError, match=r"plain.pt is not an lsn_explorer checkpoint: missing keys \['format', 'model', 'state_dict'\]"):
        load_model(plain)
    good = save_checkpoint(tmp_path / "good.pt", UNet(depth=2, features=4))
    payload = torch.load(good, weights_only=True)
    payload["state_dict"]["head.weight"] = torch.zeros(1, 3, 1, 1)
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape.pt has tensors of the wrong shape: head.weight"):
        load_model(tmp_path / "shape.pt")
    del payload["state_dict"]["head.bias"]
    torch.save(payload, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing.pt does not fit UNet: missing keys \['head.bias'\]"):
        load_model(tmp_path / "missing.pt")


@pytest.fixture(scope="module")
def phantom_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("phantom-cache")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet", "lsn"])
def test_one_quick_epoch_on_the_phantom(name, phantom_cache, tmp_path, monkeypatch):
    from lsn_explorer.train import train_command

    monkeypatch.setenv("LSN_EXPLORER_DATA", str(phantom_cache))
    run = train_command(name, data="phantom", fold=0, preset="quick", out=tmp_path / name, epochs=1, device="cpu")
    rows = _read_history(run / "history.csv")
    assert len(rows) == 1
    assert 0 < rows[0]["train_loss"] < 1 and 0 < rows[0]["valid_loss"] < 1
    assert 0 <= rows[0]["valid_volume_dice"] <= 1
    config = json.loads((run / "config.json").read_text())
    assert config["fold"]["test"] and not set(config["fold"]["test"]) & set(config["fold"]["train"])
    assert config["preset"]["name"] == "quick" and config["command"]["model"] == name
    assert type(load_model(run / "best.pt")).__name__ == {"unet": "UNet", "lsn": "LevelSetNetwork"}[name]


def test_train_command_names_bad_model_and_missing_data(tmp_path):
    from lsn_explorer.errors import MissingDataError
    from lsn_explorer.train import train_command

    with pytest.raises(InputError, match="model='resnet'"):
        train_command("resnet", out=tmp_path / "run")
    with pytest.raises(MissingDataError, match="no-such-folder"):
        train_command("unet", data=str(tmp_path / "no-such-folder"), out=tmp_path / "run")


def test_options_from_a_recipe_take_its_epochs_rate_and_clipping_unless_told():
    from lsn_explorer.models.registry import Recipe
    from lsn_explorer.train.options import FitOptions

    recipe = Recipe(epochs=12, lr=2e-3, clip_grad_norm=1.0)
    assert FitOptions.from_recipe(recipe, seed=3) == FitOptions(epochs=12, lr=2e-3, clip_grad_norm=1.0, seed=3)
    assert FitOptions.from_recipe(recipe, epochs=2, batch_size=8).epochs == 2
