import numpy as np
import pytest

from parface_sdk import decode


def gaussian_maps(centres, size=64, sigma=1.5):
    ys, xs = np.mgrid[0:size, 0:size]
    return np.stack([np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)) for cx, cy in centres])[
        None
    ].astype(np.float32)


def test_soft_argmax_recovers_subpixel_peaks():
    rng = np.random.default_rng(0)
    centres = rng.uniform(5, 58, (68, 2))
    xy, confidence = decode.soft_argmax(gaussian_maps(centres), radius=4)
    assert np.abs(xy[0] - centres).max() < 0.05
    assert (confidence > 0.7).all() and (confidence <= 1.0).all()


def test_soft_argmax_ignores_far_background():
    maps = gaussian_maps([(20.3, 30.7)])
    maps[0, 0, 60, 60] = 0.5  # a distant spurious blob must not pull the estimate
    xy, _ = decode.soft_argmax(maps, radius=4)
    assert np.abs(xy[0, 0] - [20.3, 30.7]).max() < 0.05


def test_empty_heatmap_falls_back_to_argmax():
    maps = -np.ones((1, 1, 8, 8), np.float32)
    maps[0, 0, 3, 5] = -0.5
    xy, confidence = decode.soft_argmax(maps, radius=2)
    np.testing.assert_array_equal(xy[0, 0], [5, 3])
    assert confidence[0, 0] == 0.0


def test_torch_and_numpy_soft_argmax_agree():
    torch = pytest.importorskip("torch")
    from parface_sdk.nn.softargmax import soft_argmax as torch_soft_argmax

    rng = np.random.default_rng(3)
    maps = gaussian_maps(rng.uniform(3, 60, (68, 2))) + rng.normal(0, 0.05, (1, 68, 64, 64))
    maps = maps.astype(np.float32)
    xy_np, conf_np = decode.soft_argmax(maps, radius=4)
    xy_t, conf_t = torch_soft_argmax(torch.from_numpy(maps), radius=4)
    np.testing.assert_allclose(xy_np, xy_t.numpy(), atol=1e-4)
    np.testing.assert_allclose(conf_np, conf_t.numpy(), atol=1e-6)


def test_heatmap_to_crop_pixel_centres():
    # Heatmap pixel 0 covers crop pixels 0 and 1 at stride 2: its centre is crop 0.5.
    np.testing.assert_allclose(decode.heatmap_to_crop(np.array([0.0, 63.0]), 128, 64), [0.5, 126.5])


def test_crop_to_image_inverts_the_crop():
    from parface_sdk import crop

    transform = crop.similarity(np.array([300.0, 200.0]), 150.0, 128, 0.2)
    image_points = np.random.default_rng(0).uniform(200, 400, (68, 3))
    crop_points = crop.apply(transform, image_points)
    back = decode.crop_to_image(crop_points[None], transform[None])[0]
    assert np.abs(back - image_points).max() < 1e-3


def test_torch_soft_argmax_is_float32_under_bf16_autocast():
    """bf16 arithmetic in the soft-argmax moved points by up to 6 px; it runs in float32 whatever
    autocast says (the heatmaps' own bf16 rounding is all that is left)."""
    torch = pytest.importorskip("torch")
    from parface_sdk.nn.softargmax import heatmap_to_crop, soft_argmax

    rng = np.random.default_rng(4)
    maps = gaussian_maps(rng.uniform(3, 60, (68, 2))) + rng.normal(0, 0.05, (1, 68, 64, 64))
    maps = torch.from_numpy(maps.astype(np.float32))
    reference = heatmap_to_crop(soft_argmax(maps, radius=4)[0], 256, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        xy, confidence = soft_argmax(maps.to(torch.bfloat16), radius=4)
        crop = heatmap_to_crop(xy, 256, 64)
    assert xy.dtype == confidence.dtype == crop.dtype == torch.float32
    assert (crop - reference).abs().max() < 0.1  # px on a 256 px crop; bf16 arithmetic gave ~6


def test_parface_net_decodes_in_float32_under_bf16_autocast(tiny_net):
    """The network's own decode (soft-argmax, crop pixels) stays float32 under bf16 autocast."""
    torch = pytest.importorskip("torch")
    size = tiny_net.spec.input_size
    crops = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        landmarks, confidence = tiny_net(crops)
    assert landmarks.dtype == confidence.dtype == torch.float32
    assert torch.isfinite(landmarks).all()
