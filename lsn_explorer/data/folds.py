"""Cross-validation folds by volume, as the authors split LiTS, and their slice split that leaks.

:func:`volume_folds` reproduces the authors' current (HEAD) protocol: the
volumes, in id order, are cut into ``n_folds`` contiguous test chunks exactly
like ``sklearn.model_selection.KFold(n_splits=n_folds)`` without shuffling (the
first ``n % n_folds`` chunks get one extra volume); the remaining volumes, still
in id order, go first ``floor((1 - valid_fraction) m)`` to training and the rest
to validation. With 131 LiTS volumes the test chunks are 0–26, 27–52, 53–78,
79–104 and 105–130. No volume is in two of train / valid / test.

:func:`leaky_slice_split` is the authors' older 90/10 split of the training
*slices*: slices of one volume land on both sides, so its validation score
is optimistic. It exists to reproduce their numbers and says so in its result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["Fold", "volume_folds", "LeakySliceSplit", "leaky_slice_split", "fold_table", "print_fold_table", "id_ranges"]


@dataclass(frozen=True)
class Fold:
    """The volumes of one cross-validation fold.

    Attributes
    ----------
    index : int
        Fold number, from 0.
    train, valid, test : tuple of int
        Dataids of the training, validation and test volumes, in id order.
    """

    index: int
    train: tuple[int, ...]
    valid: tuple[int, ...]
    test: tuple[int, ...]


def volume_folds(dataids: Sequence[int], *, n_folds: int = 5, valid_fraction: float = 0.2) -> list[Fold]:
    """Split volumes into ``n_folds`` folds of train / validation / test volumes.

    Parameters
    ----------
    dataids : sequence of int
        The volumes' ids (any order; they are sorted).
    n_folds : int
        Number of folds, ``2 <= n_folds <= len(dataids)``. Default 5, as the authors.
    valid_fraction : float
        Share of the non-test volumes used for validation, in [0, 1). Default 0.2.

    Returns
    -------
    list of Fold
        Deterministic: no randomness is involved.

    Raises
    ------
    InputError
        Repeated ids, ``n_folds`` out of range, or ``valid_fraction`` outside [0, 1).

    Examples
    --------
    >>> [f.test for f in volume_folds(range(7), n_folds=3)]
    [(0, 1, 2), (3, 4), (5, 6)]
    >>> volume_folds(range(7), n_folds=3)[0]
    Fold(index=0, train=(3, 4, 5), valid=(6,), test=(0, 1, 2))
    """
    ids = sorted(int(i) for i in dataids)
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"dataids repeat {repeated}; expected each volume once")
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or not 2 <= n_folds <= len(ids):
        raise InputError(f"n_folds={n_folds!r} with {len(ids)} volumes; expected an integer 2 <= n_folds <= {len(ids)}")
    if not 0.0 <= float(valid_fraction) < 1.0:
        raise InputError(f"valid_fraction={valid_fraction!r}; expected a number in [0, 1)")
    base, extra = divmod(len(ids), int(n_folds))
    folds, start = [], 0
    for index in range(int(n_folds)):
        stop = start + base + (1 if index < extra else 0)
        test = ids[start:stop]
        rest = ids[:start] + ids[stop:]
        # tiny tolerance so that e.g. 0.8 * 105 -> 84, never 83 from rounding
        n_train = math.floor((1.0 - float(valid_fraction)) * len(rest) + 1e-9)
        folds.append(Fold(index, tuple(rest[:n_train]), tuple(rest[n_train:]), tuple(test)))
        start = stop
    return folds


@dataclass(frozen=True)
class LeakySliceSplit:
    """The authors' 90/10 *slice* split, which leaks volumes between train and validation.

    Attributes
    ----------
    train, valid : (K,) int64 ndarray
        Indices into the concatenated slices of the given volumes (the order of
        :func:`lsn_explorer.data.slices.stack_slices`).
    shared_volumes : tuple of int
        Dataids with slices in both train and valid: the leak.
    note : str
        A plain statement of the leak, for tables and logs.
    """

    train: np.ndarray
    valid: np.ndarray
    shared_volumes: tuple[int, ...]
    note: str = "LEAKY: validation slices come from the training volumes; validation scores are optimistic"

    @property
    def leaks_volumes(self) -> bool:
        """True when some volume has slices on both sides."""
        return bool(self.shared_volumes)


def leaky_slice_split(volumes_or_counts, *, train_fraction: float = 0.9, seed: int = 0) -> LeakySliceSplit:
    """Shuffle all slices of the given volumes and cut them 90/10 (leaks volumes).

    This is the split of the authors' ``lsn.py`` and ``liverlevelset/``: the
    slices are permuted as ``np.random.seed(seed); shuffle`` would, the first
    ``floor(train_fraction N)`` train and the rest validate. Validation slices
    are neighbours of training slices from the same patient, so validation
    Dice overestimates test Dice. Use :func:`volume_folds` for honest numbers.

    Parameters
    ----------
    volumes_or_counts : sequence of Volume, or mapping dataid -> number of slices
        The training volumes, in the order their slices are stacked.
    train_fraction : float
        In (0, 1). Default 0.9.
    seed : int
        Seed of the permutation. Default 0, as the authors.

    Returns
    -------
    LeakySliceSplit
    """
    if isinstance(volumes_or_counts, Mapping):
        counts = [(int(k), int(v)) for k, v in volumes_or_counts.items()]
    else:
        counts = [(int(v.dataid), int(v.num_slices)) for v in volumes_or_counts]
    if not 0.0 < float(train_fraction) < 1.0:
        raise InputError(f"train_fraction={train_fraction!r}; expected a number in (0, 1)")
    owner = np.concatenate([np.full(n, i, dtype=np.int64) for i, n in counts]) if counts else np.zeros(0, np.int64)
    order = np.random.RandomState(seed).permutation(owner.size)
    n_train = math.floor(float(train_fraction) * owner.size + 1e-9)
    train, valid = np.sort(order[:n_train]), np.sort(order[n_train:])
    shared = tuple(sorted(set(owner[train].tolist()) & set(owner[valid].tolist())))
    return LeakySliceSplit(train=train, valid=valid, shared_volumes=shared)


def id_ranges(ids: Sequence[int]) -> str:
    """Compress ids into ranges: ``[0, 1, 2, 5, 7, 8] -> "0–2, 5, 7–8"``; ``"–"`` if empty."""
    ids = sorted(int(i) for i in ids)
    if not ids:
        return "–"
    parts, start = [], ids[0]
    for previous, current in zip(ids, ids[1:] + [None]):
        if current is None or current != previous + 1:
            parts.append(f"{start}" if start == previous else f"{start}–{previous}")
            start = current
    return ", ".join(parts)


def fold_table(folds: Sequence[Fold]) -> str:
    """A plain-text table of the folds: counts and id ranges of train, valid and test.

    Examples
    --------
    >>> print(fold_table(volume_folds(range(10), n_folds=2)))
    fold | test           | train          | valid
    -----+----------------+----------------+---------------
       0 | 0–4 (5)        | 5–8 (4)        | 9 (1)
       1 | 5–9 (5)        | 0–3 (4)        | 4 (1)
    """
    rows = [
        (str(f.index), f"{id_ranges(f.test)} ({len(f.test)})", f"{id_ranges(f.train)} ({len(f.train)})",
         f"{id_ranges(f.valid)} ({len(f.valid)})")
        for f in folds
    ]
    header = ("fold", "test", "train", "valid")
    widths = [max(len(header[c]), *(len(r[c]) for r in rows)) if rows else len(header[c]) for c in range(4)]
    widths[1:] = [max(w, 14) for w in widths[1:]]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    for row in rows:
        lines.append(" | ".join([row[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(row[1:], widths[1:])]).rstrip())
    return "\n".join(lines)


def print_fold_table(folds: Sequence[Fold]) -> None:
    """Print :func:`fold_table`."""
    print(fold_table(folds))
