"""The phantom beside a real CT: tissue intensities, noise and texture in the liver, the edge map g.

    python docs/make_phantom_comparison.py      # prints the table of docs/phantom.md, writes docs/phantom_vs_real.png

The real CT is the TotalSegmentator example case (``lsn-explorer data sample``); its organs come
from TotalSegmentator's segmentation, a model's output. The phantom is the ``quick`` default set
(10 volumes). Each quantity is measured the same way on both:

* organ HU: mean over the organ, eroded by 2 voxels (partial volume left out); for the phantom,
  the liver from its label and the other organs from the HU its generator draws per volume;
* noise: the standard deviation of HU minus its 5 x 5 in-plane mean inside the eroded liver;
* texture: the standard deviation of the 5 x 5 in-plane mean inside the eroded liver (structure
  larger than the noise);
* noise at 256²: the same, on the slices as loaded at 256² (window [-100, 400] HU back in HU);
* g: ITK-SNAP's edge function (σ = 1 px, κ = 0.04, λ = 3) of the slices at 256², mean inside the
  eroded liver and on its boundary (the voxels where the label changes).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from plotly.subplots import make_subplots
from scipy import ndimage

from lsn_explorer.data import PreprocessSettings, load_volumes
from lsn_explorer.data.phantom import default_phantom_dir
from lsn_explorer.data.sample import ORGANS_FILE, fetch_sample
from lsn_explorer.levelset import edge_function
from lsn_explorer.viz import slice_figure

DOCS = Path(__file__).resolve().parent
#: TotalSegmentator classes of the organs compared
ORGANS = {"liver": (5,), "spleen": (1,), "kidney": (2, 3), "muscle (paraspinal, psoas)": (86, 87, 88, 89)}


def _eroded(mask: np.ndarray) -> np.ndarray:
    return ndimage.binary_erosion(mask, structure=np.ones((5, 5, 1)), iterations=1)


def _liver_texture(hu: np.ndarray, liver: np.ndarray) -> tuple[float, float]:
    mean = ndimage.uniform_filter(hu.astype(np.float64), size=(5, 5, 1))
    inside = _eroded(liver)
    return float((hu - mean)[inside].std()), float(mean[inside].std())


def _loaded_noise(volumes) -> float:
    """Noise (HU) inside the eroded liver of slices loaded by ``load_volumes`` (window [-100, 400])."""
    residuals = []
    for v in volumes:
        hu = v.image.astype(np.float64) * 250.0 + 150.0
        mean = ndimage.uniform_filter(hu, size=(1, 5, 5))
        core = ndimage.binary_erosion(v.mask > 0, structure=np.ones((1, 5, 5)))
        residuals.append((hu - mean)[core])
    return float(np.concatenate(residuals).std())


def _g_stats(volumes) -> tuple[float, float]:
    inside, boundary = [], []
    for v in volumes:
        g = edge_function(torch.from_numpy(v.image[:, None])).numpy()[:, 0]
        mask = v.mask > 0
        edge = mask ^ ndimage.binary_erosion(mask, structure=np.ones((1, 3, 3)))
        core = ndimage.binary_erosion(mask, structure=np.ones((1, 5, 5)))
        inside.append(g[core])
        boundary.append(g[edge])
    return float(np.concatenate(inside).mean()), float(np.concatenate(boundary).mean())


def real_ct() -> dict:
    folder = fetch_sample()
    hu = np.asanyarray(nib.load(folder / "volume-0.nii.gz").dataobj).astype(np.float64)
    organs = np.asanyarray(nib.load(folder / ORGANS_FILE).dataobj)
    row = {}
    for name, classes in ORGANS.items():
        inside = _eroded(np.isin(organs, classes))
        row[f"{name} HU"] = float(hu[inside].mean()) if inside.any() else "not in these slices"
    body = ndimage.binary_fill_holes(hu > -500)
    row["fat HU (HU -190…-30 in the body)"] = float(hu[body & (hu > -190) & (hu < -30)].mean())
    row["liver noise (HU)"], row["liver texture (HU)"] = _liver_texture(hu, organs == 5)
    loaded = load_volumes("sample", settings=PreprocessSettings(size=256))
    row["liver noise at 256² (HU)"] = _loaded_noise(loaded)
    row["g inside the liver"], row["g on its boundary"] = _g_stats(loaded)
    return row


def phantom() -> dict:
    folder = default_phantom_dir("quick")
    rows = []
    for n in range(10):
        hu = np.asanyarray(nib.load(folder / f"volume-{n}.nii.gz").dataobj).astype(np.float64)
        label = np.asanyarray(nib.load(folder / f"segmentation-{n}.nii.gz").dataobj) > 0
        body = ndimage.binary_fill_holes(hu > -500)
        noise, texture = _liver_texture(hu, label)
        rows.append({"liver HU": float(hu[_eroded(label)].mean()), "noise": noise, "texture": texture,
                     "fat": float(hu[body & (hu > -190) & (hu < -30)].mean())})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    loaded = load_volumes("phantom", settings=PreprocessSettings(size=256))
    g_in, g_edge = _g_stats(loaded)
    return {
        "liver HU": mean["liver HU"],
        "spleen HU": "liver ± 10 (drawn)", "kidney HU": "liver + 15…45 (drawn)",
        "muscle (paraspinal, psoas) HU": "20…55 (drawn)",
        "fat HU (HU -190…-30 in the body)": mean["fat"],
        "liver noise (HU)": mean["noise"], "liver texture (HU)": mean["texture"],
        "liver noise at 256² (HU)": _loaded_noise(loaded),
        "g inside the liver": g_in, "g on its boundary": g_edge,
    }


def figure(path: Path) -> None:
    """Phantom and real slices through the liver, each beside its edge map g."""
    real = load_volumes("sample", settings=PreprocessSettings(size=256))[0]
    ph = load_volumes("phantom", settings=PreprocessSettings(size=256))[0]
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.02, vertical_spacing=0.06,
                        subplot_titles=("phantom, volume 0", "its edge map g", "real CT (TotalSegmentator example)",
                                        "its edge map g"))
    for r, v in enumerate((ph, real), start=1):
        z = int(v.mask.sum(axis=(1, 2)).argmax())
        g = edge_function(torch.from_numpy(v.image[z])[None, None])[0, 0].numpy()
        for c, (image, window) in enumerate(((v.image[z], (-1, 1)), (g, (0, 1))), start=1):
            for trace in slice_figure(image, v.mask[z], window=window).data:
                fig.add_trace(trace, row=r, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(width=760, height=800, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    fig.write_image(path)


def main() -> None:
    real, ph = real_ct(), phantom()
    print("| quantity | phantom (10 volumes, mean) | real CT |\n|---|---|---|")
    for key, value in real.items():
        shown = f"{ph[key]:.2f}" if isinstance(ph[key], float) else ph[key]
        real_shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"| {key} | {shown} | {real_shown} |")
    figure(DOCS / "phantom_vs_real.png")
    print(f"\nwrote {DOCS / 'phantom_vs_real.png'}")


if __name__ == "__main__":
    main()
