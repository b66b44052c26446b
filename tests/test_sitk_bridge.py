import numpy as np
import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.edges import edge_function
from lsn_explorer.levelset.initial import bubbles
from lsn_explorer.levelset.sitk_bridge import compare_with_simpleitk, run_simpleitk_gac

from problems import phantom_slices
from problems import one_thread  # noqa: F401  (autouse fixture)

pytest.importorskip("SimpleITK")

# parameters where both solvers settle on every slice (ITK-SNAP's remap with a softer κ)
PARAMS = dict(alpha=0.5, beta=0.5, gamma=3.0)


def test_simpleitk_sign_convention_matches_ours():
    # positive propagation grows the inside of both (SimpleITK is given -u0, read back as -φ)
    u0 = bubbles((32, 32), [(16, 16)], radius=5.0)
    u, its, _ = run_simpleitk_gac(torch.ones(32, 32), u0, alpha=1.0, beta=0.0, gamma=0.0, num_iter=10,
                                  max_rms_change=0.0)
    assert its == 10 and (u > 0).sum() > (u0 > 0).sum().item() + 50


def test_agrees_with_simpleitk_on_three_phantom_slices():
    dices = []
    for image, mask, center, depth in phantom_slices(size=128):
        g = edge_function(torch.from_numpy(image), sigma=1.0, kappa=0.07, lam=3.0)
        u0 = bubbles(image.shape, [center], radius=0.5 * depth)
        result = compare_with_simpleitk(image, g, u0, **PARAMS, num_iter=2000)
        assert result.ours_converged and result.simpleitk_converged
        assert result.ours_iterations > 100 and result.simpleitk_iterations > 100
        assert result.ours.sum() > 2 * (u0 > 0).sum().item()  # both grew from the bubble
        assert result.ours.shape == result.simpleitk.shape == image.shape
        dices.append(result.dice)
    assert min(dices) >= 0.95, dices


def test_comparison_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="same \\(H, W\\) shape"):
        compare_with_simpleitk(np.zeros((8, 8)), np.ones((8, 8)), np.ones((8, 9)), **PARAMS)
