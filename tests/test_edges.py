import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.segmentation import inverse_gaussian_gradient

from lsn_explorer.errors import InputError
from lsn_explorer.levelset.edges import edge_function, gradient_magnitude, itksnap_remap
from lsn_explorer.levelset.stencils import XC, YC, as_weight

from problems import blob_image
from problems import one_thread  # noqa: F401  (autouse fixture)


def test_itksnap_matches_blur_gradient_normalise_remap():
    image, _ = blob_image(32)
    blurred = ndimage.gaussian_filter(image.astype(np.float64), 1.0, mode="nearest", truncate=4.0)
    gy, gx = np.gradient(blurred)  # centred differences inside
    mag = np.hypot(gx, gy)[1:-1, 1:-1]
    g = edge_function(torch.from_numpy(image).double())[1:-1, 1:-1].numpy()
    # the maximum of the gradient magnitude sits inside the image for this blob
    np.testing.assert_allclose(g, 1 / (1 + (mag / mag.max() / 0.04) ** 3), rtol=1e-6)


def test_inverse_gaussian_matches_scikit_image():
    image, _ = blob_image(40)
    want = inverse_gaussian_gradient(image.astype(np.float64), alpha=100.0, sigma=2.0)
    got = edge_function(torch.from_numpy(image).double(), method="inverse_gaussian", sigma=2.0).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_sobel4_is_the_authors_formula():
    image, _ = blob_image(24)
    sx = ndimage.correlate(image.astype(np.float64), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], mode="nearest")
    sy = ndimage.correlate(image.astype(np.float64), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], mode="nearest")
    s = (sx**2 + sy**2) ** 2
    got = edge_function(torch.from_numpy(image).double(), method="sobel4").numpy()
    np.testing.assert_allclose(got, 1 / (1 + 20 * s / s.max()), rtol=1e-6)


@pytest.mark.parametrize("method", ["itksnap", "sobel4", "inverse_gaussian"])
def test_batch_equals_single_image_calls(method):
    # contrasts differ by 16x: a batch-wide maximum would change every image but the brightest
    images = torch.stack([torch.from_numpy(blob_image(32, seed=s)[0]) * (s + 1) ** 2 for s in range(4)])[:, None]
    batch = edge_function(images.double(), method=method)
    singles = torch.stack([edge_function(images[i, 0].double(), method=method) for i in range(4)])[:, None]
    assert batch.shape == (4, 1, 32, 32)
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-12)
    torch.testing.assert_close(edge_function(images, method=method), batch.float(), rtol=0, atol=1e-4)


def test_g_is_one_on_flat_images_and_small_on_edges():
    assert torch.all(edge_function(torch.zeros(8, 8)) == 1.0)
    image, mask = blob_image(48)
    g = edge_function(torch.from_numpy(image)).numpy()
    ring = ndimage.binary_dilation(mask) & ~ndimage.binary_erosion(mask)
    assert g[ring].mean() < 0.05 and np.median(g[~ndimage.binary_dilation(mask, iterations=4)]) > 0.5


def test_gradient_magnitude_and_remap_pieces():
    image = torch.arange(25.0).reshape(1, 1, 5, 5)  # ∂x = 1, ∂y = 5
    mag = gradient_magnitude(image, as_weight([XC, YC], image))
    torch.testing.assert_close(mag[..., 1:-1, 1:-1], torch.full((1, 1, 3, 3), 26.0**0.5))
    x = torch.tensor([0.0, 0.04, 1.0])
    torch.testing.assert_close(itksnap_remap(x, kappa=0.04, lam=3.0), torch.tensor([1.0, 0.5, 1 / (1 + 25.0**3)]))


def test_bad_arguments_raise():
    with pytest.raises(InputError, match="method='canny'"):
        edge_function(torch.zeros(4, 4), method="canny")
    with pytest.raises(InputError, match="expected \\(N, 1, H, W\\) or \\(H, W\\)"):
        edge_function(torch.zeros(2, 4, 4))
    with pytest.raises(InputError, match="unknown options"):
        edge_function(torch.zeros(4, 4), beta=2)
    with pytest.warns(UserWarning, match="ignored"):
        edge_function(torch.zeros(4, 4), method="sobel4", kappa=0.1)
