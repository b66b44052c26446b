"""The README's first code block is three lines that segment a slice of a CT, and they run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

from lsn_explorer.data.sample import fetch_sample
from lsn_explorer.segmentation import to_display

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start() -> str:
    """The first fenced code block of the README (it must come before "## Two commands")."""
    text = README.read_text()
    match = re.search(r"```(\w*)\n(.*?)```", text, flags=re.S)
    assert match is not None and match.start() < text.index("## Two commands"), "the quick start comes first"
    assert match.group(1) == "python"
    return match.group(2)


def test_the_quick_start_is_three_lines_that_segment_a_slice(tmp_path, monkeypatch):
    code = quick_start()
    assert len(code.strip().splitlines()) == 3
    folder = fetch_sample()
    shutil.copy(folder / "volume-0.nii.gz", tmp_path / "ct.nii.gz")  # the reader's CT, without a label
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    label = nib.load(folder / "segmentation-0.nii.gz")
    truth = to_display(np.asanyarray(label.dataobj) > 0, label.affine)[10]
    liver = scope["liver"]
    assert liver.shape == truth.shape == scope["ct"].shape[1:] and liver.dtype == np.uint8
    dice = 2 * (liver.astype(bool) & truth).sum() / (liver.sum() + truth.sum())
    assert dice >= 0.85, dice  # the bundled UNet: 0.894 on this slice (0.902 over the whole scan at 128²)
