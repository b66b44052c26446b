"""A procedural abdominal CT phantom written as LiTS files (the embedded default data).

LiTS cannot be downloaded at run time, so the default data set is generated:
``volume-N.nii.gz`` (int16 HU) and ``segmentation-N.nii.gz`` (uint8, 0 =
background, 1 = liver, 2 = tumour), flat in one folder, exactly as the LiTS
training batches are laid out. The anatomy is drawn from analytic shapes with
numpy only; it is meant to be hard the way CT is hard, not to be anatomically
exact:

* air outside the body (-1000 HU) and -1024 outside the reconstruction circle;
* a body outline (an ellipse with irregularities and a flat back on the table)
  with skin, subcutaneous fat (~-100 HU) and a muscle wall (20-55 HU);
* a liver (60-110 HU, per volume) in the right upper abdomen whose cross
  section changes smoothly over z: it appears at the inferior tip of the right
  lobe, grows, gains a left lobe across the midline and shrinks to the dome;
  brighter portal and hepatic veins run inside it (labelled liver);
* organs of nearly the same intensity touching it: spleen (liver +/- 10 HU),
  heart above the dome (myocardium near liver intensity, bright blood pool),
  stomach wall, pancreas, right kidney (liver + 15-45 HU) posterior and inferior, the
  IVC, the lateral muscle wall; plus gallbladder, bowel, lungs at the bases;
* bright spine (cortex 450-700 HU, cancellous 150-250 HU, discs) and ribs
  (an arc of bright dots in the body wall that moves from slice to slice);
* 0-4 hypodense tumours per volume, 20-40 HU below the liver, labelled 2 and
  only inside the liver;
* per-volume contrast (every organ's HU drawn per volume), partial-volume blur
  (anti-aliased edges, a Gaussian point-spread function in-plane and across
  slices) and correlated Gaussian noise of 8-16 HU standard deviation at
  512 x 512, LiTS's size, averaged down like a real scan at smaller sizes
  (4-8 HU at 256 x 256).

Orientation
-----------
Arrays are in NIfTI order ``(X, Y, Z)``, as nibabel returns LiTS volumes. The
affine is LPS-like, ``diag(-dx, -dy, +dz)`` plus an offset, so it is *not*
canonical: array index ``i`` runs from the patient's right to left, ``j`` from
anterior to posterior and ``k`` from inferior to superior. In world (RAS+)
terms the liver lies at positive x (patient right) and the spine at negative
y (posterior). Consequences for display:

* the stored slice ``hu[:, :, k].T`` is already a radiological view (row 0
  anterior, patient right on the image left);
* the reader (:mod:`lsn_explorer.data.preprocess`) reorients to RAS+ and shows
  the same radiological view, whatever the stored orientation.

Spacing: the in-plane field of view is 330-390 mm whatever ``size`` is (so
0.64-0.76 mm pixels at 512, twice that at 256); the slice thickness is drawn
per volume from {2.5, 3, 4, 5} mm. The anatomy is laid out in the volume's
relative height, so every volume runs from below the liver tip to above the
dome whatever ``num_slices`` is.

Reproducibility: volume ``N`` is drawn from ``numpy.random.default_rng([seed, N])``,
so it does not depend on how many volumes are written, and the files are
gzipped with a zero mtime, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._files import atomic_path, cache_dir
from ..errors import InputError
from ..presets import Preset, get_preset

__all__ = [
    "FORMAT",
    "phantom_volume",
    "widest_liver_slice",
    "write_phantom_dataset",
    "default_phantom_dir",
]

#: Version of the generator; part of the cache folder name, bumped on any change.
FORMAT = 2

_FOV_MM = (330.0, 390.0)
_SLICE_MM = (2.5, 3.0, 4.0, 5.0)


def _noise_at_size(noise_512: float, size: int) -> float:
    """Noise standard deviation (HU) of a ``size``-pixel slice whose 512-pixel version has ``noise_512``.

    A scan reconstructed at 512² and loaded at a smaller size averages (512 / size)² pixels into one,
    which divides uncorrelated noise by 512 / size. Generating the phantom at ``size`` with this
    standard deviation gives it the noise a real 512² scan has once loaded at that size; larger sizes keep the 512² level.
    """
    return noise_512 * min(size / 512.0, 1.0)


# ---------------------------------------------------------------------------
# shapes: approximate signed distances (mm, negative inside) on a sub-grid
# ---------------------------------------------------------------------------


def _occ(d, dx):
    """Anti-aliased occupancy of a shape from its signed distance (mm)."""
    return np.clip(0.5 - d / dx, 0.0, 1.0)


def _ellipse(x, y, cu, cv, ru, rv, *, angle=0.0, harm=None):
    """Signed distance (mm, first order) to a rotated ellipse with radial harmonics."""
    px = x - cu
    py = y - cv
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        px, py = c * px + s * py, -s * px + c * py
    xn = px / ru
    yn = py / rv
    rho = np.sqrt(xn * xn + yn * yn)
    r = 1.0
    if harm is not None:
        th = np.arctan2(yn, xn)
        for k, (amp, phase) in enumerate(harm, start=2):
            r = r + amp * np.cos(k * th + phase)
    grad = np.sqrt((xn / ru) ** 2 + (yn / rv) ** 2) / np.maximum(rho, 1e-6)
    return (rho - r) / np.maximum(grad, 1e-6)


def _smin(a, b, k):
    """Smooth union of two signed distances (blend width ``k`` mm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _capsule(x, y, z, p0, p1, radius):
    """Signed distance (mm) to a 3-D segment of given radius, on the plane at height ``z``."""
    p0 = np.asarray(p0, float)
    d = np.asarray(p1, float) - p0
    px, py, pz = x - p0[0], y - p0[1], z - p0[2]
    s = np.clip((px * d[0] + py * d[1] + pz * d[2]) / float(d @ d), 0.0, 1.0)
    return np.sqrt((px - s * d[0]) ** 2 + (py - s * d[1]) ** 2 + (pz - s * d[2]) ** 2) - radius


def _section(blob, z):
    """Cross-section of an ellipsoid blob at height ``z``: scale factor of its radii (0 if none)."""
    q = (z - blob["cz"]) / blob["rz"]
    return float(np.sqrt(1.0 - q * q)) if abs(q) < 1.0 else 0.0


class _Slice:
    """One axial slice being painted: HU, label and the world grid."""

    def __init__(self, xs, ys, dx):
        self.xs = xs  # (X,) world x of each column i (decreasing: right to left)
        self.ys = ys  # (Y,) world y of each row j (decreasing: anterior to posterior)
        self.dx = dx
        self.hu = np.full((xs.size, ys.size), -1000.0, np.float32)
        self.label = np.zeros((xs.size, ys.size), np.uint8)
        self.x = xs[:, None]
        self.y = ys[None, :]

    def window(self, u0, u1, v0, v1):
        """Index window and sub-grid covering the world box [u0, u1] x [v0, v1] (mm)."""
        x0, y0 = self.xs[0], self.ys[0]
        i0 = max(int(np.floor((x0 - u1) / self.dx)) - 1, 0)
        i1 = min(int(np.ceil((x0 - u0) / self.dx)) + 2, self.xs.size)
        j0 = max(int(np.floor((y0 - v1) / self.dx)) - 1, 0)
        j1 = min(int(np.ceil((y0 - v0) / self.dx)) + 2, self.ys.size)
        if i0 >= i1 or j0 >= j1:
            return None
        win = (slice(i0, i1), slice(j0, j1))
        return win, self.xs[i0:i1, None], self.ys[None, j0:j1]

    def paint(self, win, d, value, *, within=None):
        """Blend ``value`` into the window where the distance ``d`` is negative."""
        a = _occ(d, self.dx)
        if within is not None:
            a = a * within
        sub = self.hu[win]
        sub += a * (value - sub)

    def paint_ellipse(self, value, cu, cv, ru, rv, **kw):
        """Paint an ellipse (see :func:`_ellipse`) and return its window and distance."""
        r = max(ru, rv) * 1.35 + 2 * self.dx
        got = self.window(cu - r, cu + r, cv - r, cv + r)
        if got is None:
            return None
        win, x, y = got
        d = _ellipse(x, y, cu, cv, ru, rv, **kw)
        self.paint(win, d, value)
        return win, x, y, d


# ---------------------------------------------------------------------------
# per-volume anatomy
# ---------------------------------------------------------------------------


def _harm(rng, n, amp):
    return [(float(rng.uniform(0, amp)), float(rng.uniform(0, 2 * np.pi))) for _ in range(n)]


def _lerp_harm(h0, h1, w):
    return [(a0 + (a1 - a0) * w, p0 + (p1 - p0) * w) for (a0, p0), (a1, p1) in zip(h0, h1)]


def _sample_anatomy(rng, height_mm):
    """Draw every per-volume parameter (sizes in mm, intensities in HU), always in the same order."""
    p = _sample_body(rng)
    p["height"] = height_mm
    p["bowel"] = _sample_bowel(rng, p["sc"], height_mm)
    p["tumours"] = _sample_tumours(rng, p)
    p["tumour_blobs"] = [_place_tumour(p, tm) for tm in p["tumours"]]
    return p


def _sample_body(rng):
    """The body's outline, tissue intensities, liver extent and shape, spine, ribs and the other organs."""
    a = rng.uniform(145.0, 170.0)
    b = a * rng.uniform(0.66, 0.78)
    sc = a / 150.0
    liver = rng.uniform(60.0, 110.0)
    p = dict(
        sc=sc,
        a=a,
        b=b,
        body_harm=_harm(rng, 3, 0.025),
        fat_mm=rng.uniform(8.0, 28.0),
        muscle_mm=rng.uniform(8.0, 14.0),
        hu_fat=rng.uniform(-115.0, -85.0),
        hu_muscle=rng.uniform(20.0, 55.0),
        hu_liver=liver,
        hu_spleen=liver + rng.uniform(-10.0, 10.0),
        hu_myo=liver + rng.uniform(-10.0, 10.0),
        hu_blood=rng.uniform(150.0, 280.0),
        hu_kidney=liver + rng.uniform(15.0, 45.0),
        hu_gastric=liver + rng.uniform(-20.0, 5.0),
        hu_portal=liver + rng.uniform(30.0, 90.0),
        hu_bowel=rng.uniform(30.0, 70.0),
        hu_pancreas=liver + rng.uniform(-25.0, 0.0),
        pancreas_t=rng.uniform(0.38, 0.5),
        hu_cortex=rng.uniform(450.0, 700.0),
        hu_marrow=rng.uniform(150.0, 250.0),
        hu_disc=rng.uniform(70.0, 100.0),
        hu_lung=rng.uniform(-880.0, -820.0),
        noise_512=rng.uniform(8.0, 16.0),
        # liver extent in relative height t in [0, 1] (0 = most inferior slice)
        t_lo=rng.uniform(0.04, 0.16),
        t_pk=rng.uniform(0.52, 0.66),
        t_hi=rng.uniform(0.88, 0.97),
        liver_c=(rng.uniform(62.0, 78.0) * sc, rng.uniform(-2.0, 12.0) * sc),
        liver_r=(rng.uniform(58.0, 68.0) * sc, rng.uniform(66.0, 80.0) * sc),
        liver_tip=(rng.uniform(20.0, 35.0) * sc, rng.uniform(15.0, 35.0) * sc),
        liver_angle=rng.uniform(-0.4, 0.1),
        liver_h0=_harm(rng, 4, 0.07),
        liver_h1=_harm(rng, 4, 0.07),
        left_c=(rng.uniform(-15.0, 5.0) * sc, rng.uniform(45.0, 60.0) * sc),
        left_r=(rng.uniform(45.0, 65.0) * sc, rng.uniform(20.0, 30.0) * sc),
        left_t=(rng.uniform(0.35, 0.5), rng.uniform(0.8, 0.9)),
        left_h=_harm(rng, 3, 0.06),
        spine_v=-b * rng.uniform(0.42, 0.5),
        disc_period=rng.uniform(26.0, 32.0),
        disc_phase=rng.uniform(0.0, 32.0),
        rib_dpsi=rng.uniform(0.42, 0.52),
        rib_keep=rng.uniform(size=(2, 16)) < 0.85,
        rib_omega=rng.uniform(0.006, 0.012),
        rib_phase=rng.uniform(0.0, 1.0, size=2),
        gb_on=rng.uniform() < 0.7,
        heart_t=rng.uniform(0.02, 0.08),
        lung_t=rng.uniform(0.12, 0.22),
        af_level=rng.uniform(-0.2, 0.5),
        stomach_air=rng.uniform() < 0.7,
    )
    return p


def _sample_bowel(rng, sc, height_mm):
    """Bowel loops below the liver's widest level, in the anterior abdomen, and the hepatic flexure."""
    bowel = []
    for _ in range(int(rng.integers(12, 20))):
        bowel.append(
            dict(
                cu=rng.uniform(-95.0, 50.0) * sc,
                cv=rng.uniform(-15.0, 70.0) * sc,
                cz=rng.uniform(-0.1, 0.55) * height_mm,
                ru=rng.uniform(12.0, 24.0) * sc,
                rv=rng.uniform(10.0, 20.0) * sc,
                rz=rng.uniform(15.0, 45.0),
                angle=rng.uniform(0, np.pi),
                air=rng.uniform() < 0.35,
                lumen=rng.uniform(-5.0, 30.0),
            )
        )
    # hepatic flexure of the colon, touching the liver tip
    bowel.append(
        dict(
            cu=rng.uniform(70.0, 95.0) * sc,
            cv=rng.uniform(25.0, 50.0) * sc,
            cz=rng.uniform(0.05, 0.2) * height_mm,
            ru=rng.uniform(18.0, 26.0) * sc,
            rv=rng.uniform(14.0, 22.0) * sc,
            rz=rng.uniform(25.0, 45.0),
            angle=rng.uniform(0, np.pi),
            air=True,
            lumen=10.0,
        )
    )
    return bowel


def _sample_tumours(rng, p):
    """0-4 tumours, centres inside the right lobe (or the left lobe)."""
    sc = p["sc"]
    n_tumours = int(rng.choice([0, 1, 1, 2, 2, 3, 4]))
    tumours = []
    for _ in range(n_tumours):
        t = rng.uniform(p["t_lo"] + 0.25 * (p["t_hi"] - p["t_lo"]), p["t_hi"] - 0.15 * (p["t_hi"] - p["t_lo"]))
        radius = rng.uniform(5.0, 22.0) * sc
        tumours.append(
            dict(
                t=t,
                theta=rng.uniform(0, 2 * np.pi),
                frac=rng.uniform(0.0, 0.55),
                left=rng.uniform() < 0.2,
                ru=radius * rng.uniform(0.8, 1.2),
                rv=radius * rng.uniform(0.8, 1.2),
                rz=radius * rng.uniform(0.8, 1.3),
                delta=rng.uniform(20.0, 40.0),
                core=rng.uniform() < 0.4,
                harm=_harm(rng, 3, 0.08),
            )
        )
    return tumours


def _liver_profile(p, t):
    """Scale of the right lobe at relative height ``t``, its centre and harmonics."""
    t_lo, t_pk, t_hi = p["t_lo"], p["t_pk"], p["t_hi"]
    (cu, cv), (tu, tv) = p["liver_c"], p["liver_tip"]
    if t <= t_lo or t >= t_hi:
        return 0.0, (cu, cv), None
    if t < t_pk:
        w = (t - t_lo) / (t_pk - t_lo)
        s = np.sin(0.5 * np.pi * w) ** 0.6
        centre = (cu + tu * (1 - w) ** 2, cv + tv * (1 - w) ** 2)
    else:
        w = (t - t_pk) / (t_hi - t_pk)
        s = np.sqrt(1.0 - w * w)
        centre = (cu - 10.0 * p["sc"] * w, cv - 15.0 * p["sc"] * w)
    return float(s), centre, _lerp_harm(p["liver_h0"], p["liver_h1"], t)


def _left_profile(p, t):
    t0, t1 = p["left_t"]
    if t <= t0 or t >= min(t1, p["t_hi"]):
        return 0.0
    return float(np.sin(np.pi * (t - t0) / (min(t1, p["t_hi"]) - t0)) ** 0.7)


def _place_tumour(p, tm):
    """Centre (mm) of a tumour, inside the liver lobe it belongs to."""
    z = tm["t"] * p["height"]
    if tm["left"] and _left_profile(p, tm["t"]) > 0.4:
        s = _left_profile(p, tm["t"])
        (cu, cv), (ru, rv) = p["left_c"], p["left_r"]
        cu, cv = cu - 0.2 * ru, cv
        ru, rv = ru * s, rv * s
    else:
        s, (cu, cv), _ = _liver_profile(p, tm["t"])
        ru, rv = p["liver_r"][0] * s, p["liver_r"][1] * s
    f = tm["frac"]
    u = cu + f * ru * np.cos(tm["theta"])
    v = cv + f * rv * np.sin(tm["theta"])
    # keep the tumour (mostly) inside the lobe, in-plane and over z
    t_room = min(tm["t"] - p["t_lo"], p["t_hi"] - tm["t"]) * p["height"]
    room = min((0.95 - f) * min(ru, rv), 0.8 * t_room)
    shrink = min(1.0, room / max(tm["ru"], tm["rv"], tm["rz"], 1e-6))
    return dict(
        cu=u, cv=v, cz=z, ru=tm["ru"] * shrink, rv=tm["rv"] * shrink, rz=tm["rz"] * shrink,
        delta=tm["delta"], core=tm["core"], harm=tm["harm"],
    )


# ---------------------------------------------------------------------------
# painting one slice
# ---------------------------------------------------------------------------


def _paint_body(sl, p, t, z):
    """Air, body outline, skin, fat, muscle wall and ribs; returns depth below the inner wall."""
    a, b = p["a"] * (1.0 + 0.05 * (t - 0.5)), p["b"]
    x, y = sl.x, sl.y
    d_body = _ellipse(x, y, 0.0, 0.0, a, b, harm=p["body_harm"])
    d_body = np.maximum(d_body, -0.9 * b - y)  # flat back on the table
    depth = -d_body
    theta = np.arctan2(y / b, x / a)
    fat = p["fat_mm"] * p["sc"] * (1.0 + 0.35 * np.sin(theta) + 0.15 * np.cos(2 * theta))
    muscle = p["muscle_mm"] * p["sc"] * (1.0 + 0.25 * np.cos(2 * theta))
    full = (slice(None), slice(None))
    sl.paint(full, d_body, p["hu_fat"])
    sl.paint(full, d_body + 2.0, 25.0)  # skin
    sl.paint(full, d_body + 2.5, p["hu_fat"])
    sl.paint(full, fat - depth, p["hu_muscle"])
    inner = depth - fat - muscle  # > 0 inside the abdominal cavity
    sl.paint(full, -inner, p["hu_fat"] + 10.0)
    # ribs: an arc of bright dots in the muscle wall, moving with z
    psi = np.arctan2(y, np.abs(x))  # -pi/2 posterior .. +pi/2 anterior, both sides
    psi_max = np.deg2rad(-10.0 + 85.0 * np.clip((t - 0.3) / 0.5, 0.0, 1.0))
    on = (psi > np.deg2rad(-68.0)) & (psi < psi_max) & (t > 0.22)
    if np.any(on):
        side = (x < 0).astype(np.float32)
        phase = (psi + p["rib_omega"] * z) / p["rib_dpsi"] + p["rib_phase"][0] * (1 - side) + p["rib_phase"][1] * side
        rho = np.sqrt(x * x + y * y)
        nearest = np.round(phase)
        arc = (phase - nearest) * p["rib_dpsi"] * rho
        keep = p["rib_keep"][side.astype(np.intp), nearest.astype(np.intp) % 16]
        rad = depth - fat - 0.55 * muscle
        hw, hr = 8.0 * p["sc"], 4.0 * p["sc"]
        q = np.sqrt((arc / hw) ** 2 + (rad / hr) ** 2)
        d_rib = np.where(on & keep, (q - 1.0) * hr, 1e3)
        sl.paint(full, d_rib, p["hu_cortex"])
        sl.paint(full, d_rib + 1.5, p["hu_marrow"])
    # reconstruction table under the back
    got = sl.window(-190.0, 190.0, -0.9 * b - 30.0, -0.9 * b - 5.0)
    if got is not None:
        win, xw, yw = got
        plate = np.maximum(np.abs(yw - (-0.9 * b - 14.0)) - 4.0, np.abs(xw) - 185.0 + 0 * yw)
        sl.paint(win, plate, -250.0)
        sl.paint(win, np.abs(yw - (-0.9 * b - 10.0)) - 0.8 + 0 * xw, 150.0)
    return inner


def _paint_spine(sl, p, t, z):
    sc, vc = p["sc"], p["spine_v"]
    # paraspinal muscles and psoas
    for s in (-1.0, 1.0):
        sl.paint_ellipse(p["hu_muscle"], s * 30.0 * sc, vc - 38.0 * sc, 24.0 * sc, 22.0 * sc, harm=p["body_harm"])
        if t < 0.5:
            r = 20.0 * sc * np.sqrt((0.5 - t) / 0.5)
            sl.paint_ellipse(p["hu_muscle"] - 5.0, s * 38.0 * sc, vc + 6.0 * sc, r, r * 0.9)
    disc = ((z - p["disc_phase"]) % p["disc_period"]) < 7.0
    body = p["hu_disc"] if disc else p["hu_cortex"]
    got = sl.paint_ellipse(body, 0.0, vc, 22.0 * sc, 19.0 * sc)
    if got is not None and not disc:
        win, _, _, d = got
        sl.paint(win, d + 2.0, p["hu_marrow"])
    # posterior arch, canal, processes
    sl.paint_ellipse(p["hu_cortex"], 0.0, vc - 28.0 * sc, 15.0 * sc, 14.0 * sc)
    sl.paint_ellipse(p["hu_cortex"], 0.0, vc - 46.0 * sc, 5.0 * sc, 14.0 * sc)
    for s in (-1.0, 1.0):
        sl.paint_ellipse(p["hu_cortex"], s * 24.0 * sc, vc - 26.0 * sc, 12.0 * sc, 5.0 * sc, angle=-s * 0.3)
    sl.paint_ellipse(8.0, 0.0, vc - 28.0 * sc, 9.0 * sc, 8.0 * sc)
    # aorta
    sl.paint_ellipse(p["hu_blood"], -16.0 * sc, vc + 33.0 * sc, 11.0 * sc, 11.0 * sc)


def _ivc(p):
    sc, vc = p["sc"], p["spine_v"]
    return (24.0 * sc, vc + 36.0 * sc, 14.0 * sc, 10.0 * sc, 0.4)


def _kidneys(p):
    sc, vc, h = p["sc"], p["spine_v"], p["height"]
    return [
        dict(cu=64.0 * sc, cv=vc + 6.0 * sc, cz=0.2 * h, rz=0.28 * h, ru=26.0 * sc, rv=34.0 * sc, angle=0.5),
        dict(cu=-64.0 * sc, cv=vc + 8.0 * sc, cz=0.3 * h, rz=0.28 * h, ru=26.0 * sc, rv=34.0 * sc, angle=-0.5),
    ]


def _paint_organs(sl, p, t, z, inner):
    """Lungs, kidneys, bowel, stomach, spleen, heart, IVC (everything but the liver)."""
    sc = p["sc"]
    full = (slice(None), slice(None))
    # lung bases, posterior and lateral
    lt = p["t_hi"] - p["lung_t"]
    if t > lt:
        s = np.sqrt((t - lt) / (1.0 - lt))
        for sgn in (-1.0, 1.0):
            d = _ellipse(sl.x, sl.y, sgn * 80.0 * sc, -20.0 * sc, 55.0 * sc * s + 1, 65.0 * sc * s + 1, harm=p["liver_h0"][:2])
            sl.paint(full, np.maximum(d, -inner), p["hu_lung"])
    for k in _kidneys(p):
        s = _section(k, z)
        if s > 0:
            sl.paint_ellipse(p["hu_kidney"], k["cu"], k["cv"], k["ru"] * s, k["rv"] * s, angle=k["angle"])
            sl.paint_ellipse(p["hu_fat"] + 40.0, k["cu"] - np.sign(k["cu"]) * 10.0 * sc, k["cv"] + 4.0 * sc,
                             k["ru"] * s * 0.35, k["rv"] * s * 0.45, angle=k["angle"])
    for bw in p["bowel"]:
        s = _section(bw, z)
        if s > 0:
            got = sl.paint_ellipse(p["hu_bowel"], bw["cu"], bw["cv"], bw["ru"] * s, bw["rv"] * s, angle=bw["angle"])
            if got is not None:
                win, _, _, d = got
                sl.paint(win, d + 3.0, -900.0 if bw["air"] else bw["lumen"])
    # pancreas: a lobulated band from the head (right) to the tail near the spleen
    h, vc = p["height"], p["spine_v"]
    zc = p["pancreas_t"] * h
    if abs(z - zc) < 25.0:
        got = sl.window(-110.0 * sc, 50.0 * sc, vc, vc + 90.0 * sc)
        if got is not None:
            win, xw, yw = got
            head = (28.0 * sc, vc + 52.0 * sc, zc - 12.0)
            neck = (-5.0 * sc, vc + 58.0 * sc, zc - 2.0)
            tail = (-80.0 * sc, vc + 32.0 * sc, zc + 12.0)
            d = np.minimum(_capsule(xw, yw, z, head, neck, 13.0 * sc), _capsule(xw, yw, z, neck, tail, 9.0 * sc))
            d = d + 2.0 * np.sin(0.35 * xw) * np.cos(0.3 * yw)  # lobulated outline
            sl.paint(win, d, p["hu_pancreas"])
    # stomach: enhancing wall, fluid and an air cap anteriorly
    st0, st1 = 0.45, min(0.9, p["t_hi"] + 0.02)
    if st0 < t < st1:
        s = np.sin(np.pi * (t - st0) / (st1 - st0)) ** 0.5
        cu, cv = -48.0 * sc, 28.0 * sc
        got = sl.paint_ellipse(p["hu_gastric"], cu, cv, 46.0 * sc * s, 36.0 * sc * s, angle=0.3, harm=p["left_h"])
        if got is not None:
            win, _, yw, d = got
            lumen = np.where(p["stomach_air"] & (yw > cv + p["af_level"] * 36.0 * sc * s), -950.0, 15.0)
            sub = sl.hu[win]
            a = _occ(d + 5.0, sl.dx)
            sub += a * (lumen - sub)
    # spleen, posterior-lateral left
    sp0, sp1 = 0.4, min(0.88, p["t_hi"])
    if sp0 < t < sp1:
        s = np.sin(np.pi * (t - sp0) / (sp1 - sp0)) ** 0.6
        got = sl.window(-160.0 * sc, -30.0 * sc, -110.0 * sc, 50.0 * sc)
        if got is not None:
            win, xw, yw = got
            d = _ellipse(xw, yw, -88.0 * sc, -30.0 * sc, 30.0 * sc * s, 58.0 * sc * s, angle=-0.6, harm=p["left_h"])
            sl.paint(win, np.maximum(d, -inner[win]), p["hu_spleen"])
    # heart above the dome, anterior and to the left, behind a thin diaphragm
    ht = p["t_hi"] - p["heart_t"]
    if t > ht:
        s = np.sqrt((t - ht) / (1.0 - ht))
        cu, cv, ru, rv = -28.0 * sc, 38.0 * sc, 52.0 * sc * s + 2, 42.0 * sc * s + 2
        sl.paint_ellipse(p["hu_muscle"], cu, cv, ru + 3.0, rv + 3.0, angle=0.5)
        got = sl.paint_ellipse(p["hu_myo"], cu, cv, ru, rv, angle=0.5)
        if got is not None:
            win, _, _, d = got
            sl.paint(win, d + 10.0 * sc, p["hu_blood"])
    # inferior vena cava
    cu, cv, ru, rv, ang = _ivc(p)
    sl.paint_ellipse(p["hu_portal"] - 10.0, cu, cv, ru, rv, angle=ang)


def _paint_liver(sl, p, t, z, inner):
    """The liver (label 1) with its vessels and tumours (label 2)."""
    sc = p["sc"]
    s, (cu, cv), harm = _liver_profile(p, t)
    sl_left = _left_profile(p, t)
    if s <= 0.0:
        return
    ru, rv = p["liver_r"][0] * s + 1.0, p["liver_r"][1] * s + 1.0
    lcu, lcv = p["left_c"]
    lru, lrv = p["left_r"][0] * sl_left + 1.0, p["left_r"][1] * sl_left + 1.0
    u0, u1 = min(cu - 1.4 * ru, lcu - 1.4 * lru), cu + 1.4 * ru
    v0, v1 = cv - 1.4 * rv, max(cv + 1.4 * rv, lcv + 1.4 * lrv)
    got = sl.window(u0, u1, v0, v1)
    if got is None:
        return
    win, x, y = got
    d = _ellipse(x, y, cu, cv, ru, rv, angle=p["liver_angle"], harm=harm)
    if sl_left > 0.0:
        d_left = _ellipse(x, y, lcu, lcv, lru, lrv, angle=0.15, harm=p["left_h"])
        d = _smin(d, d_left, 15.0 * sc)
    d = np.maximum(d, -inner[win])  # stays inside the muscle wall
    # organs the liver touches but does not contain
    for k in _kidneys(p)[:1]:
        ks = _section(k, z)
        if ks > 0:
            dk = _ellipse(x, y, k["cu"], k["cv"], k["ru"] * ks, k["rv"] * ks, angle=k["angle"])
            d = np.maximum(d, 1.5 - dk)
    icu, icv, iru, irv, iang = _ivc(p)
    d = np.maximum(d, 1.0 - _ellipse(x, y, icu, icv, iru, irv, angle=iang))
    ht = p["t_hi"] - p["heart_t"]
    if t > ht:
        hs = np.sqrt((t - ht) / (1.0 - ht))
        dh = _ellipse(x, y, -28.0 * sc, 38.0 * sc, 52.0 * sc * hs + 2, 42.0 * sc * hs + 2, angle=0.5) + 3.0
        d = np.maximum(d, 4.0 - dh)
    d_gb = None
    gb_t0, gb_t1 = p["t_lo"] + 0.05, p["t_lo"] + 0.35
    if p["gb_on"] and gb_t0 < t < gb_t1:
        gs = np.sin(np.pi * (t - gb_t0) / (gb_t1 - gb_t0))
        d_gb = _ellipse(x, y, cu - 0.45 * ru, cv + 0.45 * rv, 16.0 * sc * gs + 1, 12.0 * sc * gs + 1, angle=0.7)
        d = np.maximum(d, -d_gb)
    sl.paint(win, d, p["hu_liver"])
    inside = d < 0
    lab = sl.label[win]
    lab[inside] = 1
    occ_liver = _occ(d, sl.dx)
    # portal and hepatic veins: brighter, labelled liver
    h = p["height"]
    zpk, zhi = p["t_pk"] * h, p["t_hi"] * h
    c0 = p["liver_c"]
    vessels = [
        ((c0[0] - 30 * sc, c0[1] - 10 * sc, zpk - 35), (c0[0] + 20 * sc, c0[1] + 5 * sc, zpk - 10), 6.0 * sc),
        ((c0[0] - 30 * sc, c0[1] - 10 * sc, zpk - 35), (p["left_c"][0] + 10 * sc, p["left_c"][1], zpk + 5), 4.5 * sc),
        ((icu, icv, zhi - 10), (c0[0] + 35 * sc, c0[1] + 20 * sc, zpk - 30), 4.5 * sc),
        ((icu, icv, zhi - 10), (c0[0] - 5 * sc, c0[1] + 45 * sc, zpk - 25), 4.0 * sc),
        ((icu, icv, zhi - 10), (p["left_c"][0] - 10 * sc, p["left_c"][1] + 5 * sc, zpk - 5), 3.5 * sc),
    ]
    for p0, p1, r in vessels:
        dv = _capsule(x, y, z, p0, p1, r)
        sl.paint(win, dv, p["hu_portal"], within=occ_liver)
    if d_gb is not None:
        sl.paint(win, d_gb, 12.0)
    # tumours
    for tb in p["tumour_blobs"]:
        ts = _section(tb, z)
        if ts <= 0.0:
            continue
        dt = _ellipse(x, y, tb["cu"], tb["cv"], tb["ru"] * ts + 0.5, tb["rv"] * ts + 0.5, harm=tb["harm"])
        sl.paint(win, dt, p["hu_liver"] - tb["delta"], within=occ_liver)
        if tb["core"]:
            sl.paint(win, dt + 0.45 * min(tb["ru"], tb["rv"]) * ts, p["hu_liver"] - tb["delta"] - 20.0, within=occ_liver)
        lab[(dt < 0) & inside] = 2


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def _check_sizes(*, size, num_slices):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 64:
        raise InputError(f"size={size!r} is not an integer >= 64 (the in-plane phantom size in pixels)")
    if isinstance(num_slices, bool) or not isinstance(num_slices, (int, np.integer)) or num_slices < 8:
        raise InputError(f"num_slices={num_slices!r} is not an integer >= 8 (axial slices per volume)")


def phantom_volume(
    dataid: int, *, seed: int = 0, size: int = 256, num_slices: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate one phantom CT volume, its LiTS label and its affine.

    Parameters
    ----------
    dataid : int
        Case number N (``volume-N``); with ``seed`` it fixes every random draw.
    seed : int, optional
        Seed of the data set. Default 0.
    size : int, optional
        In-plane size X = Y in pixels (>= 64). Default 256; LiTS is 512.
    num_slices : int, optional
        Number of axial slices Z (>= 8). Default 32.

    Returns
    -------
    hu : (X, Y, Z) int16 ndarray
        CT intensities in Hounsfield units, NIfTI array order.
    label : (X, Y, Z) uint8 ndarray
        0 background, 1 liver, 2 tumour.
    affine : (4, 4) float64 ndarray
        Voxel to world (RAS+, mm): ``diag(-dx, -dy, dz)`` plus an offset.

    Raises
    ------
    InputError
        If ``size`` < 64, ``num_slices`` < 8 or ``dataid``/``seed`` is negative.

    Examples
    --------
    >>> hu, label, affine = phantom_volume(0, size=64, num_slices=8)
    >>> hu.shape, hu.dtype, label.dtype, np.unique(label).tolist()[:2]
    ((64, 64, 8), dtype('int16'), dtype('uint8'), [0, 1])
    """
    _check_sizes(size=size, num_slices=num_slices)
    for name, value in (("dataid", dataid), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"{name}={value!r} is not a non-negative integer")
    rng = np.random.default_rng([int(seed), int(dataid)])
    fov = rng.uniform(*_FOV_MM)
    dx = fov / size
    dz = float(rng.choice(_SLICE_MM))
    height = dz * num_slices
    p = _sample_anatomy(rng, height)
    # world coordinates of the voxel centres (RAS+, mm); FOV centred 15 mm posterior of the body
    from scipy import ndimage  # loads with the first volume: the app reads a shipped slice without it

    xs = (dx * (size - 1) / 2.0 - dx * np.arange(size)).astype(np.float32)
    ys = (dx * (size - 1) / 2.0 - 15.0 * p["sc"] - dx * np.arange(size)).astype(np.float32)
    hu = np.empty((size, size, num_slices), np.float32)
    label = np.empty((size, size, num_slices), np.uint8)
    for k in range(num_slices):
        z = (k + 0.5) * dz
        t = z / height
        sl = _Slice(xs, ys, dx)
        inner = _paint_body(sl, p, t, z)
        _paint_spine(sl, p, t, z)
        _paint_organs(sl, p, t, z, inner)
        _paint_liver(sl, p, t, z, inner)
        hu[:, :, k] = sl.hu
        label[:, :, k] = sl.label
    # partial volume: scanner point-spread in-plane, slice profile across slices
    hu = ndimage.gaussian_filter(hu, sigma=(0.6, 0.6, 0.45), mode="nearest")
    noise = rng.standard_normal(hu.shape, dtype=np.float32)
    noise = ndimage.gaussian_filter(noise, sigma=(0.7, 0.7, 0.0))
    noise *= _noise_at_size(p["noise_512"], size) / max(float(noise.std()), 1e-6)
    hu += noise
    # outside the reconstruction circle
    r2 = xs[:, None] ** 2 + (ys[None, :] + 15.0 * p["sc"]) ** 2
    hu[r2 > (fov / 2.0) ** 2, :] = -1024.0
    hu = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    affine = np.array(
        [
            [-dx, 0.0, 0.0, dx * (size - 1) / 2.0],
            [0.0, -dx, 0.0, dx * (size - 1) / 2.0 - 15.0 * p["sc"]],
            [0.0, 0.0, dz, -height / 2.0 + 0.5 * dz],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    # rounded as the NIfTI header stores it, so the files read back to this very affine
    return hu, label, affine.astype(np.float32).astype(np.float64)


def _nifti_bytes(array, affine, *, descrip):
    import nibabel as nib

    img = nib.Nifti1Image(array, affine)
    hdr = img.header
    hdr.set_data_dtype(array.dtype)
    hdr.set_xyzt_units("mm", "sec")
    hdr["descrip"] = descrip.encode()[:79]
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img.to_bytes()


def write_phantom_dataset(
    out_dir,
    *,
    volumes: int = 10,
    seed: int = 0,
    size: int = 256,
    num_slices: int = 32,
    compress: bool = True,
) -> list[tuple[Path, Path]]:
    """Write ``volume-N`` / ``segmentation-N`` NIfTI files of the phantom, LiTS layout.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing); files are flat inside it.
    volumes : int, optional
        Number of volumes, N = 0 .. volumes - 1 (>= 1). Default 10.
    seed : int, optional
        Data set seed. Default 0. Volume N is the same whatever ``volumes`` is.
    size : int, optional
        In-plane size (>= 64). Default 256.
    num_slices : int, optional
        Slices per volume (>= 8). Default 32.
    compress : bool, optional
        ``.nii.gz`` (default) or plain ``.nii`` as the LiTS download.

    Returns
    -------
    list of (Path, Path)
        ``(volume path, segmentation path)`` for each N.

    Raises
    ------
    InputError
        If an argument is out of range (the message names it).

    Notes
    -----
    Each file is written atomically (temporary file + rename). The gzip stream
    carries no time stamp and the NIfTI header is filled deterministically, so
    the same arguments give byte-identical files.
    """
    if isinstance(volumes, bool) or not isinstance(volumes, (int, np.integer)) or volumes < 1:
        raise InputError(f"volumes={volumes!r} is not an integer >= 1 (how many phantom volumes to write)")
    _check_sizes(size=size, num_slices=num_slices)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r} is not a non-negative integer")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir={str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    ext = ".nii.gz" if compress else ".nii"
    written = []
    for n in range(int(volumes)):
        hu, label, affine = phantom_volume(n, seed=seed, size=size, num_slices=num_slices)
        pair = []
        for stem, array in (("volume", hu), ("segmentation", label)):
            data = _nifti_bytes(array, affine, descrip=f"lsn_explorer phantom v{FORMAT} seed={seed} case={n}")
            if compress:
                data = gzip.compress(data, compresslevel=1, mtime=0)
            path = out / f"{stem}-{n}{ext}"
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            pair.append(path)
        written.append((pair[0], pair[1]))
    return written


def default_phantom_dir(preset: str | Preset | None = None) -> Path:
    """The default phantom data set of a preset, generated into the cache on first use.

    Parameters
    ----------
    preset : str, Preset or None, optional
        ``"quick"``, ``"paper"``, a :class:`~lsn_explorer.presets.Preset`, or
        ``None`` for the default preset. Its ``phantom_volumes``,
        ``phantom_size`` and ``phantom_slices`` fix the set (seed 0).

    Returns
    -------
    Path
        ``cache_dir() / "phantom-v{FORMAT}-{volumes}x{size}x{slices}-seed0"``,
        holding ``volume-N.nii.gz`` and ``segmentation-N.nii.gz``.

    Notes
    -----
    The set is written into a temporary folder beside the final one and
    renamed into place, so an interrupted generation never leaves a partial
    folder; a later call finds the folder and returns at once.
    """
    pr = get_preset(preset)
    name = f"phantom-v{FORMAT}-{pr.phantom_volumes}x{pr.phantom_size}x{pr.phantom_slices}-seed0"
    root = cache_dir()
    final = root / name
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
    try:
        write_phantom_dataset(
            tmp, volumes=pr.phantom_volumes, seed=0, size=pr.phantom_size, num_slices=pr.phantom_slices
        )
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # another process may have won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def widest_liver_slice(index: int = 0, *, seed: int = 0, size: int = 256, num_slices: int = 16):
    """The axial slice of phantom volume ``index`` with the most liver, as the apps and exercises show it.

    Parameters
    ----------
    index, seed, size, num_slices
        As :func:`phantom_volume`.

    Returns
    -------
    image : (size, size) float32 ndarray
        The slice windowed to HU [-100, 400] -> [-1, 1], in display orientation.
    mask : (size, size) bool ndarray
        Its liver label.
    """
    from . import preprocess as pp

    hu, label, affine = phantom_volume(index, seed=seed, size=size, num_slices=num_slices)
    hu, label, _ = pp.to_canonical(hu, label, affine)
    hu, label = pp.to_display_axes(hu), pp.to_display_axes(label)
    z = int((label > 0).sum(axis=(1, 2)).argmax())
    return np.ascontiguousarray(pp.window_hu(hu[z]), dtype=np.float32), np.ascontiguousarray(label[z] > 0)
