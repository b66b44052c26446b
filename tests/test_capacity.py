"""The capacity study in miniature: two sizes, two seeds, one fold, one epoch, a second data set as the "real CT"."""

from __future__ import annotations

import csv

import pytest

from lsn_explorer.data.phantom import write_phantom_dataset
from lsn_explorer.experiments import run_capacity
from lsn_explorer.experiments.capacity import format_capacity
from lsn_explorer.presets import get_preset

TINY = get_preset("quick").replace(name="tiny", image_size=32, batch_size=8)
SIZES = {"small": {"features": 2, "depth": 2}, "large": {"features": 4, "depth": 2}}
OPTIONS = dict(sizes=SIZES, seeds=(0, 1), folds=(0,), preset=TINY, png=False, progress=False,
               epochs={"unet": 1, "speed-map": 1, "no-pde": 1})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    data, other = tmp_path_factory.mktemp("phantom"), tmp_path_factory.mktemp("other")
    write_phantom_dataset(data, volumes=5, seed=0, size=64, num_slices=8)
    write_phantom_dataset(other, volumes=1, seed=7, size=64, num_slices=8)
    out = tmp_path_factory.mktemp("capacity")
    rows = run_capacity(str(data), out=out, real_ct=str(other), **OPTIONS)
    return data, other, out, rows


def test_the_summary_has_every_method_size_and_data_set(study):
    *_, out, rows = study
    with open(out / "summary.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0]) == ["method", "params", "dataset", "dice_mean", "dice_sd", "seeds", "folds"]
    assert len(written) == 3 * 2 * 2
    assert {(r["method"], r["dataset"]) for r in written} == {
        (m, d) for m in ("speed-map-lsn", "no-pde", "unet") for d in ("phantom", "real-ct")}
    for r in written:
        assert 0.0 <= float(r["dice_mean"]) <= 1.0 and float(r["dice_sd"]) >= 0.0
        assert (r["seeds"], r["folds"]) == ("2", "1")
    for method in ("speed-map-lsn", "no-pde", "unet"):
        small, large = sorted({int(r["params"]) for r in written if r["method"] == method})
        assert small < large, "the sizes build networks of different capacity"
    assert (out / "capacity.html").stat().st_size > 1000
    assert "| small | real-ct |" in (out / "summary.md").read_text()


def test_the_study_trains_networks_only_on_the_same_folds(study):
    *_, out, _ = study
    for size in SIZES:
        for seed in (0, 1):
            fold = out / size / f"seed-{seed}" / "fold-0"
            assert not (fold / "levelset.json").exists(), "the level set is not part of the study"
            assert sorted(p.name for p in fold.iterdir() if p.is_dir()) == ["no-pde", "speed-map", "unet"]
            header = (out / size / f"seed-{seed}" / "table2.csv").read_text().splitlines()[0]
            assert header == "fold,speedmap,nopde,unet"


def test_a_rerun_reads_every_finished_training_back(study):
    data, other, out, rows = study
    checkpoint = out / "small" / "seed-1" / "fold-0" / "unet" / "best.pt"
    stamp = checkpoint.stat().st_mtime_ns
    assert run_capacity(str(data), out=out, real_ct=str(other), **OPTIONS) == rows
    assert checkpoint.stat().st_mtime_ns == stamp


def test_format_capacity_gives_mean_and_sd_per_method():
    rows = [{"method": m, "size": "5k", "dataset": "phantom", "params": 5000, "dice_mean": 0.8, "dice_sd": 0.01,
             "seeds": 3, "folds": 3} for m in ("speed-map-lsn", "unet")]
    assert format_capacity(rows).splitlines()[2] == "| 5k | phantom | 0.800 ± 0.010 | 0.800 ± 0.010 |"


def test_read_capacity_gives_back_the_rows_the_study_wrote(study, tmp_path):
    from lsn_explorer.errors import InputError
    from lsn_explorer.experiments import read_capacity

    *_, out, rows = study
    read = read_capacity(out)
    assert [{**r, "size": None} for r in read] == [{**r, "size": None, "dice_mean": round(r["dice_mean"], 4),
                                                   "dice_sd": round(r["dice_sd"], 4)} for r in rows]
    by_params = {(r["method"], r["params"]): r["size"] for r in read}
    for method in ("speed-map-lsn", "no-pde", "unet"):
        small, large = sorted(p for m, p in by_params if m == method)
        assert (by_params[method, small], by_params[method, large]) == ("size 1", "size 2")
    (tmp_path / "summary.csv").write_text("method,dice\nunet,0.9\n")
    with pytest.raises(InputError, match="expected the columns method, params"):
        read_capacity(tmp_path)
    with pytest.raises(InputError, match="no capacity summary"):
        read_capacity(tmp_path / "nowhere")


def test_a_size_can_train_for_its_own_number_of_epochs(study, tmp_path):
    data, *_ = study
    options = {**OPTIONS, "epochs": None, "seeds": (0,)}
    run_capacity(str(data), out=tmp_path, real_ct=None, size_epochs={"small": 2, "large": 1}, **options)
    for size, epochs in (("small", 2), ("large", 1)):
        for method in ("unet", "speed-map", "no-pde"):
            history = (tmp_path / size / "seed-0" / "fold-0" / method / "history.csv").read_text().splitlines()
            assert len(history) == 1 + epochs, (size, method)


def test_a_folder_of_other_networks_is_refused_not_mixed_in(study):
    from lsn_explorer.errors import InputError

    data, other, out, _ = study
    changed = {"small": {**SIZES["small"], "batch_norm": True}, "large": SIZES["large"]}
    with pytest.raises(InputError, match=r"evaluation\.json holds a .* built with .*'depth': 2.*this run builds it with"):
        run_capacity(str(data), out=out, real_ct=str(other), **{**OPTIONS, "sizes": changed})
