"""A procedural abdominal CT phantom written as LiTS files (the embedded default data).

LiTS cannot be downloaded at run time, so the default data set is generated:
``volume-N.nii.gz`` (int16 HU) and ``segmentation-N.nii.gz`` (uint8, 0 = background, 1 = liver,
2 = tumour), flat in one folder, exactly as the LiTS training batches are laid out. The anatomy is
drawn from analytic shapes with numpy only; it is meant to be hard the way CT is hard, not to be
anatomically exact:

* air outside the body (-1000 HU) and -1024 outside the reconstruction circle;
* a body outline (an ellipse with irregularities and a flat back on the table) with skin,
  subcutaneous fat (~-100 HU) and a muscle wall (20-55 HU);
* a liver (60-110 HU, per volume) in the right upper abdomen whose cross section changes smoothly
  over z: it appears at the inferior tip of the right lobe, grows, gains a left lobe across the
  midline and shrinks to the dome; brighter portal and hepatic veins run inside it (labelled liver);
* organs of nearly the same intensity touching it: spleen (liver +/- 10 HU), heart above the dome
  (myocardium near liver intensity, bright blood pool), stomach wall, pancreas, right kidney
  (liver + 15-45 HU) posterior and inferior, the IVC, the lateral muscle wall; plus gallbladder,
  bowel, lungs at the bases;
* bright spine (cortex 450-700 HU, cancellous 150-250 HU, discs) and ribs (an arc of bright dots
  in the body wall that moves from slice to slice);
* 0-4 hypodense tumours per volume, 20-40 HU below the liver, labelled 2 and only inside the liver;
* per-volume contrast (every organ's HU drawn per volume), partial-volume blur (anti-aliased edges,
  a Gaussian point-spread function in-plane and across slices) and correlated Gaussian noise of
  8-16 HU standard deviation at 512 x 512, LiTS's size, averaged down like a real scan at smaller
  sizes (4-8 HU at 256 x 256).

Modules, lowest first:

* :mod:`.shapes`: signed distances of ellipses, capsules and their smooth union;
* :mod:`.canvas`: the slice being painted (HU, label, world grid);
* :mod:`.ellipsoids`: kidneys, bowel loops and tumours as ellipsoids;
* :mod:`.anatomy`: one volume's parameters as frozen dataclasses, and the geometry derived from them;
* :mod:`.draw`: drawing the anatomy from the volume's random generator, in a fixed order;
* :mod:`.body`, :mod:`.organs`, :mod:`.liver`: painting one slice;
* :mod:`.scanner`: :func:`phantom_volume`, the scan geometry, blur, noise and affine;
* :mod:`.files`: :func:`write_phantom_dataset` and the cached :func:`default_phantom_dir`;
* :mod:`.display`: :func:`widest_liver_slice`, the slice the apps show.

Same seed, same files: volume ``N`` is drawn from ``numpy.random.default_rng([seed, N])``, and
:data:`FORMAT`, part of the cache folder's name, changes whenever the draws do.
"""

from __future__ import annotations

from .display import widest_liver_slice
from .files import default_phantom_dir, write_phantom_dataset
from .scanner import FORMAT, phantom_volume

__all__ = [
    "FORMAT",
    "phantom_volume",
    "widest_liver_slice",
    "write_phantom_dataset",
    "default_phantom_dir",
]
