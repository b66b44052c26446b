import numpy as np
import pytest
import torch

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.operators import apply_stencils
from lsn_explorer.levelset.stencils import (
    FINITE_DIFFERENCE_STENCILS,
    LAPLACIAN,
    REFERENCE_KERNELS,
    XC,
    XN,
    XP,
    YC,
    YN,
    YP,
    as_weight,
)

from problems import DEVICES, DTYPES, linear_ramp, quadratic_ramp
from problems import one_thread  # noqa: F401  (autouse fixture)


def _interior(t):
    return t[..., 2:-2, 2:-2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_first_differences_are_exact_on_a_linear_ramp(dtype, device):
    u = linear_ramp(9, 11, a=0.7, b=-1.3, c=2.0, dtype=dtype).to(device)
    d = apply_stencils(u, as_weight([XP, XN, YP, YN, XC, YC], u))
    expected = torch.tensor([0.7, 0.7, -1.3, -1.3, 0.7, -1.3], dtype=dtype, device=device)
    assert d.dtype == dtype and d.device == u.device
    torch.testing.assert_close(_interior(d), expected[None, :, None, None].expand_as(_interior(d)))


def test_stencils_on_a_quadratic_ramp():
    # u = a x² + b y²: D+x u = a(2x + 1), D-x u = a(2x - 1), Dx u = 2ax, Δu = 2a + 2b
    a, b = 0.5, 2.0
    u = quadratic_ramp(8, 10, a=a, b=b)
    d = apply_stencils(u, as_weight([XP, XN, YP, YN, XC, YC, LAPLACIAN], u))[0]
    y, x = torch.meshgrid(torch.arange(8.0, dtype=torch.float64), torch.arange(10.0, dtype=torch.float64), indexing="ij")
    expected = [a * (2 * x + 1), a * (2 * x - 1), b * (2 * y + 1), b * (2 * y - 1), 2 * a * x, 2 * b * y,
                torch.full_like(x, 2 * a + 2 * b)]
    for got, want in zip(d, expected):
        torch.testing.assert_close(got[1:-1, 1:-1], want[1:-1, 1:-1])


def test_y_points_down():
    # intensity increasing with the row index has a positive D+y and edge-down response
    u = linear_ramp(5, 5, a=0.0, b=1.0)
    d = apply_stencils(u, as_weight([YP, REFERENCE_KERNELS["edge-down"], REFERENCE_KERNELS["edge-up"]], u))
    assert d[0, 0, 2, 2] == 1.0 and d[0, 1, 2, 2] == 1.0 and d[0, 2, 2, 2] == -1.0


def test_finite_difference_names_and_values():
    assert list(FINITE_DIFFERENCE_STENCILS) == ["D+x", "D-x", "D+y", "D-y", "Dx", "Dy", "laplacian"]
    assert FINITE_DIFFERENCE_STENCILS["Dx"][1].tolist() == [-0.5, 0.0, 0.5]
    assert LAPLACIAN.sum() == 0 and LAPLACIAN[1, 1] == -4


def test_reference_kernels_have_the_authors_names_and_scales():
    assert list(REFERENCE_KERNELS) == ["mean", "laplacian1", "laplacian2", "laplacian-diag", "gaussian", "edge-right",
                                       "edge-up", "edge-left", "edge-down", "identity", "sharpen"]
    sums = {k: v.sum() for k, v in REFERENCE_KERNELS.items()}
    np.testing.assert_allclose([sums["mean"], sums["gaussian"], sums["identity"], sums["sharpen"]], [1, 1, 1, 1 / 9])
    assert REFERENCE_KERNELS["laplacian1"][1, 1] == -0.5 and REFERENCE_KERNELS["laplacian2"][1, 1] == -0.5
    assert REFERENCE_KERNELS["edge-right"][1, 2] == 0.25 and REFERENCE_KERNELS["edge-up"][0, 1] == 0.25
    np.testing.assert_array_equal(REFERENCE_KERNELS["edge-left"], -REFERENCE_KERNELS["edge-right"])
    np.testing.assert_array_equal(REFERENCE_KERNELS["edge-down"], -REFERENCE_KERNELS["edge-up"])
    assert all(v.shape == (3, 3) and v.dtype == np.float64 for v in REFERENCE_KERNELS.values())


def test_constants_are_read_only():
    with pytest.raises(ValueError):
        XP[1, 1] = 5.0
    with pytest.raises(ValueError):
        REFERENCE_KERNELS["mean"][0, 0] = 1.0


def test_as_weight_follows_like_and_rejects_bad_shapes():
    w = as_weight([XC, YC], torch.zeros(2, dtype=torch.float16))
    assert w.shape == (2, 1, 3, 3) and w.dtype == torch.float16
    assert as_weight(LAPLACIAN, torch.zeros(1)).shape == (1, 1, 3, 3)
    with pytest.raises(InputError, match="expected \\(3, 3\\)"):
        as_weight(np.zeros((2, 5, 5)), torch.zeros(1))
