"""Folds by volume (the authors' protocol) and their leaky 90/10 slice split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import KFold

from lsn_explorer.data import fold_table, leaky_slice_split, print_fold_table, volume_folds
from lsn_explorer.errors import InputError

AUTHORS_TEST_FOLDS = [range(0, 27), range(27, 53), range(53, 79), range(79, 105), range(105, 131)]


def test_131_volumes_give_the_authors_folds():
    folds = volume_folds(range(131))
    assert [f.test for f in folds] == [tuple(r) for r in AUTHORS_TEST_FOLDS]
    # the authors' fold 1: train 0-26 and 53-109 (84), valid 110-130 (21)
    assert folds[1].train == tuple(range(0, 27)) + tuple(range(53, 110))
    assert folds[1].valid == tuple(range(110, 131))
    assert [(len(f.train), len(f.valid)) for f in folds] == [(83, 21), (84, 21), (84, 21), (84, 21), (84, 21)]


def test_fold_table_for_131_volumes(capsys):
    folds = volume_folds(range(131))
    table = fold_table(folds)
    lines = table.splitlines()
    assert lines[0].split() == ["fold", "|", "test", "|", "train", "|", "valid"]
    expected_test = ["0–26 (27)", "27–52 (26)", "53–78 (26)", "79–104 (26)", "105–130 (26)"]
    for line, test in zip(lines[2:], expected_test):
        assert line.split("|")[1].strip() == test
    assert lines[3].split("|")[2].strip() == "0–26, 53–109 (84)"
    print_fold_table(folds)
    assert capsys.readouterr().out.strip() == table.strip()


@pytest.mark.parametrize("n, k", [(131, 5), (10, 5), (7, 3), (28, 5), (5, 5), (13, 2)])
def test_no_volume_in_two_roles_and_every_volume_tested_once(n, k):
    ids = list(range(100, 100 + n))
    folds = volume_folds(ids, n_folds=k)
    for fold in folds:
        train, valid, test = set(fold.train), set(fold.valid), set(fold.test)
        assert not (train & valid) and not (train & test) and not (valid & test)
        assert train | valid | test == set(ids)
    tested = [i for f in folds for i in f.test]
    assert sorted(tested) == ids


@pytest.mark.parametrize("n, k", [(131, 5), (10, 3), (28, 5), (11, 4)])
def test_test_chunks_equal_unshuffled_kfold(n, k):
    ids = list(range(n))
    ours = [f.test for f in volume_folds(ids, n_folds=k)]
    sklearn = [tuple(test.tolist()) for _, test in KFold(n_splits=k).split(ids)]
    assert ours == sklearn


def test_folds_are_deterministic_and_follow_id_order():
    shuffled = [9, 3, 0, 7, 1, 8, 2, 6, 4, 5]
    assert volume_folds(shuffled) == volume_folds(range(10)) == volume_folds(range(10))
    code = "from lsn_explorer.data import volume_folds; print(volume_folds(range(23), n_folds=4))"
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert other_process == str(volume_folds(range(23), n_folds=4)) + "\n"


def test_non_contiguous_ids_are_split_by_position():
    ids = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233]
    folds = volume_folds(ids, n_folds=5, valid_fraction=0.25)
    assert folds[0].test == (3, 5)
    assert folds[0].train == (8, 13, 21, 34, 55, 89) and folds[0].valid == (144, 233)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataids": range(4), "n_folds": 5}, r"n_folds=5 with 4 volumes"),
        ({"dataids": range(10), "n_folds": 1}, r"n_folds=1"),
        ({"dataids": range(10), "n_folds": 2.5}, r"n_folds=2\.5"),
        ({"dataids": range(10), "valid_fraction": 1.0}, r"valid_fraction=1\.0"),
        ({"dataids": [1, 2, 2, 3, 4, 5], "n_folds": 2}, r"dataids repeat \[2\]"),
    ],
)
def test_bad_fold_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        volume_folds(**kwargs)


def test_leaky_slice_split_is_the_authors_and_says_it_leaks():
    counts = {0: 30, 1: 25, 2: 40}
    split = leaky_slice_split(counts)
    n = sum(counts.values())
    assert len(split.train) == int(0.9 * n) and len(split.train) + len(split.valid) == n
    assert sorted(np.concatenate([split.train, split.valid]).tolist()) == list(range(n))
    # the authors: np.random.seed(0); np.random.shuffle(indices); first 90 % train
    np.random.seed(0)
    order = np.arange(n)
    np.random.shuffle(order)
    assert set(split.train.tolist()) == set(order[: int(0.9 * n)].tolist())
    assert split.leaks_volumes and split.shared_volumes == (0, 1, 2)
    assert "LEAKY" in split.note and "leak" in leaky_slice_split.__doc__.lower()
    again = leaky_slice_split(counts)
    assert np.array_equal(again.train, split.train) and np.array_equal(again.valid, split.valid)
    assert not np.array_equal(leaky_slice_split(counts, seed=1).valid, split.valid)
