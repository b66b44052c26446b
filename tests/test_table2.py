"""Table 2 in miniature: 2 folds, a tiny preset, end to end, killed and resumed."""

from __future__ import annotations

import json

import pytest

from lsn_explorer.data.phantom import write_phantom_dataset
from lsn_explorer.experiments import DEFAULT_METHODS, METHODS, PAPER_TABLE2, TABLE2_COLUMNS, format_table, run_table2
from lsn_explorer.presets import get_preset

TINY = get_preset("quick").replace(name="tiny", image_size=32, batch_size=8)
#: one epoch of every network, two solver layers for the level-set networks
TINY_OPTIONS = dict(
    preset=TINY, n_folds=2, levelset_trials=2, progress=False,
    epochs={m.key: 1 for m in METHODS},
    configs={"lsn-uniform": {"num_steps": 2}, "lsn-g": {"num_steps": 2},
             "speed-map": {"coarse_steps": 6, "fine_steps": 2}},
)
COLUMNS = [*TABLE2_COLUMNS, "lsng_test", "lsng_validation", "speedmap", "nopde"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    data = tmp_path_factory.mktemp("phantom")
    write_phantom_dataset(data, volumes=4, seed=0, size=64, num_slices=10)
    out = tmp_path_factory.mktemp("table2")
    result = run_table2(str(data), out=out, **TINY_OPTIONS)
    return data, out, result


def test_table_has_the_papers_layout(finished):
    _, out, result = finished
    assert list(result.table)[:3] == ["0", "1", "Avg"] and list(result.table)[3].startswith("Avg\\{")
    for row in result.table.values():
        assert list(row) == COLUMNS and all(0.0 <= v <= 1.0 for v in row.values())
    markdown = (out / "table2.md").read_text()
    assert ("| Fold | Level set | UNet | LSN test | LSN validation | LSN-G test | LSN-G validation | Speed-map LSN "
            "| Speed maps, no PDE |") in markdown
    assert "| Parameters | 0 | 131,938 | 58 | 58 | 46,596 | 46,596 | 116,014 | 116,014 |" in markdown
    assert f"({PAPER_TABLE2['Avg']['unet']:.3f})" in markdown, "the paper's value stands beside ours"
    assert (out / "table2.csv").read_text().count("\n") == 1 + 4
    assert (out / "table2.html").stat().st_size > 1000


def test_every_volume_is_scored_once_per_method_and_split(finished):
    _, out, result = finished
    test_rows = [r for r in result.per_volume if r["split"] == "test"]
    methods = {r["method"] for r in test_rows}
    assert methods == {"levelset", *DEFAULT_METHODS}
    for method in methods:
        assert sorted(r["dataid"] for r in test_rows if r["method"] == method) == [0, 1, 2, 3]


def test_no_test_volume_was_seen_in_training(finished):
    _, out, _ = finished
    for fold in (0, 1):
        split = json.loads((out / f"fold-{fold}" / "fold.json").read_text())
        for run in DEFAULT_METHODS:
            config = json.loads((out / f"fold-{fold}" / run / "config.json").read_text())
            assert not set(config["trained_on"]) & set(split["test"])
            assert not set(config["validated_on"]) & set(split["test"])
            assert config["trained_on"] == split["train"]


def test_a_killed_run_resumes_without_redoing_finished_parts(finished):
    data, out, first = finished
    kept = out / "fold-0" / "levelset.json"
    stamp = kept.stat().st_mtime_ns
    (out / "fold-1" / "unet" / "evaluation.json").unlink()  # killed after training, before evaluation
    (out / "table2.md").unlink()
    again = run_table2(str(data), out=out, **TINY_OPTIONS)
    assert kept.stat().st_mtime_ns == stamp, "a finished part was recomputed"
    assert (out / "fold-1" / "unet" / "history.csv").read_text().count("\n") == 1 + 1
    assert again.table == first.table
    assert (out / "table2.md").is_file()


def test_format_table_puts_ours_first():
    table = {"0": dict.fromkeys(TABLE2_COLUMNS, 0.5)}
    assert "| 0 | 0.500 (0.736) |" in format_table(table)
