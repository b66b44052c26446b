"""Make docs/phantom_slices.png and the baseline section of docs/phantom.md.

Run from the repository root::

    python docs/make_phantom_figure.py

It generates (or reuses) the ``quick`` default phantom set in the cache,
draws six slices of three volumes with their label contours, and measures
the single-threshold baseline over all volumes of the set.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from plotly.subplots import make_subplots

from lsn_explorer.data.baseline import threshold_baseline
from lsn_explorer.data.phantom import default_phantom_dir
from lsn_explorer.presets import get_preset
from lsn_explorer.viz import slice_figure

DOCS = Path(__file__).resolve().parent
WINDOW = (-100, 400)


def _load(folder, n):
    vol = nib.load(folder / f"volume-{n}.nii.gz")
    seg = nib.load(folder / f"segmentation-{n}.nii.gz")
    return np.asanyarray(vol.dataobj), np.asanyarray(seg.dataobj), vol.affine


def _pick_slices(label, level):
    """The slice at relative ``level`` of the liver's z-extent, and the slice with most tumour."""
    area = (label > 0).sum(axis=(0, 1))
    ks = np.flatnonzero(area)
    first = int(ks[int(round(level * (len(ks) - 1)))])
    tumour = (label == 2).sum(axis=(0, 1))
    second = int(np.argmax(tumour)) if tumour.any() else int(np.argmax(area))
    if second == first:
        second = int(ks[int(round(0.5 * (len(ks) - 1)))])
    return sorted({first, second})


def make_figure(folder, volumes=(0, 1, 2), levels=(0.15, 0.95, 0.3)):
    """Six radiological slices (row 0 anterior, patient right on the image left)."""
    panels = []
    for n, level in zip(volumes, levels):
        hu, label, affine = _load(folder, n)
        for k in _pick_slices(label, level):
            # stored LPS-like array: hu[:, :, k].T is the radiological view
            panels.append((n, k, hu[:, :, k].T, label[:, :, k].T, affine))
    cols = 3
    rows = int(np.ceil(len(panels) / cols))
    titles = [f"volume-{n}, slice {k} (z = {a[2, 3] + k * a[2, 2]:.0f} mm)" for n, k, _, _, a in panels]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.05)
    for i, (n, k, img, lab, _) in enumerate(panels):
        r, c = i // cols + 1, i % cols + 1
        liver = slice_figure(img, lab > 0, window=WINDOW)
        fig.add_trace(liver.data[0], row=r, col=c)
        fig.add_trace(liver.data[1], row=r, col=c)
        if (lab == 2).any():
            tum = slice_figure(img, lab == 2, window=WINDOW)
            tum.data[1].line.color = "#ff4136"
            fig.add_trace(tum.data[1], row=r, col=c)
        h, w = img.shape
        axis = "" if i == 0 else str(i + 1)
        fig.update_xaxes(range=[-0.5, w - 0.5], visible=False, row=r, col=c)
        fig.update_yaxes(range=[h - 0.5, -0.5], visible=False, scaleanchor=f"x{axis}", row=r, col=c)
    fig.update_layout(
        showlegend=False, margin=dict(l=5, r=5, t=30, b=5), paper_bgcolor="white",
        font=dict(size=12),
    )
    return fig, rows, cols


def measure_baseline(folder, volumes):
    hus, labels = [], []
    for n in range(volumes):
        hu, label, _ = _load(folder, n)
        hus.append(hu)
        labels.append(label)
    return threshold_baseline(hus, labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-baseline", action="store_true", help="only redraw the PNG")
    args = parser.parse_args(argv)
    preset = get_preset("quick")
    t0 = time.perf_counter()
    folder = default_phantom_dir(preset)
    t_gen = time.perf_counter() - t0
    fig, rows, cols = make_figure(folder)
    fig.write_image(DOCS / "phantom_slices.png", width=330 * cols, height=300 * rows + 20, scale=1.5)
    if args.skip_baseline:
        return
    t0 = time.perf_counter()
    res = measure_baseline(folder, preset.phantom_volumes)
    t_base = time.perf_counter() - t0
    summary = dict(
        data=folder.name,
        dice=round(res.dice, 4),
        mean_dice=round(res.mean_dice, 4),
        band_dice=round(res.band_dice, 4),
        lower=res.lower,
        upper=res.upper,
        per_volume_dice=[round(float(d), 4) for d in res.per_volume_dice],
        bands_evaluated=res.evaluated,
        seconds_generate_or_reuse=round(t_gen, 2),
        seconds_search=round(t_base, 1),
    )
    print(json.dumps(summary, indent=2))
    block = (
        "<!-- baseline:start -->\n"
        f"Measured on `{folder.name}` (all {preset.phantom_volumes} volumes) by `python docs/make_phantom_figure.py`:\n\n"
        "| quantity | value |\n|---|---|\n"
        f"| best band | {res.lower:g} HU <= I <= {res.upper:g} HU |\n"
        f"| Dice, band + largest 3-D component (pooled) | **{res.dice:.3f}** |\n"
        f"| Dice, mean over volumes | {res.mean_dice:.3f} (min {res.per_volume_dice.min():.3f}, max {res.per_volume_dice.max():.3f}) |\n"
        f"| Dice, same band without the component step | {res.band_dice:.3f} |\n"
        f"| bands searched | {res.evaluated} |\n"
        "<!-- baseline:end -->"
    )
    md = DOCS / "phantom.md"
    text = md.read_text()
    text = re.sub(r"<!-- baseline:start -->.*?<!-- baseline:end -->", lambda _: block, text, flags=re.S)
    md.write_text(text)


if __name__ == "__main__":
    main()
