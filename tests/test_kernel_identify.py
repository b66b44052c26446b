"""Moments, operator identification, nearest stencil and the authors' spectral labels."""

from __future__ import annotations

from math import factorial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lsn_explorer.errors import InputError
from lsn_explorer.kernels import STENCIL_CATALOGUE, identify_kernels, kernel_from_moments, moment_matrix
from lsn_explorer.kernels.identify import is_mean_zero, order_of_accuracy
from lsn_explorer.kernels.spectrum import SPECTRUM_REFERENCES, spectrum_labels
from lsn_explorer.levelset.stencils import FINITE_DIFFERENCE_STENCILS, LAPLACIAN, REFERENCE_KERNELS, SOBEL_X

EXPECTED = {
    "mean": ("smoothing", 2),
    "laplacian1": ("laplacian", 2),
    "laplacian2": ("laplacian", 2),
    "laplacian-diag": ("laplacian", 2),
    "gaussian": ("smoothing", 2),
    "edge-right": ("dx", 2),
    "edge-up": ("dy", 2),
    "edge-left": ("dx", 2),
    "edge-down": ("dy", 2),
    "identity": ("identity", np.inf),
    "sharpen": ("sharpening", 2),
    "D+x": ("dx", 1),
    "D-x": ("dx", 1),
    "D+y": ("dy", 1),
    "D-y": ("dy", 1),
    "Dx": ("dx", 2),
    "Dy": ("dy", 2),
}


def test_worked_examples_of_the_moment_matrix():
    M = moment_matrix(REFERENCE_KERNELS["edge-right"])[0]  # Sobel / 8 = ∂x + ¼ ∂x∂yy
    expected = np.zeros((3, 3))
    expected[1, 0], expected[1, 2] = 1.0, 0.25
    np.testing.assert_allclose(M, expected, atol=1e-15)
    G = moment_matrix(REFERENCE_KERNELS["gaussian"])[0]  # I + ¼ Δ (+ m22)
    assert (G[0, 0], G[2, 0], G[0, 2], G[1, 0], G[0, 1], G[1, 1]) == (1.0, 0.25, 0.25, 0.0, 0.0, 0.0)
    q = np.random.default_rng(0).normal(size=(5, 3, 3))
    np.testing.assert_allclose(kernel_from_moments(moment_matrix(q)), q, atol=1e-12)


def test_moments_are_the_taylor_coefficients_of_conv2d_with_x_right_y_down():
    # conv2d (cross-correlation) of x^i y^j / (i! j!) evaluated at the origin pixel is m_ij
    q = np.random.default_rng(1).normal(size=(3, 3))
    yy, xx = np.meshgrid(np.arange(-1.0, 2.0), np.arange(-1.0, 2.0), indexing="ij")  # row = y down, col = x right
    M = moment_matrix(q)[0]
    for i in range(3):
        for j in range(3):
            u = torch.tensor(xx**i * yy**j / (factorial(i) * factorial(j)))[None, None]
            out = F.conv2d(u, torch.tensor(q)[None, None]).item()
            assert out == pytest.approx(M[i, j], abs=1e-12)


def test_reference_and_upwind_stencils_are_identified_as_themselves():
    names = list(EXPECTED)
    ident = identify_kernels(np.stack([STENCIL_CATALOGUE[n] for n in names]))
    assert ident.nearest.tolist() == names
    assert ident.nearest_residual.max() < 1e-9
    assert ident.operator.tolist() == [EXPECTED[n][0] for n in names]
    assert ident.residual.max() < 1e-9
    assert ident.order.tolist() == [float(EXPECTED[n][1]) for n in names]
    # the LSN's five-point Laplacian is 8 · laplacian1
    lap = identify_kernels(FINITE_DIFFERENCE_STENCILS["laplacian"])
    assert (lap.operator[0], lap.nearest[0], lap.order[0]) == ("laplacian", "laplacian1", 2.0)


@pytest.mark.parametrize("factor", [-7.5, -1.0, 1e-4, 0.3, 250.0])
def test_any_nonzero_scale_gives_the_same_operator(factor):
    rng = np.random.default_rng(2)
    K = np.concatenate([np.stack(list(STENCIL_CATALOGUE.values())).reshape(-1, 9), rng.normal(size=(200, 9))])
    base = identify_kernels(K)
    scaled = identify_kernels(factor * K)
    assert scaled.operator.tolist() == base.operator.tolist()
    np.testing.assert_allclose(scaled.residual, base.residual, atol=1e-9)
    np.testing.assert_allclose(scaled.scale, factor * base.scale, rtol=1e-9, atol=1e-12)


def test_residual_is_in_unit_interval_and_random_kernels_are_rarely_operators():
    K = np.random.default_rng(3).normal(size=(2000, 9))
    ident = identify_kernels(K)
    assert ident.residual.min() >= 0.0 and ident.residual.max() <= 1.0
    assert np.mean(ident.residual < 0.1) < 0.02
    assert np.median(ident.nearest_residual) > 0.7
    # a stencil plus small noise is still found, with a small residual
    noisy = identify_kernels(REFERENCE_KERNELS["laplacian1"] + 0.002 * K[:50].reshape(-1, 3, 3))
    assert set(noisy.operator) == {"laplacian"} and noisy.residual.max() < 0.05


def test_mean_zero_is_the_papers_criterion():
    assert is_mean_zero(np.stack([LAPLACIAN, SOBEL_X, FINITE_DIFFERENCE_STENCILS["D+x"]])).all()
    assert not is_mean_zero(np.stack([REFERENCE_KERNELS["gaussian"], REFERENCE_KERNELS["sharpen"]])).any()


def test_zero_kernel_and_bad_shapes():
    ident = identify_kernels(np.zeros((1, 9)))
    assert (ident.operator[0], ident.residual[0], ident.nearest[0]) == ("zero", 1.0, "none")
    with pytest.raises(InputError, match="shape"):
        identify_kernels(np.zeros((4, 4)))
    with pytest.raises(InputError, match="operator='curl'"):
        order_of_accuracy(SOBEL_X, "curl")


def test_authors_spectral_labels_recover_their_six_references_and_ignore_orientation():
    names = list(SPECTRUM_REFERENCES)
    labels, dist = spectrum_labels(3.0 * np.stack([REFERENCE_KERNELS[n] for n in names]), (16, 16))
    assert labels.tolist() == names
    assert dist.max() < 1e-12
    # a sorted spectrum forgets direction: all four Sobel kernels look like edge-right
    edges = np.stack([REFERENCE_KERNELS[n] for n in ("edge-up", "edge-left", "edge-down")])
    assert spectrum_labels(edges, (16, 16))[0].tolist() == ["edge-right"] * 3
    # and a threshold of 0 leaves only exact matches labelled
    rnd = np.random.default_rng(4).normal(size=(10, 9))
    assert set(spectrum_labels(rnd, (16, 16), threshold=0.0)[0]) == {"indeterminate"}
