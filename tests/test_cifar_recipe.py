"""The fast CIFAR-10 VGG (vgg7_cifar), its layers and its training recipe."""
import numpy as np
import pytest
from benchmark_helpers import load_benchmark

import keras

from cnncourse import cifar_recipe as R
from cnncourse.layers import MIN_WHITENING_IMAGES, Dirac, PatchWhitening, ScaledBias, patch_whitening_kernel
from cnncourse.models import vgg7_cifar
from cnncourse.train import FlipShiftBatches, TriangularSchedule


def correlated_images(n=64, side=12, seed=0):
    """Images whose neighbouring pixels and channels are correlated, as in photographs."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, side + 1, side + 1, 1))
    smooth = (base[:, 1:, 1:] + base[:, :-1, 1:] + base[:, 1:, :-1] + base[:, :-1, :-1]) / 2
    colour = smooth * np.array([1.0, 0.8, 0.6]) + 0.3 * rng.normal(size=(n, side, side, 3))
    return colour.astype("float32")


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


# ------------------------------------------------------------------ the model

def test_vgg7_cifar_shape_parameters_and_vgg_traits():
    model = vgg7_cifar()
    assert model.count_params() == 1_973_944
    assert tuple(model.output.shape) == (None, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 6 and all(c.kernel_size == (3, 3) for c in convs)
    assert [c.filters for c in convs] == [64, 64, 256, 256, 256, 256]
    pools = [model.get_layer(f"block{b}_pool").output.shape[1] for b in (1, 2, 3)]
    assert pools == [15, 7, 3]
    assert not model.get_layer("head").use_bias


def test_vgg7_cifar_outputs_float32_logits_under_mixed_precision():
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = vgg7_cifar(correlated_images(n=20, side=32).clip(0, 1))
        assert model.get_layer("block2_conv1").compute_dtype == "bfloat16"
        assert model.output.dtype == "float32"
        kernel = keras.ops.convert_to_numpy(model.get_layer("whiten").kernel)
        assert np.abs(kernel).max() > 0                       # adapted from the images given
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_shape": (28, 28, 1)}, ValueError, r"input_shape must be \(32, 32, 3\)"),
    ({"widths": (64, 128)}, ValueError, "widths must be 3 whole numbers"),
    ({"widths": (64, 0, 5)}, ValueError, "widths must be a non-empty sequence"),
    ({"activation": "tanh"}, ValueError, "activation must be 'relu' or 'gelu'"),
    ({"num_classes": 1}, ValueError, "num_classes must be a whole number >= 2"),
    ({"head_scale": 0}, ValueError, "head_scale must be a number > 0"),
    ({"bias_scale": "8"}, TypeError, "bias_scale must be a number"),
    ({"whitening_images": np.zeros((3, 32, 32, 3))}, ValueError, "at least 16 images"),
])
def test_vgg7_cifar_argument_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        vgg7_cifar(**kwargs)


# ------------------------------------------------------------------ the recipe

def labelled_images(n=12):
    """Image i is constant at value label/10 on its left half and 0 on its right."""
    y = np.arange(n) % 10
    x = np.zeros((n, 8, 8, 3), "float32")
    x[:, :, :4] = (y / 10)[:, None, None, None]
    return x, y


def test_batches_keep_labels_with_their_images_and_alternate_flips():
    x, y = labelled_images(10)                      # ten images, one per label
    ds = FlipShiftBatches(x, y, batch_size=4, shift=0, seed=3)
    assert len(ds) == 3

    def epoch():
        images, labels = zip(*(ds[i] for i in range(len(ds))))
        images, labels = np.concatenate(images), np.concatenate(labels).argmax(axis=1)
        np.testing.assert_allclose(images.max(axis=(1, 2, 3)), labels / 10)   # labels follow images
        assert sorted(labels) == list(range(10))
        # mirrored: the bright half is on the right (label 0 is black either way)
        return {int(l): bool(img[:, 4:].sum() > img[:, :4].sum()) for img, l in zip(images, labels) if l}

    first = epoch()
    ds.on_epoch_end()
    second = epoch()
    ds.on_epoch_end()
    third = epoch()
    assert all(first[k] != second[k] for k in first)      # each image mirrored in every other epoch
    assert first == third
    assert 0 < sum(first.values()) < 9                    # a random half, not all or none


def test_batch_shifts_are_reflect_padded_crops_within_range():
    rng = np.random.default_rng(0)
    x = rng.random((30, 8, 8, 3)).astype("float32")
    y = np.zeros(30, int)
    ds = FlipShiftBatches(x, y, batch_size=30, shift=2, flip=False, seed=0)
    out = ds[0][0]
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    for img, idx in zip(out, ds.order):
        crops = [padded[idx, a:a + 8, b:b + 8] for a in range(5) for b in range(5)]
        assert any(np.array_equal(img, c) for c in crops)
    assert sum(np.array_equal(img, x[idx]) for img, idx in zip(out, ds.order)) < 30   # some moved


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size must be a whole number >= 1"),
    ({"shift": 8}, ValueError, "shift must be smaller"),
    ({"flip": "yes"}, TypeError, "flip must be True or False"),
    ({"num_classes": 5}, ValueError, r"labels in 0..4"),
])
def test_batches_argument_checks(kwargs, error, match):
    x, y = labelled_images()
    with pytest.raises(error, match=match):
        FlipShiftBatches(x, y, **kwargs)
    with pytest.raises(ValueError, match="one integer label per image"):
        FlipShiftBatches(x, y[:-1])
    with pytest.raises(TypeError, match="integer class labels"):
        FlipShiftBatches(x, y.astype(float))


def test_triangular_schedule():
    s = TriangularSchedule(2.0, 200, start=0.2, peak_at=0.25, end=0.1)
    values = [float(s(t)) for t in (0, 25, 50, 125, 200, 300)]
    np.testing.assert_allclose(values, [0.4, 1.2, 2.0, 1.1, 0.2, 0.2], rtol=1e-5)
    with pytest.raises(ValueError, match=r"peak_at must be a number in \(0, 1\)"):
        TriangularSchedule(1.0, 10, peak_at=1.0)
    with pytest.raises(TypeError, match="total_steps must be a whole number"):
        TriangularSchedule(1.0, 10.0)
    with pytest.raises(ValueError, match="peak must be a number > 0"):
        TriangularSchedule(0.0, 10)


def small_model():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])


def test_lookahead_ends_on_the_slow_weights_and_pulls_back():
    x, y = labelled_images(40)
    runs = {}
    for final_decay in (0.0, 0.9):
        keras.utils.set_random_seed(0)
        model = small_model()
        start = model.get_weights()
        R.compile_recipe(model, 20, learning_rate=0.5)
        look = R.Lookahead(20, every=2, final_decay=final_decay)
        model.fit(FlipShiftBatches(x, y, batch_size=4, shift=0, flip=False), epochs=2, verbose=0,
                  callbacks=[look])
        for slow, w in zip(look.slow, model.get_weights()):
            np.testing.assert_allclose(slow, w)
        runs[final_decay] = sum(float(np.abs(w - s).sum()) for w, s in zip(model.get_weights(), start))
    assert runs[0.9] < runs[0.0]          # the pull keeps the weights nearer where they were


def test_predict_tta_levels():
    x = np.random.default_rng(0).random((6, 8, 8, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = small_model()
    plain = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(R.predict_tta(model, x, 0), plain, rtol=1e-5, atol=1e-6)
    mirror = np.asarray(model.predict(x[:, :, ::-1], verbose=0))
    np.testing.assert_allclose(R.predict_tta(model, x, 1), (plain + mirror) / 2, rtol=1e-5, atol=1e-6)
    level2 = R.predict_tta(model, x, 2)
    assert level2.shape == (6, 10) and not np.allclose(level2, R.predict_tta(model, x, 1))
    shifted = R._translate(x, 1, 1)
    np.testing.assert_array_equal(shifted[:, 1:, 1:], x[:, :-1, :-1])
    np.testing.assert_array_equal(shifted[:, 0, 1:], x[:, 1, :-1])        # reflected border
    with pytest.raises(ValueError, match="level must be 0, 1 or 2"):
        R.predict_tta(model, x, 3)


def test_compile_recipe_checks_and_label_smoothing():
    model = small_model()
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        R.compile_recipe("vgg", 10)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]"):
        R.compile_recipe(model, 10, momentum=1.5)
    R.compile_recipe(model, 10)
    assert model.loss.label_smoothing == pytest.approx(0.2)
    assert model.optimizer.nesterov and model.optimizer.weight_decay == pytest.approx(R.RECIPE["weight_decay"])


def test_train_learns_a_separable_task():
    rng = np.random.default_rng(0)
    y = np.arange(400) % 4
    palette = np.array([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.5, 0.5, 0.5]])
    x = np.clip(palette[y][:, None, None, :] + rng.normal(0, 0.1, (400, 32, 32, 3)), 0, 1).astype("float32")
    keras.utils.set_random_seed(0)
    model = vgg7_cifar(x[:100], widths=(16, 16, 16))
    history = R.train(model, x, y, epochs=4, batch_size=50, verbose=0, validation_data=(x[:100], y[:100]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert R.accuracy_tta(model, x, y) > 0.9


# ------------------------------------------------------------------ precision (the decision: tests/test_device.py)

def test_bfloat16_training_reaches_the_float32_accuracy():
    from cnncourse.data import load_mnist

    (x, y), (xt, yt) = load_mnist(n_train=2000, n_test=1000)
    accuracy = {}
    try:
        for policy in ("float32", "mixed_bfloat16"):
            keras.mixed_precision.set_global_policy(policy)
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                                      keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax", dtype="float32")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, epochs=3, batch_size=100, verbose=0)
            accuracy[policy] = model.evaluate(xt, yt, verbose=0)[1]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert accuracy["float32"] > 0.85
    assert abs(accuracy["mixed_bfloat16"] - accuracy["float32"]) < 0.03


# ------------------------------------------------------------------ the benchmark script

def _benchmark():
    return load_benchmark("cifar10")


def test_benchmark_milestones_count_training_time_until_first_reached():
    bench = _benchmark()
    accs, secs = [0.80, 0.91, 0.89, 0.935], [60.0, 60.0, 60.0, 60.0]
    assert bench.milestone(accs, secs, 0.90) == pytest.approx(2.0)
    assert bench.milestone(accs, secs, 0.93) == pytest.approx(4.0)
    assert bench.milestone(accs, secs, 0.95) is None


def test_benchmark_refuses_bad_arguments(capsys):
    bench = _benchmark()
    args = bench.parse_args(["--train", "50000", "--val", "5000", "--epochs", "3"])
    assert (args.val, args.epochs) == (5000, 3)
    for argv, message in ((["--epochs", "0"], "--epochs must be at least 1"),
                          (["--train", "100", "--val", "90"], "must leave at least 20"),
                          (["--old-images", "5"], "--old-images must be 0 or at least 20")):
        with pytest.raises(SystemExit):
            bench.parse_args(argv)
        assert message in capsys.readouterr().err
