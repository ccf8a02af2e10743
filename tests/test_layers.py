"""cnncourse.layers: every layer and initializer the course adds to Keras."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse import layers  # noqa: E402
from cnncourse.layers import (MIN_WHITENING_IMAGES, Dirac, LocalResponseNormalization,  # noqa: E402
                              PatchWhitening, RandomShift, ScaledBias, augmentation, patch_whitening_kernel)
from tiny_models import correlated_images  # noqa: E402


@pytest.mark.parametrize("name", ["LocalResponseNormalization", "PatchWhitening", "Dirac", "ScaledBias"])
def test_saved_models_find_the_layers_under_their_registered_names(name):
    """The registered name ("cnncourse>Name") did not change when the classes moved here."""
    assert keras.saving.get_registered_object(f"cnncourse>{name}") is getattr(layers, name)
    assert keras.saving.get_registered_name(getattr(layers, name)) == f"cnncourse>{name}"


def test_a_saved_model_with_course_layers_loads_back(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), PatchWhitening(name="whiten"),
                              LocalResponseNormalization(name="lrn"), ScaledBias(4.0, name="bias"),
                              keras.layers.Conv2D(2, 3, kernel_initializer=Dirac(seed=0), name="conv")])
    model.get_layer("whiten").adapt(np.random.default_rng(0).random((20, 6, 6, 3), dtype="float32"))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(1).random((2, 6, 6, 3), dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)
    assert loaded.get_layer("bias").scale == 4.0


# ----------------------------------------------------------------- local response normalization

def test_lrn_matches_its_formula_and_tensorflow():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 7)).astype("float32") * 3
    layer = LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)
    got = keras.ops.convert_to_numpy(layer(x))
    # the paper's formula, written with loops
    expected = np.empty_like(x)
    for c in range(7):
        lo, hi = max(0, c - 2), min(6, c + 2)
        expected[..., c] = x[..., c] / (2.0 + 1e-2 * (x[..., lo:hi + 1] ** 2).sum(-1)) ** 0.75
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    import tensorflow as tf  # the reference implementation (TensorFlow is in requirements.txt)
    reference = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)
    np.testing.assert_allclose(got, reference.numpy(), rtol=1e-5)


def test_lrn_config_round_trip_and_errors():
    layer = LocalResponseNormalization(depth_radius=1, bias=1.0, alpha=0.5, beta=0.5, name="n")
    clone = LocalResponseNormalization.from_config(layer.get_config())
    assert (clone.depth_radius, clone.bias, clone.alpha, clone.beta) == (1, 1.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="depth_radius must be a whole number >= 0"):
        LocalResponseNormalization(depth_radius=-1)
    with pytest.raises(TypeError, match="beta must be a number >= 0"):
        LocalResponseNormalization(beta="big")
    with pytest.raises(ValueError, match="beta must be a number >= 0"):
        LocalResponseNormalization(beta=-1.0)


# ----------------------------------------------------------------- augmentation

def test_augmentation_is_a_flip_and_whole_pixel_shift():
    rng = np.random.default_rng(2)
    x = rng.random((16, 12, 12, 1)).astype("float32") + 1.0     # > 0 so zero fill is visible
    aug = augmentation(shift=2, image_size=12)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    out = keras.ops.convert_to_numpy(aug(x, training=True))
    found_shift = False
    for img, res in zip(x, out):
        matches = []
        for flipped in (img, img[:, ::-1]):
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    moved = np.zeros_like(flipped)
                    moved[max(0, dy):12 + min(0, dy), max(0, dx):12 + min(0, dx)] = \
                        flipped[max(0, -dy):12 - max(0, dy), max(0, -dx):12 - max(0, dx)]
                    if np.allclose(moved, res):
                        matches.append((dy, dx))
        assert matches, "an augmented image is not a flipped and shifted copy of its original"
        found_shift |= any(m != (0, 0) for m in matches)
    assert found_shift
    assert [type(layer).__name__ for layer in augmentation(flip=False).layers] == ["RandomShift"]
    with pytest.raises(ValueError, match="shift must be smaller than image_size"):
        augmentation(shift=32, image_size=32)
    with pytest.raises(TypeError, match="flip must be True or False"):
        augmentation(flip="horizontal")


def test_random_shift_draws_a_shift_per_image_with_zero_fill():
    x = np.random.default_rng(3).random((32, 9, 9, 2)).astype("float32") + 1.0
    out = keras.ops.convert_to_numpy(RandomShift(3, seed=1)(x, training=True))
    seen = set()
    for img, res in zip(x, out):
        found = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                 if np.array_equal(data_shift(img, dx, dy), res)]
        assert len(found) == 1, "each output must be its image moved by one whole-pixel offset"
        seen.add(found[0])
    assert len(seen) > 5                      # drawn per image, not once per batch
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(RandomShift(3)(x, training=False)), x)
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(-1)


def data_shift(img, dx, dy):
    from cnncourse.data import shift_images
    return shift_images(img, dx, dy)


# ------------------------------------------------------------------ patch whitening

def test_whitened_patches_have_identity_covariance():
    x = correlated_images()
    layer = PatchWhitening(eps=1e-8)
    layer.adapt(x)
    out = keras.ops.convert_to_numpy(layer(x))[..., :12].reshape(-1, 12)   # the "+" filters
    cov = out.T @ out / len(out)
    np.testing.assert_allclose(cov, np.eye(12), atol=1e-3)
    # before whitening the same patches are strongly correlated
    patches = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(1, 2)).reshape(-1, 12)
    raw = np.corrcoef(patches.T)
    assert np.abs(raw - np.eye(12)).max() > 0.5


def test_whitening_kernel_layout_matches_keras_conv():
    x = correlated_images(n=20, side=6)
    kernel = patch_whitening_kernel(x)
    assert kernel.shape == (2, 2, 3, 24)
    np.testing.assert_allclose(kernel[..., 12:], -kernel[..., :12])
    conv = keras.layers.Conv2D(24, 2, use_bias=False)
    conv.build((None, 6, 6, 3))
    conv.set_weights([kernel])
    layer = PatchWhitening()
    layer.adapt(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)),
                               keras.ops.convert_to_numpy(conv(x)), rtol=1e-4, atol=1e-4)
    assert not layer.kernel.trainable and layer.bias.trainable


@pytest.mark.parametrize("images, error, match", [
    (np.zeros((MIN_WHITENING_IMAGES - 1, 8, 8, 3)), ValueError, "at least 16 images"),
    (np.zeros((20, 8, 8)), ValueError, r"images must have shape \(n, height, width, channels\)"),
    (np.full((20, 8, 8, 3), np.nan), ValueError, "finite"),
    (np.zeros((20, 1, 1, 3)), ValueError, "at least 2x2 pixels"),
    ("pictures", TypeError, "images must be an array"),
])
def test_whitening_refuses_bad_images(images, error, match):
    with pytest.raises(error, match=match):
        patch_whitening_kernel(images)


def test_whitening_argument_checks():
    with pytest.raises(TypeError, match="patch must be a whole number"):
        PatchWhitening(patch=2.0)
    with pytest.raises(ValueError, match="patch must be a whole number >= 1"):
        PatchWhitening(patch=0)
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        PatchWhitening(eps=0)
    layer = PatchWhitening()
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError, match="images must have 3 channels"):
        layer.adapt(np.zeros((20, 8, 8, 1), "float32") + np.arange(64).reshape(1, 8, 8, 1))


# ------------------------------------------------------------------ Dirac, ScaledBias

def test_dirac_convolution_passes_its_first_channels_through():
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 4)).astype("float32")
    conv = keras.layers.Conv2D(6, 3, padding="same", use_bias=False, kernel_initializer=Dirac(seed=0))
    y = keras.ops.convert_to_numpy(conv(x))
    np.testing.assert_allclose(y[..., :4], x, atol=1e-6)
    assert np.abs(y[..., 4:]).mean() > 0.01                  # the rest start at random
    bound = 1 / np.sqrt(3 * 3 * 4)                            # PyTorch's default range
    rest = keras.ops.convert_to_numpy(conv.kernel)[..., 4:]
    assert np.abs(rest).max() <= bound and np.abs(rest).max() > 0.8 * bound
    with pytest.raises(ValueError, match="odd side"):
        Dirac()((2, 2, 3, 3))


def test_scaled_bias_multiplies_the_learning_rate_by_scale_squared():
    x = np.zeros((4, 3), "float32")
    target = np.ones((4, 3), "float32")
    moved = {}
    for scale in (1.0, 8.0):
        model = keras.Sequential([keras.Input((3,)), ScaledBias(scale)])
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
        model.train_on_batch(x, target)
        moved[scale] = float(keras.ops.convert_to_numpy(model(x))[0, 0])
    assert moved[8.0] == pytest.approx(64 * moved[1.0], rel=1e-4)
    with pytest.raises(ValueError, match="scale must be a number > 0"):
        ScaledBias(scale=0)
    with pytest.raises(TypeError, match="scale must be a number"):
        ScaledBias(scale="big")
